// Background I/O at a queue depth, for the scenario runner (through iscsilab._core) and tests:
// an IoJob keeps `queue_depth` READ(16)/WRITE(16) commands in flight over any submit function,
// so it runs over a net::Session today and over a multipath device later. Writes carry the
// self-describing blocks of block_pattern.hpp; every completion is recorded (what, where, which
// generation, when, ok or why not) so the caller can check afterwards which writes were
// acknowledged and read them back.
//
//   auto job = workload::IoJob::start(workload::submit_to(session), spec);
//   job->wait(std::chrono::seconds(30));
//   for (const auto& r : job->drain()) ...
//
// The job has no thread of its own: the caller's thread starts the first commands, and every
// completion (on the engine's thread, which must never block) starts the next ones.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "net/initiator.hpp"

namespace iscsi::workload {

// Starts one command and returns its handle (for Session::abort_task); `done` runs once with the
// result or the error, possibly on another thread, possibly before this returns (a session that
// refuses at once). net::Session::start_with_callback's shape; submit_to() makes one.
using Submit = std::function<std::uint64_t(net::ScsiCommand, net::Session::ScsiCallback)>;

// A Submit over one session; the session stays alive as long as the function does.
Submit submit_to(std::shared_ptr<net::Session> session);

struct JobSpec {
  enum class Op : std::uint8_t { read, write, mixed };
  Op op = Op::read;
  std::uint16_t lun = 0;
  // The region the job touches: LBAs [first_lba, first_lba + lba_count).
  std::uint64_t first_lba = 0;
  std::uint64_t lba_count = 0;
  // Every command covers blocks_per_io blocks, except the last one of the region when
  // lba_count is not a multiple of it (the region is covered to its end).
  std::uint32_t blocks_per_io = 8;
  std::uint32_t block_size = 0;  // the LUN's block length (block_pattern needs it to encode)
  std::uint32_t queue_depth = 1;
  // Sequential: the I/Os walk the region in order and wrap. Random: each I/O picks one of the
  // region's blocks_per_io-aligned chunks with a splitmix64 generator seeded by `seed`.
  bool random = false;
  std::uint64_t seed = 1;
  std::uint64_t max_ios = 0;  // 0: unlimited
  double seconds = 0;         // 0: unlimited; after it no new command starts
  // Generation of a write = (writer_id << 48) | sequence (1, 2, ...): unique per write command
  // of this job, and across jobs with different writer ids.
  std::uint16_t writer_id = 1;
  std::uint32_t read_percent = 50;  // mixed only: the share of reads, 0..100
  // A UNIT ATTENTION CHECK CONDITION is sent once more (and recorded in the summary).
  bool retry_unit_attention = true;
};

// "read", "write", "mixed".
std::string_view to_string(JobSpec::Op op) noexcept;

// Throws std::invalid_argument naming what is wrong (region smaller than one I/O, block size
// not a multiple of 8 or under 64, queue depth 0, ...).
void validate(const JobSpec& spec);

// One finished command.
struct IoRecord {
  bool write = false;
  std::uint64_t lba = 0;
  std::uint32_t blocks = 0;
  std::uint64_t generation = 0;  // 0 for reads
  // steady_clock (CLOCK_MONOTONIC on Linux, Python's time.monotonic_ns()): from the first
  // submission to the final completion (a UNIT ATTENTION retry is inside the interval).
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  // GOOD status with all data transferred. A write that is not ok was not acknowledged: the
  // blocks may hold the old data, the new data, or a mix.
  bool ok = false;
  // Empty when ok: the engine's error ("session logged out: ..."), or the status in words:
  // "WRITE(16): SCSI status 0x02 CHECK CONDITION (UNIT ATTENTION: ... (0x6/0x2a/0x09))".
  std::string error;
};

// A command in flight now.
struct InFlight {
  std::uint64_t handle = 0;  // for Session::abort_task; 0 while the submission is under way
  bool write = false;
  std::uint64_t lba = 0;
  std::uint32_t blocks = 0;
  std::uint64_t generation = 0;
  std::int64_t start_ns = 0;
};

struct Summary {
  std::uint64_t started = 0;       // I/Os started (a UNIT ATTENTION retry is not another one)
  std::uint64_t completed_ok = 0;
  std::uint64_t failed = 0;
  std::uint64_t reads = 0;         // finished reads and writes, ok or not
  std::uint64_t writes = 0;
  std::uint64_t bytes_read = 0;    // of the ok ones
  std::uint64_t bytes_written = 0;
  std::uint64_t in_flight = 0;
  std::uint64_t ua_retries = 0;    // commands sent again after a UNIT ATTENTION
  // Every UNIT ATTENTION seen, in words ("UNIT ATTENTION: CAPACITY DATA HAS CHANGED
  // (0x6/0x2a/0x09)"), oldest first; the first kMaxUnitAttentions only.
  std::vector<std::string> unit_attentions;
  std::int64_t first_start_ns = 0;  // 0 until a command started
  std::int64_t last_end_ns = 0;     // 0 until a command finished
  // Why no more commands start, once that is decided: "max_ios reached", "seconds elapsed",
  // "stopped", or the error that made submissions pointless ("session closed: ...").
  std::string end_reason;
  bool done = false;
};

class IoJob : public std::enable_shared_from_this<IoJob> {
 public:
  static constexpr std::size_t kMaxUnitAttentions = 1000;

