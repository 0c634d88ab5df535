// The measuring loop (see perf_loop.hpp). Commands are started with
// Session::start_with_callback, and each completion starts the next command from the engine's
// thread, as iscsi-perf does from its callback: no futures, no thread hop per command. The
// calling thread only starts the first batch, watches for signals and waits for the end.
#include "cli/perf_loop.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "cli/perf_report.hpp"
#include "proto/scsi/cdb.hpp"

namespace iscsi::cli {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint8_t kStatusGood = 0x00;
constexpr std::uint8_t kStatusCheckCondition = 0x02;
constexpr std::uint8_t kStatusBusy = 0x08;

class Loop {
 public:
  Loop(std::vector<PerfTarget> targets, const net::Capacity& cap, const PerfOptions& o,
       const std::atomic<int>& interrupts, std::FILE* out, std::FILE* err,
       std::function<void()> tick)
      : targets_(std::move(targets)),
        cap_(cap),
        o_(o),
        interrupts_(interrupts),
        out_(out),
        err_(err),
        tick_(std::move(tick)),
        rng_(std::random_device{}()) {
    // -m credits per target, interleaved so the first fill spreads over every session.
    ready_.resize(targets_.size() * std::size_t{o_.max_in_flight});
    for (std::size_t i = 0; i < ready_.size(); ++i) {
      ready_[i] = static_cast<std::uint32_t>(i % targets_.size());
    }
    ready_count_ = ready_.size();
    good_per_target_.assign(targets_.size(), 0);
    const std::size_t io_bytes = std::size_t{o_.blocks_per_io} * cap_.block_length;
    if (o_.write) {
      write_buffer_.assign(io_bytes, 0);
    } else {
      // Like iscsi-perf, the tool throws away what it reads: every read lands in this one
      // scratch buffer (the engine writes it on its own thread, one PDU at a time), so the data
      // path is measured without a cache-cold destination per command in flight, and nothing
      // is allocated per command.
      scratch_.resize(io_bytes);
    }
  }

  std::uint32_t in_flight() {
    std::lock_guard lock(mu_);
    return in_flight_;
  }

  PerfTotals run() {
    std::unique_lock lock(mu_);
    first_ = last_ = Clock::now();
    fill();
    // Bounded waits, so a signal is noticed even when the target stalls.
    while (in_flight_ != 0 && !t_.aborted) {
      cv_.wait_for(lock, std::chrono::milliseconds(100));
      if (tick_) {
        lock.unlock();  // the tick reads session state: never with our lock held
        tick_();
        lock.lock();
      }
      if (interrupts_.load() >= 2) t_.aborted = true;
      const auto now = Clock::now();
      // -t also ends a run whose commands stopped completing (no callback to notice it).
      const bool timed_out =
          o_.runtime_s != 0 && now - first_ >= std::chrono::seconds(o_.runtime_s);
      if ((interrupts_.load() == 1 || timed_out) && !finished_) finish(now);
      if (finished_ && in_flight_ != 0 && now - finished_at_ >= kDrainTimeout) {
        t_.unfinished = in_flight_;
        break;
      }
    }
    if (!finished_ && !t_.aborted) finish(Clock::now());
    // After an abort, commands may still be in flight: their callbacks must find us ignoring
    // them (done_), not destroyed (see run_perf).
    done_ = true;
    const auto [lo, hi] = std::minmax_element(good_per_target_.begin(), good_per_target_.end());
    t_.min_per_target = *lo;
    t_.max_per_target = *hi;
    return t_;
  }

 private:
  // Called with mu_ held. The command's LBA and length wait in a slot of in_flight_slots_, so
  // that its callback captures only the loop and the slot: small enough for std::function to
  // hold without an allocation, and no reference count touched per command.
  void start(std::uint64_t lba, std::uint32_t blocks) {
    std::uint32_t slot;
    if (free_slots_.empty()) {
      slot = static_cast<std::uint32_t>(in_flight_slots_.size());
      in_flight_slots_.emplace_back();
    } else {
      slot = free_slots_.back();
      free_slots_.pop_back();
    }
    const std::uint32_t target = take_credit();
    in_flight_slots_[slot] = InFlight{lba, blocks, target};
    net::ScsiCommand cmd;
    cmd.lun = targets_[target].lun;
    auto cdb = o_.write ? scsi::write16(lba, blocks) : scsi::read16(lba, blocks);
    if (!cdb) throw net::NetError(net::Errc::invalid_argument, cdb.error().message());
    cmd.cdb.assign(cdb->bytes.begin(), cdb->bytes.begin() + cdb->length);
    const std::size_t bytes = std::size_t{blocks} * cap_.block_length;
    if (o_.write) {
      cmd.direction = session::DataDirection::write;
      cmd.write_view = ByteSpan(write_buffer_).first(bytes);
    } else {
      cmd.direction = session::DataDirection::read;
      cmd.read_length = static_cast<std::uint32_t>(bytes);
      cmd.read_into = MutableByteSpan(scratch_).first(bytes);
    }
    ++in_flight_;
    targets_[target].submit(std::move(cmd),
                            [loop = this, slot](session::ScsiResult* r, std::exception_ptr e) {
                              loop->on_done(r, std::move(e), slot);
                            });
  }

