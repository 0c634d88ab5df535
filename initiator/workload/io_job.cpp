// IoJob: the queue-depth loop (see io_job.hpp). Every decision is made under one mutex; the
// submissions themselves run without it, because a session that refuses a command at once
// calls the completion before start_with_callback returns. One thread at a time is the
// "pump" that submits; a completion arriving meanwhile only updates the state and leaves the
// pump to notice the free slot.
#include "workload/io_job.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <utility>

#include "proto/scsi/cdb.hpp"
#include "proto/scsi/report_luns.hpp"
#include "proto/scsi/sense.hpp"
#include "proto/scsi/status.hpp"
#include "workload/block_pattern.hpp"

namespace iscsi::workload {

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The submission the current thread is inside: a completion that runs for it before the
// submit function has returned is a refusal at once (closed session, replacement_timeout
// expired), which must not be answered by submitting again from the same stack.
struct Submitting {
  const void* job = nullptr;
  std::uint64_t token = 0;
};
thread_local Submitting tl_submitting;

std::string error_text(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}

bool unit_attention(const session::ScsiResult& r) {
  return r.response == pdu::ScsiResponseCode::command_completed_at_target &&
         r.status == static_cast<std::uint8_t>(scsi::Status::check_condition) && r.sense &&
         r.sense->key == scsi::SenseKey::unit_attention;
}

// Empty when the command is ok: GOOD, and every byte moved.
std::string problem(const session::ScsiResult& r, bool write, std::uint32_t expected_bytes) {
  const char* verb = write ? "WRITE(16): " : "READ(16): ";
  if (r.response != pdu::ScsiResponseCode::command_completed_at_target) {
    return verb + std::string("iSCSI response ") + pdu::to_string(r.response);
  }
  if (r.status != static_cast<std::uint8_t>(scsi::Status::good)) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", r.status);
    std::string s = verb + std::string("SCSI status ") + hex + " " +
                    std::string(scsi::to_string(static_cast<scsi::Status>(r.status)));
    if (r.sense) s += " (" + scsi::to_string(*r.sense) + ")";
    return s;
  }
  // A GOOD status that moved less (or expected more) than asked is not a complete write: the
  // blocks after the residual were not written, so the command cannot count as acknowledged.
  if (r.underflow || r.overflow) {
    return verb + std::string("GOOD with a residual ") + (r.underflow ? "underflow" : "overflow") +
           " of " + std::to_string(r.residual_count) + " bytes";
  }
  if (!write && r.read_bytes < expected_bytes) {
    return verb + std::string("GOOD, but ") + std::to_string(r.read_bytes) + " of " +
           std::to_string(expected_bytes) + " bytes arrived";
  }
  return {};
}

// splitmix64, as block_pattern's fill: a seeded, reproducible stream for the random choices.
std::uint64_t splitmix64_next(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Bounds the buffers a spec may ask for (queue_depth * blocks_per_io * block_size).
constexpr std::uint64_t kMaxBufferBytes = 1ull << 30;
// Random writes draw again this many times when the chunk overlaps a write in flight, then
// wait for a completion.
constexpr int kOverlapDraws = 8;

}  // namespace

Submit submit_to(std::shared_ptr<net::Session> session) {
  if (!session) throw std::invalid_argument("submit_to: no session");
  return [s = std::move(session)](net::ScsiCommand cmd, net::Session::ScsiCallback done) {
    return s->start_with_callback(std::move(cmd), std::move(done));
  };
}

std::string_view to_string(JobSpec::Op op) noexcept {
  switch (op) {
    case JobSpec::Op::read: return "read";
    case JobSpec::Op::write: return "write";
    case JobSpec::Op::mixed: return "mixed";
  }
  return "unknown";
}