  // Validates the spec (std::invalid_argument) and starts the first queue_depth commands from
  // the calling thread. The job stays alive while commands are in flight: their callbacks own it.
  static std::shared_ptr<IoJob> start(Submit submit, JobSpec spec);

  // Thread-safe. No new command starts after stop(); those in flight finish (or are aborted
  // by the caller through their handles).
  void stop();
  // True when nothing is in flight and no more will start (done()); false on timeout.
  bool wait(std::chrono::nanoseconds timeout);
  // The completions since the last drain, in completion order.
  std::vector<IoRecord> drain();
  std::vector<InFlight> in_flight() const;
  Summary summary() const;
  bool done() const;
  const JobSpec& spec() const noexcept { return spec_; }

  ~IoJob();
  IoJob(const IoJob&) = delete;
  IoJob& operator=(const IoJob&) = delete;

 private:
  IoJob(Submit submit, JobSpec spec);

  // One queue position: its buffer (write data or read scratch) and the command it runs.
  struct Slot {
    ByteVector buffer;
    bool busy = false;
    bool write = false;
    std::uint64_t lba = 0;
    std::uint32_t blocks = 0;
    std::uint64_t generation = 0;
    std::int64_t start_ns = 0;
    std::uint64_t handle = 0;
    std::uint64_t token = 0;   // which submission (a UA retry is a new one); stale callbacks lose
    bool ua_retried = false;
    bool retry_pending = false;  // a UNIT ATTENTION answered it: the pump sends it again
  };
  // A submission decided under the lock and made without it.
  struct Launch {
    std::size_t slot = 0;
    std::uint64_t token = 0;
    bool encode = false;  // a fresh write: fill the buffer first
    net::ScsiCommand cmd;
  };

  void pump();
  bool next_launch_locked(Launch& out);
  bool pick_range_locked(bool write, std::uint64_t& lba, std::uint32_t& blocks);
  bool overlaps_write_locked(std::uint64_t lba, std::uint32_t blocks) const;
  void submit_slot(Launch& launch);
  void on_complete(std::size_t slot, std::uint64_t token, session::ScsiResult* result,
                   std::exception_ptr error);
  void finish_locked(Slot& slot, bool ok, std::string error, bool refused);
  void end_locked(std::string reason);
  void check_done_locked(Submit& drop);
  net::ScsiCommand command_locked(Slot& slot) const;
  std::uint64_t next_random() noexcept;

  const JobSpec spec_;
  const std::uint64_t chunks_;  // blocks_per_io-sized pieces of the region (the last may be short)
  const std::int64_t deadline_ns_;  // 0: none

  mutable std::mutex mu_;
  std::condition_variable cv_;
  Submit submit_;  // dropped once done, so the session it holds can close
  std::vector<Slot> slots_;
  std::uint64_t busy_ = 0;
  std::uint64_t next_token_ = 1;
  std::uint64_t cursor_ = 0;      // sequential: next chunk
  std::uint64_t rng_state_ = 0;   // random choices (splitmix64)
  std::uint64_t sequence_ = 0;    // write generations
  bool pumping_ = false;          // one thread issues at a time; others leave it work
  bool no_more_ = false;          // nothing new starts (end_reason_ says why)
  bool refusing_ = false;         // the last submission was refused at once: wait for a completion
  bool done_ = false;
  std::string refusal_;
  std::vector<IoRecord> records_;
  Summary totals_;
};

}  // namespace iscsi::workload