  // The engine's thread: account for one completion, then top the queue up again.
  void on_done(session::ScsiResult* r, std::exception_ptr e, std::uint32_t slot) {
    std::lock_guard lock(mu_);
    --in_flight_;
    const InFlight io = in_flight_slots_[slot];
    free_slots_.push_back(slot);
    return_credit(io.target);
    if (done_) return;
    try {
      complete(r, std::move(e), io.lba, io.blocks, io.target);
      if (!t_.aborted) {
        progress(Clock::now());
        fill();
      }
    } catch (const std::exception& ex) {
      std::fprintf(err_, "\n%s\n", ex.what());
      t_.aborted = true;
    }
    if (in_flight_ == 0 || t_.aborted) cv_.notify_all();
  }

  // Tops the queue up to -m commands, as iscsi-perf's fill_read_queue does.
  void fill() {
    if (finished_) return;
    const std::uint64_t n = cap_.blocks;
    if (pos_ >= n) pos_ = 0;
    while (ready_count_ != 0 && pos_ < n && !t_.aborted) {
      if (o_.random) pos_ = std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng_);
      std::uint32_t blocks = o_.blocks_per_io;
      if (n - pos_ < blocks) blocks = static_cast<std::uint32_t>(n - pos_);
      if (o_.random_blocks) blocks = std::uniform_int_distribution<std::uint32_t>(1, blocks)(rng_);
      start(pos_, blocks);
      pos_ += blocks;
    }
  }

  // The targets with a command slot free, oldest first: a FIFO ring of target indices (one
  // entry per free slot), so taking and returning a slot is O(1) at any number of sessions.
  std::uint32_t take_credit() {
    const std::uint32_t t = ready_[ready_head_];
    ready_head_ = (ready_head_ + 1) % ready_.size();
    --ready_count_;
    return t;
  }
  void return_credit(std::uint32_t target) {
    ready_[(ready_head_ + ready_count_) % ready_.size()] = target;
    ++ready_count_;
  }

  const char* verb() const { return o_.write ? "Write16" : "Read16"; }

  void failed(const std::string& why) {
    const double t = std::chrono::duration<double>(Clock::now() - first_).count();
    std::fprintf(err_, "[%8.3f s] %s failed with %s\n", t, verb(), why.c_str());
    ++t_.errors;
    if (!o_.ignore_errors) t_.aborted = true;
  }