void validate(const JobSpec& spec) {
  auto bad = [](const std::string& why) { throw std::invalid_argument("I/O job: " + why); };
  if (spec.op != JobSpec::Op::read && spec.op != JobSpec::Op::write &&
      spec.op != JobSpec::Op::mixed) {
    bad("unknown op");
  }
  if (!valid_block_size(spec.block_size)) {
    bad("block_size " + std::to_string(spec.block_size) +
        " is not a multiple of 8 of at least 64 bytes (the block pattern needs them)");
  }
  if (spec.blocks_per_io == 0) bad("blocks_per_io is 0");
  if (spec.queue_depth == 0) bad("queue_depth is 0");
  if (spec.lba_count < spec.blocks_per_io) {
    bad("the region (lba_count " + std::to_string(spec.lba_count) +
        ") is smaller than one I/O (blocks_per_io " + std::to_string(spec.blocks_per_io) + ")");
  }
  if (spec.first_lba + spec.lba_count < spec.first_lba) bad("first_lba + lba_count overflows");
  const std::uint64_t io_bytes = std::uint64_t{spec.blocks_per_io} * spec.block_size;
  if (io_bytes > 0xFFFFFFFFull) {
    bad("one I/O of " + std::to_string(io_bytes) + " bytes does not fit a 32-bit transfer length");
  }
  if (io_bytes * spec.queue_depth > kMaxBufferBytes) {
    bad("queue_depth " + std::to_string(spec.queue_depth) + " x " + std::to_string(io_bytes) +
        "-byte I/Os needs more than 1 GiB of buffers");
  }
  if (spec.read_percent > 100) bad("read_percent " + std::to_string(spec.read_percent) + " is over 100");
  if (!std::isfinite(spec.seconds) || spec.seconds < 0) bad("seconds must be finite and >= 0");
  if (auto lun = scsi::Lun::from_number(spec.lun); !lun) {
    bad("LUN " + std::to_string(spec.lun) + ": " + lun.error().message());
  }
  // READ(16)/WRITE(16) of the region's last chunk: the CDB builders' own limits.
  const std::uint64_t last = spec.first_lba + spec.lba_count - spec.blocks_per_io;
  if (auto cdb = scsi::write16(last, spec.blocks_per_io); !cdb) bad("WRITE(16): " + cdb.error().message());
}

IoJob::IoJob(Submit submit, JobSpec spec)
    : spec_(std::move(spec)),
      chunks_((spec_.lba_count + spec_.blocks_per_io - 1) / spec_.blocks_per_io),
      deadline_ns_(spec_.seconds > 0 ? now_ns() + static_cast<std::int64_t>(spec_.seconds * 1e9) : 0),
      submit_(std::move(submit)),
      slots_(spec_.queue_depth),
      rng_state_(spec_.seed) {
  for (auto& s : slots_) s.buffer.resize(std::size_t{spec_.blocks_per_io} * spec_.block_size);
}

IoJob::~IoJob() = default;

std::shared_ptr<IoJob> IoJob::start(Submit submit, JobSpec spec) {
  validate(spec);
  if (!submit) throw std::invalid_argument("I/O job: the submit function is empty");
  std::shared_ptr<IoJob> job(new IoJob(std::move(submit), std::move(spec)));
  job->pump();
  return job;
}

std::uint64_t IoJob::next_random() noexcept { return splitmix64_next(rng_state_); }

bool IoJob::overlaps_write_locked(std::uint64_t lba, std::uint32_t blocks) const {
  for (const auto& s : slots_) {
    if (s.busy && s.write && lba < s.lba + s.blocks && s.lba < lba + blocks) return true;
  }
  return false;
}

bool IoJob::pick_range_locked(bool write, std::uint64_t& lba, std::uint32_t& blocks) {
  const std::uint64_t end = spec_.first_lba + spec_.lba_count;
  auto chunk_range = [&](std::uint64_t chunk) {
    lba = spec_.first_lba + chunk * spec_.blocks_per_io;
    blocks = static_cast<std::uint32_t>(std::min<std::uint64_t>(spec_.blocks_per_io, end - lba));
  };
  if (!spec_.random) {
    chunk_range(cursor_);
    // A sequential write waits for the overlapping write ahead of it rather than skip a chunk.
    if (write && overlaps_write_locked(lba, blocks)) return false;
    cursor_ = (cursor_ + 1) % chunks_;
    return true;
  }
  for (int i = 0; i < (write ? kOverlapDraws : 1); ++i) {
    chunk_range(next_random() % chunks_);
    if (!write || !overlaps_write_locked(lba, blocks)) return true;
  }
  return false;
}

