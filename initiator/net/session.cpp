// net::Session: thread-safe wrappers that post requests to the engine's io thread and hand back
// futures; the blocking SCSI conveniences (READ/WRITE(16), INQUIRY, READ CAPACITY, REPORT LUNS,
// rescan) built on them.
#include <algorithm>
#include <set>

#include "net/engine.hpp"
#include "proto/common/bytes.hpp"
#include "proto/scsi/scsi.hpp"

namespace iscsi::net {

namespace {

using detail::Core;

std::uint64_t wire_lun(std::uint16_t lun) {
  auto l = scsi::Lun::from_number(lun);
  if (!l) throw NetError(Errc::invalid_argument, "LUN " + std::to_string(lun) + ": " + l.error().message());
  return load_be64(l->bytes().data());
}

session::ScsiRequest to_request(ScsiCommand cmd) {
  session::ScsiRequest r;
  r.lun = wire_lun(cmd.lun);
  r.cdb = std::move(cmd.cdb);
  r.direction = cmd.direction;
  r.read_length = cmd.read_length;
  if (!cmd.read_into.empty()) {
    if (cmd.read_into.size() < cmd.read_length) {
      throw NetError(Errc::invalid_argument, "read_into holds " +
                                                 std::to_string(cmd.read_into.size()) +
                                                 " bytes, read_length is " +
                                                 std::to_string(cmd.read_length));
    }
    r.read_into = cmd.read_into.first(cmd.read_length);
  }
  if (!cmd.write_view.empty()) {
    if (!cmd.write_data.empty()) {
      throw NetError(Errc::invalid_argument, "write_data and write_view are both given");
    }
    r.write_data_view = cmd.write_view;
    r.owns_write_data = false;
  } else {
    r.write_data_owned = std::move(cmd.write_data);
    r.owns_write_data = true;
  }
  r.attr = cmd.attr;
  return r;
}

ScsiCommand from_cdb(const scsi::Cdb& cdb, std::uint16_t lun, std::uint32_t read_length = 0,
                     ByteVector write = {}) {
  ScsiCommand c;
  c.lun = lun;
  c.cdb.assign(cdb.bytes.begin(), cdb.bytes.begin() + cdb.length);
  switch (cdb.direction) {
    case scsi::DataDirection::none: c.direction = session::DataDirection::none; break;
    case scsi::DataDirection::read: c.direction = session::DataDirection::read; break;
    case scsi::DataDirection::write: c.direction = session::DataDirection::write; break;
  }
  c.read_length = read_length;
  c.write_data = std::move(write);
  return c;
}

std::string status_words(const session::ScsiResult& r) {
  std::string s = "SCSI status 0x";
  const char* hex = "0123456789abcdef";
  s += hex[r.status >> 4];
  s += hex[r.status & 0xF];
  if (r.sense) s += " (" + scsi::to_string(*r.sense) + ")";
  if (r.response != pdu::ScsiResponseCode::command_completed_at_target) {
    s += " response " + pdu::to_string(r.response);
  }
  return s;
}

bool good(const session::ScsiResult& r) {
  return r.response == pdu::ScsiResponseCode::command_completed_at_target && r.status == 0;
}

template <class T>
std::future<T> failed_future(std::exception_ptr e) {
  std::promise<T> p;
  p.set_exception(std::move(e));
  return p.get_future();
}

// Posts `fn` to the engine; a dead runtime fails the promise instead.
template <class T, class F>
std::future<T> run(const std::shared_ptr<Core>& core, F&& fn) {
  auto promise = std::make_shared<std::promise<T>>();
  auto fut = promise->get_future();
  try {
    core->post([core, promise, fn = std::forward<F>(fn)]() mutable { fn(*core, promise); });
  } catch (...) {
    return failed_future<T>(std::current_exception());
  }
  return fut;
}

std::future<session::ScsiResult> scsi_future(const std::shared_ptr<Core>& core, ScsiCommand cmd,
                                             std::uint64_t handle) {
  session::ScsiRequest req;
  try {
    req = to_request(std::move(cmd));
  } catch (...) {
    return failed_future<session::ScsiResult>(std::current_exception());
  }
  return run<session::ScsiResult>(
      core, [req = std::move(req), handle](Core& c, auto promise) mutable {
        c.submit_scsi(std::move(req), handle,
                      [promise](session::Completion* comp, std::exception_ptr e) {
                        if (e) {
                          promise->set_exception(e);
                        } else {
                          promise->set_value(std::move(comp->scsi));
                        }
                      });
      });
}

bool unit_attention(const session::ScsiResult& r) {
  return r.status == 0x02 && r.sense && r.sense->key == scsi::SenseKey::unit_attention;
}

// As the SCSI midlayer does, a UNIT ATTENTION (power on, reset, capacity or LUN inventory
// changed) is reported in the events and the command retried a few times.
constexpr int kUnitAttentionRetries = 5;

session::ScsiResult checked(const std::shared_ptr<Core>& core, ScsiCommand cmd, const char* what) {
  session::ScsiResult r;
  for (int i = 0;; ++i) {
    r = scsi_future(core, cmd, core->next_handle()).get();
    if (!unit_attention(r) || i == kUnitAttentionRetries) break;
  }
  if (!good(r)) throw NetError(Errc::scsi_error, std::string(what) + ": " + status_words(r));
  return r;
}

session::ScsiResult read_capacity16_result(const std::shared_ptr<Core>& core, std::uint16_t lun) {
  session::ScsiResult r16;
  for (int i = 0;; ++i) {
    r16 = scsi_future(core, from_cdb(scsi::read_capacity16(32), lun, 32), core->next_handle())
              .get();
    if (!unit_attention(r16) || i == kUnitAttentionRetries) break;
  }
  return r16;
}

Capacity decode_capacity16(const session::ScsiResult& r16) {
  auto d = scsi::decode_read_capacity16(r16.data);
  if (!d) throw NetError(Errc::scsi_error, "READ CAPACITY(16) data: " + d.error().message());
  auto blocks = d->block_count();
  if (!blocks) throw NetError(Errc::scsi_error, "READ CAPACITY(16): " + blocks.error().message());
  return {*blocks, d->block_length};
}

Capacity read_capacity_impl(const std::shared_ptr<Core>& core, std::uint16_t lun) {
  session::ScsiResult r16 = read_capacity16_result(core, lun);
  Capacity cap;
  if (good(r16)) {
    cap = decode_capacity16(r16);
  } else {
    // Older targets refuse SERVICE ACTION IN(16) (ILLEGAL REQUEST, INVALID COMMAND OPERATION
    // CODE): fall back to READ CAPACITY(10), as sd does.
    auto r10 = checked(core, from_cdb(scsi::read_capacity10(), lun, 8), "READ CAPACITY(10)");
    auto d = scsi::decode_read_capacity10(r10.data);
    if (!d) throw NetError(Errc::scsi_error, "READ CAPACITY(10) data: " + d.error().message());
    if (d->needs_read_capacity16()) {
      // SBC-4 5.19.2: 0xFFFFFFFF means "too big for (10), ask (16)". Ask once more; the first
      // refusal may have been passing. 0xFFFFFFFF + 1 blocks would be a wrong size.
      r16 = read_capacity16_result(core, lun);
      if (!good(r16)) {
        throw NetError(Errc::scsi_error,
                       "READ CAPACITY(10) reports more than 2^32-1 blocks, and READ "
                       "CAPACITY(16) is refused: " + status_words(r16));
      }
      cap = decode_capacity16(r16);
    } else {
      cap = {d->block_count(), d->block_length};
    }
  }
  core->with_snapshot_mut([&](auto& s) { s.block_length[lun] = cap.block_length; return 0; });
  return cap;
}

std::uint32_t block_length(const std::shared_ptr<Core>& core, std::uint16_t lun) {
  auto bl = core->with_snapshot([&](const auto& s) -> std::uint32_t {
    auto it = s.block_length.find(lun);
    return it == s.block_length.end() ? 0u : it->second;
  });
  if (bl == 0) bl = read_capacity_impl(core, lun).block_length;
  if (bl == 0) throw NetError(Errc::scsi_error, "LUN reports a block length of 0");
  return bl;
}

std::vector<std::uint16_t> report_luns_impl(const std::shared_ptr<Core>& core) {
  std::uint32_t alloc = 4096;
  for (int i = 0; i < 3; ++i) {
    auto cdb = scsi::report_luns(alloc);
    auto r = checked(core, from_cdb(*cdb, 0, alloc), "REPORT LUNS");
    auto d = scsi::decode_report_luns(r.data);
    if (!d) throw NetError(Errc::scsi_error, "REPORT LUNS data: " + d.error().message());
    if (d->truncated && d->required_length() > alloc) {
      alloc = static_cast<std::uint32_t>(d->required_length());
      continue;
    }
    std::vector<std::uint16_t> out;
    for (const auto& l : d->luns) {
      if (auto n = l.number()) out.push_back(*n);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  throw NetError(Errc::scsi_error, "REPORT LUNS: list keeps growing");
}

scsi::StandardInquiry inquiry_impl(const std::shared_ptr<Core>& core, std::uint16_t lun) {
  auto r = checked(core, from_cdb(scsi::inquiry(255), lun, 255), "INQUIRY");
  auto d = scsi::decode_standard_inquiry(r.data);
  if (!d) throw NetError(Errc::scsi_error, "INQUIRY data: " + d.error().message());
  return *d;
}

// Submits `req` (kept alive by the shared_ptr across retries) and calls `finish` with the
// final result; UNIT ATTENTION is retried on the io thread without another round trip to the
// caller.
void submit_with_ua_retry(Core& c, std::shared_ptr<session::ScsiRequest> req, std::uint64_t handle,
                          int retries_left,
                          std::function<void(session::ScsiResult*, std::exception_ptr)> finish) {
  session::ScsiRequest copy;
  copy.lun = req->lun;
  copy.cdb = req->cdb;
  copy.direction = req->direction;
  copy.read_length = req->read_length;
  copy.write_data_view = req->write_data();  // the shared request owns the bytes
  copy.read_into = req->read_into;
  copy.attr = req->attr;
  c.submit_scsi(std::move(copy), handle,
                [&c, req, handle, retries_left, finish = std::move(finish)](
                    session::Completion* comp, std::exception_ptr e) mutable {
                  if (e) return finish(nullptr, e);
                  if (unit_attention(comp->scsi) && retries_left > 0) {
                    return submit_with_ua_retry(c, req, handle, retries_left - 1, std::move(finish));
                  }
                  finish(&comp->scsi, nullptr);
                });
}

}  // namespace

namespace detail {

RescanReport rescan(const std::shared_ptr<Core>& core) {
  RescanReport rep;
  for (std::uint16_t lun : report_luns_impl(core)) {
    LunInfo info;
    info.lun = lun;
    info.inquiry = inquiry_impl(core, lun);
    // READ CAPACITY only for devices with blocks (disk, CD/DVD, optical, RBC); tgt's LUN 0 is
    // a controller (type 0x0c) and refuses it.
    const std::uint8_t t = info.inquiry.device_type;
    if (t == 0x00 || t == 0x05 || t == 0x07 || t == 0x0e) info.capacity = read_capacity_impl(core, lun);
    rep.luns.push_back(std::move(info));
  }
  core->with_snapshot_mut([&](auto& s) {
    std::map<std::uint16_t, LunInfo> now;
    for (const auto& l : rep.luns) now[l.lun] = l;
    if (s.rescanned) {
      for (const auto& [lun, info] : now) {
        auto it = s.last_rescan.find(lun);
        if (it == s.last_rescan.end()) {
          rep.added.push_back(lun);
        } else if (!(it->second.capacity == info.capacity)) {
          rep.resized.push_back(lun);
        }
      }
      for (const auto& [lun, info] : s.last_rescan) {
        if (!now.count(lun)) rep.removed.push_back(lun);
      }
    } else {
      for (const auto& [lun, info] : now) rep.added.push_back(lun);
    }
    s.last_rescan = std::move(now);
    s.rescanned = true;
    std::string d = "rescan: " + std::to_string(rep.luns.size()) + " LUNs, " +
                    std::to_string(rep.added.size()) + " added, " +
                    std::to_string(rep.removed.size()) + " removed, " +
                    std::to_string(rep.resized.size()) + " resized";
    s.events.push_back(EventRecord{EventType::rescan, std::chrono::steady_clock::now(),
                                   std::chrono::system_clock::now(), ConnError::none, d});
    return 0;
  });
  return rep;
}

}  // namespace detail

Session::Session(std::shared_ptr<detail::Core> core) : core_(std::move(core)) {}

Session::~Session() {
  try {
    auto core = core_;
    core_->post([core] { core->shutdown(); });
  } catch (...) {
    // The runtime is gone; nothing runs any more.
  }
}

ScsiTask Session::start(ScsiCommand cmd) {
  ScsiTask t;
  t.handle = core_->next_handle();
  t.result = scsi_future(core_, std::move(cmd), t.handle);
  return t;
}

std::uint64_t Session::start_with_callback(ScsiCommand cmd, ScsiCallback done) {
  const std::uint64_t handle = core_->next_handle();
  // From a callback (the engine's thread) submit at once: a post would cost a queue round.
  if (core_->on_io_thread()) {
    core_->submit_scsi(to_request(std::move(cmd)), handle, detail::ScsiDone(std::move(done)));
    return handle;
  }
  core_->post([core = core_, req = to_request(std::move(cmd)), handle,
               done = std::move(done)]() mutable {
    core->submit_scsi(std::move(req), handle, detail::ScsiDone(std::move(done)));
  });
  return handle;
}

std::future<session::ScsiResult> Session::scsi_async(ScsiCommand cmd) {
  return scsi_future(core_, std::move(cmd), core_->next_handle());
}

session::ScsiResult Session::scsi(ScsiCommand cmd) { return scsi_async(std::move(cmd)).get(); }

std::future<ByteVector> Session::read_async(std::uint64_t lba, std::uint32_t blocks,
                                            std::uint16_t lun) {
  try {
    const std::uint32_t bl = block_length(core_, lun);
    auto cdb = scsi::read16(lba, blocks);
    if (!cdb) throw NetError(Errc::invalid_argument, "READ(16): " + cdb.error().message());
    const std::uint64_t len = std::uint64_t{blocks} * bl;
    if (len > 0xFFFFFFFFu) throw NetError(Errc::invalid_argument, "READ(16): transfer too long");
    auto req = std::make_shared<session::ScsiRequest>(
        to_request(from_cdb(*cdb, lun, static_cast<std::uint32_t>(len))));
    const std::uint64_t handle = core_->next_handle();
    return run<ByteVector>(core_, [req, handle](Core& c, auto promise) mutable {
      submit_with_ua_retry(c, req, handle, kUnitAttentionRetries,
                           [promise](session::ScsiResult* r, std::exception_ptr e) {
                             if (e) return promise->set_exception(e);
                             if (!good(*r)) {
                               return promise->set_exception(std::make_exception_ptr(
                                   NetError(Errc::scsi_error, "READ(16): " + status_words(*r))));
                             }
                             promise->set_value(std::move(r->data));
                           });
    });
  } catch (...) {
    return failed_future<ByteVector>(std::current_exception());
  }
}

ByteVector Session::read(std::uint64_t lba, std::uint32_t blocks, std::uint16_t lun) {
  return read_async(lba, blocks, lun).get();
}

std::uint32_t Session::read_into(std::uint64_t lba, MutableByteSpan buffer, std::uint16_t lun) {
  const std::uint32_t bl = block_length(core_, lun);
  if (buffer.empty() || buffer.size() % bl != 0 || buffer.size() > 0xFFFFFFFFu) {
    throw NetError(Errc::invalid_argument,
                   "read_into: the buffer holds " + std::to_string(buffer.size()) +
                       " bytes, not a whole number (at least 1) of " + std::to_string(bl) +
                       "-byte blocks under 4 GiB");
  }
  const auto blocks = static_cast<std::uint32_t>(buffer.size() / bl);
  auto cdb = scsi::read16(lba, blocks);
  if (!cdb) throw NetError(Errc::invalid_argument, "READ(16): " + cdb.error().message());
  auto req = std::make_shared<session::ScsiRequest>(
      to_request(from_cdb(*cdb, lun, static_cast<std::uint32_t>(buffer.size()))));
  req->read_into = buffer;
  const std::uint64_t handle = core_->next_handle();
  return run<std::uint32_t>(core_, [req, handle](Core& c, auto promise) mutable {
           submit_with_ua_retry(c, req, handle, kUnitAttentionRetries,
                                [promise](session::ScsiResult* r, std::exception_ptr e) {
                                  if (e) return promise->set_exception(e);
                                  if (!good(*r)) {
                                    return promise->set_exception(std::make_exception_ptr(NetError(
                                        Errc::scsi_error, "READ(16): " + status_words(*r))));
                                  }
                                  promise->set_value(r->read_bytes);
                                });
         })
      .get();
}

std::future<void> Session::write_async(std::uint64_t lba, ByteVector data, std::uint16_t lun) {
  try {
    const std::uint32_t bl = block_length(core_, lun);
    if (data.size() % bl != 0) {
      throw NetError(Errc::invalid_argument, "WRITE(16): " + std::to_string(data.size()) +
                                                 " bytes is not a multiple of the block length " +
                                                 std::to_string(bl));
    }
    const std::uint64_t blocks = data.size() / bl;
    if (blocks > 0xFFFFFFFFu) throw NetError(Errc::invalid_argument, "WRITE(16): too long");
    auto cdb = scsi::write16(lba, static_cast<std::uint32_t>(blocks));
    if (!cdb) throw NetError(Errc::invalid_argument, "WRITE(16): " + cdb.error().message());
    auto req = std::make_shared<session::ScsiRequest>(
        to_request(from_cdb(*cdb, lun, 0, std::move(data))));
    const std::uint64_t handle = core_->next_handle();
    return run<void>(core_, [req, handle](Core& c, auto promise) mutable {
      submit_with_ua_retry(c, req, handle, kUnitAttentionRetries,
                           [promise](session::ScsiResult* r, std::exception_ptr e) {
                             if (e) return promise->set_exception(e);
                             if (!good(*r)) {
                               return promise->set_exception(std::make_exception_ptr(
                                   NetError(Errc::scsi_error, "WRITE(16): " + status_words(*r))));
                             }
                             promise->set_value();
                           });
    });
  } catch (...) {
    return failed_future<void>(std::current_exception());
  }
}

void Session::write(std::uint64_t lba, ByteVector data, std::uint16_t lun) {
  write_async(lba, std::move(data), lun).get();
}

void Session::test_unit_ready(std::uint16_t lun) {
  (void)checked(core_, from_cdb(scsi::test_unit_ready(), lun), "TEST UNIT READY");
}

scsi::StandardInquiry Session::inquiry(std::uint16_t lun) { return inquiry_impl(core_, lun); }

ByteVector Session::inquiry_vpd(std::uint8_t page, std::uint16_t lun) {
  return checked(core_, from_cdb(scsi::inquiry_vpd(page, 4096), lun, 4096), "INQUIRY VPD").data;
}

Capacity Session::read_capacity(std::uint16_t lun) { return read_capacity_impl(core_, lun); }

std::vector<std::uint16_t> Session::report_luns() { return report_luns_impl(core_); }

RescanReport Session::rescan() { return detail::rescan(core_); }

std::chrono::nanoseconds Session::nop() {
  const auto t0 = std::chrono::steady_clock::now();
  run<void>(core_, [](Core& c, auto promise) {
    c.submit_ping([promise](const session::Completion*, std::exception_ptr e) {
      if (e) return promise->set_exception(e);
      promise->set_value();
    });
  }).get();
  return std::chrono::steady_clock::now() - t0;
}

std::future<pdu::TmfResponse> Session::tmf_async(pdu::TmfFunction f, std::uint16_t lun,
                                                 std::optional<std::uint64_t> handle) {
  session::TmfRequest req;
  req.function = f;
  try {
    req.lun = wire_lun(lun);
  } catch (...) {
    return failed_future<pdu::TmfResponse>(std::current_exception());
  }
  return run<pdu::TmfResponse>(core_, [req, handle](Core& c, auto promise) mutable {
    c.submit_tmf(req, handle, [promise](session::Completion* comp, std::exception_ptr e) {
      if (e) return promise->set_exception(e);
      promise->set_value(comp->tmf_response);
    });
  });
}


pdu::TmfResponse Session::abort_task(std::uint64_t handle, std::uint16_t lun) {
  return tmf_async(pdu::TmfFunction::abort_task, lun, handle).get();
}
pdu::TmfResponse Session::abort_task_set(std::uint16_t lun) {
  return tmf_async(pdu::TmfFunction::abort_task_set, lun).get();
}
pdu::TmfResponse Session::clear_task_set(std::uint16_t lun) {
  return tmf_async(pdu::TmfFunction::clear_task_set, lun).get();
}
pdu::TmfResponse Session::lun_reset(std::uint16_t lun) {
  return tmf_async(pdu::TmfFunction::logical_unit_reset, lun).get();
}
pdu::TmfResponse Session::target_warm_reset() {
  return tmf_async(pdu::TmfFunction::target_warm_reset, 0).get();
}
pdu::TmfResponse Session::target_cold_reset() {
  return tmf_async(pdu::TmfFunction::target_cold_reset, 0).get();
}

void Session::logout() {
  run<void>(core_, [](Core& c, auto promise) {
    c.logout([promise](std::exception_ptr e) {
      if (e) return promise->set_exception(e);
      promise->set_value();
    });
  }).get();
}

session::Stats Session::stats() const {
  return core_->with_snapshot([](const auto& s) { return s.stats; });
}
session::SessionState Session::state() const {
  return core_->with_snapshot([](const auto& s) { return s.state; });
}
std::string Session::state_name() const { return std::string(session::to_string(state())); }
login::NegotiatedParams Session::params() const {
  return core_->with_snapshot([](const auto& s) { return s.params; });
}
std::uint16_t Session::tsih() const {
  return core_->with_snapshot([](const auto& s) { return s.tsih; });
}
pdu::Isid Session::isid() const { return core_->isid(); }
std::string Session::target_name() const { return core_->target(); }
Portal Session::portal() const { return core_->portal(); }
std::vector<EventRecord> Session::events() const {
  return core_->with_snapshot([](const auto& s) { return s.events; });
}
std::uint64_t Session::reinstatements() const {
  return core_->with_snapshot([](const auto& s) { return s.reinstatements; });
}

}  // namespace iscsi::net
