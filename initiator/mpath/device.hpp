// A multipath device: one logical unit reached over several paths (a net::Session and a LUN
// each), used like one session. It decides which path each command goes to (path groups from
// ALUA, a dm-multipath selector), watches the paths (a checker every polling_interval, the
// sessions' states), sends a command that failed on a path again on another one when that is
// safe (failover.hpp says exactly when), holds or fails I/O when no path is left
// (no_path_retry) and goes back to a better group by the failback policy.
//
//   auto dev = mpath::Device::create({{s1, 2}, {s2, 2}}, mpath::parse_settings(conf));
//   dev->write(0, bytes); auto back = dev->read(0, 8);
//   auto job = workload::IoJob::start(dev->submit_function(), spec);   // any workload
//   for (const auto& p : dev->status()) ...                           // multipathd show paths
//
// Threads. Commands complete on the engine's thread (net::Initiator's), and every decision a
// completion needs is taken there, under the device's mutex, without blocking: no call into a
// session and no user callback runs while the mutex is held. The timers (checker, checker
// timeouts, no_path_retry countdown, deferred failback, the session watcher) run on one small
// thread of the device's own that sleeps on a condition variable. Why not a timer service in
// net::Initiator: a device is made of sessions, not of an initiator (its paths may even come
// from two initiators), and only initiator/net may touch Asio; the device's thread only ever
// starts commands (start_with_callback posts them to the engine), so it never blocks the
// engine either. The session watcher reads each session's state every 50 ms: a connection
// error fails the path within that, without waiting for the checker.
//
// Handles returned by submit() are the device's own (not a session's abort_task handle).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "mpath/events.hpp"
#include "mpath/identity.hpp"
#include "mpath/settings.hpp"
#include "net/initiator.hpp"

namespace iscsi::mpath {

struct PathSpec {
  std::shared_ptr<net::Session> session;
  std::uint16_t lun = 0;
};

// The paths do not reach one LU: what differed, path by path.
class IdentityError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One line of `multipathd show paths` (and a little more).
struct PathStatus {
  std::size_t index = 0;        // the path's position in create()'s list
  std::string path;             // "127.0.0.1:3260 LUN 2"
  std::string target;           // the session's target name
  std::size_t group = 0;        // 1-based path group
  bool group_active = false;    // I/O goes to this path's group
  int priority = 0;
  std::string dm_state;         // "active" | "failed"
  std::string checker_state;    // "ready" | "ghost" | "faulty", with " (checking)" while a check runs
  std::string path_state;       // "up" | "ghost" | "failed" (path_state.hpp)
  std::string session_state;    // "LOGGED_IN", "FAILED", ...
  std::string alua;             // "tpg 1 port 1 active/optimized pref", "no ALUA"
  std::uint64_t outstanding = 0;        // commands in flight on the path
  std::uint64_t outstanding_bytes = 0;
  std::uint64_t completed = 0;          // commands that completed on the path
  std::uint64_t failures = 0;           // times the path failed
};

// Device-wide state, like the map line of `multipathd show maps` plus the queue.
struct DeviceStatus {
  std::string wwid;
  std::string selector;          // "round-robin 0"
  std::string grouping_policy;
  std::string failback;
  std::string no_path_retry;
  std::string no_path_state;     // "serving" | "queueing" | "failing"
  std::size_t groups = 0;
  std::size_t active_group = 0;  // 1-based; 0 when no group is usable
  std::size_t queued = 0;        // commands held for a path
  std::uint64_t failovers = 0;   // commands sent again on another path
};

class Device {
 public:
  using Callback = net::Session::ScsiCallback;
  // workload::Submit's shape, so IoJob and anything written for a session runs over a device.
  using SubmitFunction = std::function<std::uint64_t(net::ScsiCommand, Callback)>;

  // Probes every path (blocking: not from an engine callback), checks that they reach one LU,
  // builds the path groups and starts the checker. Throws IdentityError when they do not,
  // std::invalid_argument for no paths or a null session, net::NetError when a path cannot be
  // probed (naming it).
  static std::shared_ptr<Device> create(std::vector<PathSpec> paths, Settings settings = {});
  ~Device();  // stops the checker; commands still queued fail (session_closed)
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // Starts a command on the path the selector picks (the command's lun is replaced by the
  // path's). `done` runs once, on an engine thread or (when no path can take the command and
  // no_path_retry is fail) before this returns. Buffers behind read_into / write_view stay the
  // caller's until then, across resends.
  std::uint64_t submit(net::ScsiCommand cmd, Callback done);
  SubmitFunction submit_function();

  // Blocking helpers, as net::Session's: READ(16)/WRITE(16) in the LU's blocks; NetError
  // (scsi_error) on a non-GOOD status.
  session::ScsiResult scsi(net::ScsiCommand cmd);
  ByteVector read(std::uint64_t lba, std::uint32_t blocks);
  std::uint32_t read_into(std::uint64_t lba, MutableByteSpan buffer);
  void write(std::uint64_t lba, ByteSpan data);

  std::vector<PathStatus> status() const;
  DeviceStatus device_status() const;
  std::vector<EventRecord> events() const;
  const LuIdentity& identity() const noexcept;
  const Settings& settings() const noexcept;
  net::Capacity capacity() const noexcept;
  // Runs the checker on every path now (tests and scenarios that do not want to wait for
  // polling_interval).
  void check_now();

  class Core;

 private:
  explicit Device(std::shared_ptr<Core> core);
  std::shared_ptr<Core> core_;
};

}  // namespace iscsi::mpath