net::ScsiCommand IoJob::command_locked(Slot& s) const {
  net::ScsiCommand cmd;
  cmd.lun = spec_.lun;
  auto cdb = s.write ? scsi::write16(s.lba, s.blocks) : scsi::read16(s.lba, s.blocks);
  // validate() built the region's last CDB; an empty CDB would come back as an error anyway.
  if (cdb) cmd.cdb.assign(cdb->bytes.begin(), cdb->bytes.begin() + cdb->length);
  const std::size_t bytes = std::size_t{s.blocks} * spec_.block_size;
  if (s.write) {
    cmd.direction = session::DataDirection::write;
    cmd.write_view = ByteSpan(s.buffer).first(bytes);
  } else {
    cmd.direction = session::DataDirection::read;
    cmd.read_length = static_cast<std::uint32_t>(bytes);
    cmd.read_into = MutableByteSpan(s.buffer).first(bytes);
  }
  return cmd;
}

void IoJob::end_locked(std::string reason) {
  if (no_more_) return;
  no_more_ = true;
  totals_.end_reason = std::move(reason);
}

bool IoJob::next_launch_locked(Launch& out) {
  // UNIT ATTENTION retries first: those commands are in flight already, even after stop().
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (!s.busy || !s.retry_pending) continue;
    s.retry_pending = false;
    s.token = next_token_++;
    s.handle = 0;
    ++totals_.ua_retries;
    out.slot = i;
    out.token = s.token;
    out.encode = false;  // the buffer still holds the data of the first try
    out.cmd = command_locked(s);
    return true;
  }
  if (done_ || no_more_ || refusing_) return false;
  if (spec_.max_ios != 0 && totals_.started >= spec_.max_ios) {
    end_locked("max_ios reached");
    return false;
  }
  const std::int64_t now = now_ns();
  if (deadline_ns_ != 0 && now >= deadline_ns_) {
    end_locked("seconds elapsed");
    return false;
  }
  auto free = std::find_if(slots_.begin(), slots_.end(), [](const Slot& s) { return !s.busy; });
  if (free == slots_.end()) return false;
  bool write = spec_.op == JobSpec::Op::write;
  if (spec_.op == JobSpec::Op::mixed) write = next_random() % 100 >= spec_.read_percent;
  std::uint64_t lba = 0;
  std::uint32_t blocks = 0;
  if (!pick_range_locked(write, lba, blocks)) return false;  // a completion will call again
  Slot& s = *free;
  s.busy = true;
  s.write = write;
  s.lba = lba;
  s.blocks = blocks;
  s.generation = write ? (std::uint64_t{spec_.writer_id} << 48) | ++sequence_ : 0;
  s.start_ns = now;
  s.handle = 0;
  s.token = next_token_++;
  s.ua_retried = false;
  s.retry_pending = false;
  ++busy_;
  ++totals_.started;
  if (totals_.first_start_ns == 0) totals_.first_start_ns = now;
  out.slot = static_cast<std::size_t>(free - slots_.begin());
  out.token = s.token;
  out.encode = write;
  out.cmd = command_locked(s);
  return true;
}

void IoJob::submit_slot(Launch& l) {
  Slot& s = slots_[l.slot];
  if (l.encode) {
    // Outside the lock: the slot is ours until its command completes, which cannot happen
    // before it is submitted.
    encode_blocks(MutableByteSpan(s.buffer).first(std::size_t{s.blocks} * spec_.block_size), s.lba,
                  spec_.block_size, s.generation);
  }
  const Submitting outer = tl_submitting;
  tl_submitting = {this, l.token};
  std::uint64_t handle = 0;
  std::exception_ptr thrown;
  try {
    handle = submit_(std::move(l.cmd),
                     [self = shared_from_this(), slot = l.slot, token = l.token](
                         session::ScsiResult* r, std::exception_ptr e) {
                       self->on_complete(slot, token, r, std::move(e));
                     });
  } catch (...) {
    thrown = std::current_exception();
  }
  if (thrown) {
    on_complete(l.slot, l.token, nullptr, thrown);  // still marked: a refusal at once
  }
  tl_submitting = outer;
  if (!thrown) {
    std::lock_guard lock(mu_);
    if (s.busy && s.token == l.token) s.handle = handle;  // unless it completed already
  }
}