  void complete(session::ScsiResult* result, std::exception_ptr e, std::uint64_t lba,
                std::uint32_t blocks, std::uint32_t target) {
    if (e) {
      // The session failed (not the command): -n does not cover that, as in iscsi-perf.
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        failed(ex.what());
      }
      t_.aborted = true;
      return;
    }
    const session::ScsiResult& r = *result;
    const bool good = r.response == pdu::ScsiResponseCode::command_completed_at_target;
    const bool unit_attention = r.status == kStatusCheckCondition && r.sense &&
                                r.sense->key == scsi::SenseKey::unit_attention;
    if (good && (r.status == kStatusBusy || unit_attention)) {
      // As iscsi-perf: send it again, but not for ever.
      if (r.status == kStatusBusy) ++t_.busy;
      if (++retries_ > 4ull * ready_.size()) {
        failed("too many retries (BUSY or UNIT ATTENTION)");
        return;
      }
      start(lba, blocks);
      return;
    }
    if (good && r.status == kStatusGood) {
      retries_ = 0;
      ++t_.ios;
      ++good_per_target_[target];
      t_.bytes += std::uint64_t{blocks} * cap_.block_length;
      return;
    }
    char status[8];
    std::snprintf(status, sizeof status, "0x%02x", r.status);
    std::string why = std::string("SCSI status ") + status;
    if (r.sense) why += " (" + scsi::to_string(*r.sense) + ")";
    if (!good) why = "iSCSI response " + pdu::to_string(r.response);
    failed(why);
  }

  static std::uint64_t per_second(std::uint64_t count, Clock::duration d) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    return ns <= 0 ? 0
                   : static_cast<std::uint64_t>(1e9 * static_cast<double>(count) /
                                                static_cast<double>(ns));
  }

  std::uint64_t bytes_per_io() const { return std::uint64_t{o_.blocks_per_io} * cap_.block_length; }

  void progress(Clock::time_point now) {
    if (now - last_ < std::chrono::seconds(1) || finished_) return;
    const auto elapsed = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(now - first_).count());
    if (o_.runtime_s != 0 && elapsed >= o_.runtime_s) {
      finish(now);
      return;
    }
    ProgressFigures f;
    f.remaining_s = o_.runtime_s != 0 ? o_.runtime_s - elapsed : elapsed;
    f.lba = pos_;
    f.iops_current = per_second(t_.ios - last_ios_, now - last_);
    f.bytes_current = per_second(t_.bytes - last_bytes_, now - last_);
    f.iops_average = per_second(t_.ios, now - first_);
    f.bytes_average = per_second(t_.bytes, now - first_);
    f.in_flight = in_flight_;
    f.busy = static_cast<std::uint32_t>(t_.busy);
    std::fprintf(out_, "\r%s        %s", progress_line(f).c_str(), o_.logging ? "\n" : "");
    std::fflush(out_);
    last_ = now;
    last_ios_ = t_.ios;
    last_bytes_ = t_.bytes;
  }

  // Stops submitting and prints the final line; the commands in flight still drain.
  void finish(Clock::time_point now) {
    finished_ = true;
    finished_at_ = now;
    std::fprintf(out_, "\r%s%s",
                 final_line(per_second(t_.ios, now - first_), bytes_per_io()).c_str(),
                 std::string(56, ' ').c_str());
    std::fflush(out_);
  }

  std::vector<PerfTarget> targets_;
  net::Capacity cap_;
  const PerfOptions& o_;
  const std::atomic<int>& interrupts_;
  std::FILE* out_;
  std::FILE* err_;
  std::function<void()> tick_;
  std::mt19937_64 rng_;
  ByteVector write_buffer_;
  ByteVector scratch_;  // where every read lands (see the constructor)
  struct InFlight {
    std::uint64_t lba = 0;
    std::uint32_t blocks = 0;
    std::uint32_t target = 0;  // index into targets_
  };
  std::vector<InFlight> in_flight_slots_;  // by the slot a command's callback names
  std::vector<std::uint32_t> free_slots_;
  // Recursive: a command may fail inside start_with_callback (dead session), which runs its
  // callback before returning.
  std::recursive_mutex mu_;
  std::condition_variable_any cv_;
  std::vector<std::uint32_t> ready_;  // see take_credit()
  std::vector<std::uint64_t> good_per_target_;
  std::size_t ready_head_ = 0;
  std::size_t ready_count_ = 0;
  std::uint32_t in_flight_ = 0;
  bool done_ = false;
  PerfTotals t_;
  std::uint64_t pos_ = 0;
  std::uint64_t retries_ = 0;
  bool finished_ = false;
  Clock::time_point finished_at_;
  Clock::time_point first_;
  Clock::time_point last_;
  std::uint64_t last_ios_ = 0;
  std::uint64_t last_bytes_ = 0;
};

}  // namespace

PerfTotals run_perf(std::vector<PerfTarget> targets, const net::Capacity& capacity,
                    const PerfOptions& options, const std::atomic<int>& interrupts, std::FILE* out,
                    std::FILE* err, const std::function<void()>& tick) {
  if (targets.empty()) throw net::NetError(net::Errc::invalid_argument, "run_perf: no session");
  // The options, streams and counter the loop refers to live for the whole program
  // (perf_main). Commands still in flight when the run ends (aborted, or unanswered) call back
  // when their session closes, later: the loop they name then stays alive until the program
  // exits, ignoring them.
  auto loop = std::make_unique<Loop>(std::move(targets), capacity, options, interrupts, out, err,
                                     tick);
  const PerfTotals totals = loop->run();
  if (loop->in_flight() != 0) {
    static std::mutex kept_mu;
    static std::vector<std::unique_ptr<Loop>> kept;
    std::lock_guard lock(kept_mu);
    kept.push_back(std::move(loop));
  }
  return totals;
}

PerfTotals run_perf(PerfSubmit submit, std::uint16_t lun, const net::Capacity& capacity,
                    const PerfOptions& options, const std::atomic<int>& interrupts, std::FILE* out,
                    std::FILE* err, const std::function<void()>& tick) {
  std::vector<PerfTarget> one;
  one.push_back({std::move(submit), lun});
  return run_perf(std::move(one), capacity, options, interrupts, out, err, tick);
}

PerfTotals run_perf(net::Session& session, std::uint16_t lun, const net::Capacity& capacity,
                    const PerfOptions& options, const std::atomic<int>& interrupts, std::FILE* out,
                    std::FILE* err, const std::function<void()>& tick) {
  PerfSubmit submit = [&session](net::ScsiCommand cmd, net::Session::ScsiCallback done) {
    return session.start_with_callback(std::move(cmd), std::move(done));
  };
  return run_perf(std::move(submit), lun, capacity, options, interrupts, out, err, tick);
}

}  // namespace iscsi::cli