void IoJob::on_complete(std::size_t slot, std::uint64_t token, session::ScsiResult* result,
                        std::exception_ptr error) {
  {
    std::lock_guard lock(mu_);
    Slot& s = slots_[slot];
    if (!s.busy || s.token != token) return;  // not this submission's (cannot happen twice)
    const bool refused = tl_submitting.job == this && tl_submitting.token == token;
    if (error || result == nullptr) {
      finish_locked(s, false, error ? error_text(error) : "no result", refused);
    } else if (unit_attention(*result)) {
      if (totals_.unit_attentions.size() < kMaxUnitAttentions) {
        totals_.unit_attentions.push_back(scsi::to_string(*result->sense));
      }
      if (spec_.retry_unit_attention && !s.ua_retried) {
        s.ua_retried = true;
        s.retry_pending = true;  // the pump below sends it again
      } else {
        finish_locked(s, false, problem(*result, s.write, s.blocks * spec_.block_size), refused);
      }
    } else {
      std::string why = problem(*result, s.write, s.blocks * spec_.block_size);
      const bool ok = why.empty();
      finish_locked(s, ok, std::move(why), refused);
    }
  }
  pump();
}

void IoJob::finish_locked(Slot& s, bool ok, std::string error, bool refused) {
  IoRecord r;
  r.write = s.write;
  r.lba = s.lba;
  r.blocks = s.blocks;
  r.generation = s.generation;
  r.start_ns = s.start_ns;
  r.end_ns = now_ns();
  r.ok = ok;
  r.error = std::move(error);
  const std::uint64_t bytes = std::uint64_t{s.blocks} * spec_.block_size;
  ++(ok ? totals_.completed_ok : totals_.failed);
  ++(s.write ? totals_.writes : totals_.reads);
  if (ok) (s.write ? totals_.bytes_written : totals_.bytes_read) += bytes;
  totals_.last_end_ns = std::max(totals_.last_end_ns, r.end_ns);
  // A refusal at once stops new submissions until some command completes on its own (the
  // session may come back); with nothing left in flight the job ends (check_done_locked).
  if (refused && !ok) {
    refusing_ = true;
    refusal_ = r.error;
  } else if (!refused) {
    refusing_ = false;
  }
  records_.push_back(std::move(r));
  s.busy = false;
  s.retry_pending = false;
  s.handle = 0;
  s.token = 0;
  --busy_;
}

void IoJob::check_done_locked(Submit& drop) {
  if (done_ || pumping_ || busy_ != 0) return;
  if (refusing_) end_locked("submissions refused: " + refusal_);
  if (!no_more_) return;
  done_ = true;
  totals_.done = true;
  drop = std::move(submit_);  // the caller destroys it after unlocking (it may own a session)
  cv_.notify_all();
}

void IoJob::pump() {
  Submit drop;  // declared before the lock: destroyed after it is released
  std::unique_lock lock(mu_);
  if (pumping_) return;  // that thread re-reads the state after its submission
  pumping_ = true;
  Launch l;
  while (next_launch_locked(l)) {
    lock.unlock();
    submit_slot(l);
    lock.lock();
  }
  pumping_ = false;
  check_done_locked(drop);
}

void IoJob::stop() {
  Submit drop;
  std::lock_guard lock(mu_);
  end_locked("stopped");
  check_done_locked(drop);
}

bool IoJob::wait(std::chrono::nanoseconds timeout) {
  // now() + nanoseconds::max() would overflow the clock: ten years is "for ever" here.
  timeout = std::clamp<std::chrono::nanoseconds>(timeout, std::chrono::nanoseconds{0},
                                                 std::chrono::hours{24 * 365 * 10});
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return done_; });
}

std::vector<IoRecord> IoJob::drain() {
  std::vector<IoRecord> out;
  std::lock_guard lock(mu_);
  out.swap(records_);
  return out;
}

std::vector<InFlight> IoJob::in_flight() const {
  std::vector<InFlight> out;
  std::lock_guard lock(mu_);
  for (const auto& s : slots_) {
    if (s.busy) out.push_back({s.handle, s.write, s.lba, s.blocks, s.generation, s.start_ns});
  }
  return out;
}

Summary IoJob::summary() const {
  std::lock_guard lock(mu_);
  Summary s = totals_;
  s.in_flight = busy_;
  return s;
}

bool IoJob::done() const {
  std::lock_guard lock(mu_);
  return done_;
}

}  // namespace iscsi::workload
