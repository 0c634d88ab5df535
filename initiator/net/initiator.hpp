// The public, thread-safe face of the Asio engine. An Initiator owns one io_context and one
// worker thread; every session (normal or discovery) to any target and portal runs on it. Each
// Session call posts to that thread and returns a std::future (the *_async forms) or blocks on
// it (the plain forms). Blocking forms must not be called from the engine's own thread (event
// callbacks); they would deadlock.
//
//   net::Initiator ini;
//   auto targets = ini.discover(net::Portal::parse("127.0.0.1:3260"), {});
//   auto s = ini.login(targets[0].name, portal, opts);   // std::shared_ptr<net::Session>
//   s->write(0, bytes); auto back = s->read(0, 8); s->logout();
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/errors.hpp"
#include "net/options.hpp"
#include "proto/common/bytes.hpp"
#include "proto/login/negotiation.hpp"
#include "proto/pdu/pdu.hpp"
#include "proto/recovery/conn_error.hpp"
#include "proto/scsi/scsi.hpp"
#include "proto/session/session.hpp"
#include "proto/text/sendtargets.hpp"

namespace iscsi::net {

namespace detail {
class Core;
struct Runtime;
}  // namespace detail

// host + port. parse("192.0.2.1"), parse("192.0.2.1:3261"), parse("[::1]:3260"),
// parse("target.example:3260"); a ",tag" suffix is accepted and ignored.
struct Portal {
  std::string host;
  std::uint16_t port = 3260;
  static Portal parse(std::string_view text);
  std::string to_string() const;  // "host:port", IPv6 bracketed
  friend bool operator==(const Portal&, const Portal&) = default;
};

// What the event log records (with open-iscsi's vocabulary).
enum class EventType : std::uint8_t {
  login,               // logged in (detail: TSIH, portal)
  login_failed,        // a login attempt failed (detail: why)
  conn_error,          // "detected conn error (22)": conn_error holds the code
  nop_timeout,         // our ping was not answered in noop_out_timeout
  recovery_started,    // session FAILED, replacement_timeout running
  recovery_ended,      // relogin succeeded (session reinstated)
  replacement_timeout, // replacement_timeout fired: queued and new I/O fails
  async_event,         // Async Message from the target (detail: the event)
  capacity_changed,    // SCSI UA / async event 2A/09
  luns_changed,        // SCSI UA / async event 3F/0E
  reject,              // Reject PDU
  tmf_timeout,         // a TMF was not answered in its timeout
  logout,              // logged out
  state_change,        // session state changed (detail: new state)
  rescan,              // rescan finished (detail: summary)
  setting_capped,      // a setting asked for more than is implemented; the login offers less
};
std::string_view to_string(EventType t) noexcept;

struct EventRecord {
  EventType type = EventType::login;
  std::chrono::steady_clock::time_point steady;
  std::chrono::system_clock::time_point system;
  ConnError conn_error = ConnError::none;
  std::string detail;
};

struct Capacity {
  std::uint64_t blocks = 0;
  std::uint32_t block_length = 0;
  std::uint64_t bytes() const noexcept { return blocks * block_length; }
  friend bool operator==(const Capacity&, const Capacity&) = default;
};

struct LunInfo {
  std::uint16_t lun = 0;
  scsi::StandardInquiry inquiry;
  Capacity capacity;
};

struct RescanReport {
  std::vector<LunInfo> luns;             // every LUN now present
  std::vector<std::uint16_t> added;
  std::vector<std::uint16_t> removed;
  std::vector<std::uint16_t> resized;
};

// A SCSI command the caller built: LUN number (not the wire form), CDB, direction, lengths.
struct ScsiCommand {
  std::uint16_t lun = 0;
  session::CdbBytes cdb;
  session::DataDirection direction = session::DataDirection::none;
  std::uint32_t read_length = 0;
  ByteVector write_data;
  // Caller-owned buffers instead (kept alive and untouched until the command completes):
  // read_into receives the Data-In bytes (at least read_length bytes; ScsiResult::data then
  // stays empty and ScsiResult::read_bytes says how many arrived; after a failure its contents
  // are unspecified); write_view is sent instead of write_data, without a copy.
  MutableByteSpan read_into;
  ByteSpan write_view;
  pdu::TaskAttribute attr = pdu::TaskAttribute::simple;
};

// A started command: `handle` names it for abort_task().
struct ScsiTask {
  std::uint64_t handle = 0;
  std::future<session::ScsiResult> result;
};

class Session {
 public:
  ~Session();  // closes the connection without logging out (use logout() for a clean end)
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // --- SCSI ----------------------------------------------------------------------------------
  // The raw result: CHECK CONDITION is data here, not an error.
  ScsiTask start(ScsiCommand cmd);
  // The future-free form, for callers that keep many commands in flight (lab-iscsi-perf): no
  // promise, and no thread hop when called from a callback. `done` runs on the engine's thread
  // with the result, or with nullptr and the error; it must not block (no plain-form calls) but
  // may start further commands. Called from a callback, a command the session refuses at once
  // (closed, replacement_timeout) has `done` run before this returns. Returns the handle for
  // abort_task().
  using ScsiCallback = std::function<void(session::ScsiResult*, std::exception_ptr)>;
  std::uint64_t start_with_callback(ScsiCommand cmd, ScsiCallback done);
  std::future<session::ScsiResult> scsi_async(ScsiCommand cmd);
  session::ScsiResult scsi(ScsiCommand cmd);
  // READ(16)/WRITE(16); blocks of the LUN's block length (found with READ CAPACITY once).
  // Throw NetError(scsi_error) on a non-GOOD status, with the sense in words. A GOOD read with
  // a residual underflow returns the bytes the target sent (fewer than asked, not necessarily
  // whole blocks); use scsi() for the residual itself.
  std::future<ByteVector> read_async(std::uint64_t lba, std::uint32_t blocks, std::uint16_t lun = 0);
  ByteVector read(std::uint64_t lba, std::uint32_t blocks, std::uint16_t lun = 0);
  // READ(16) of buffer.size() bytes (a whole number of blocks) straight into `buffer`, which
  // must stay untouched until this returns; returns the bytes the target sent (less than the
  // buffer on a residual underflow). The copy-free form of read().
  std::uint32_t read_into(std::uint64_t lba, MutableByteSpan buffer, std::uint16_t lun = 0);
  std::future<void> write_async(std::uint64_t lba, ByteVector data, std::uint16_t lun = 0);
  void write(std::uint64_t lba, ByteVector data, std::uint16_t lun = 0);
  void test_unit_ready(std::uint16_t lun = 0);
  scsi::StandardInquiry inquiry(std::uint16_t lun = 0);
  ByteVector inquiry_vpd(std::uint8_t page, std::uint16_t lun = 0);
  // READ CAPACITY(16), falling back to (10) when the target refuses (16); a (10) answer of
  // 0xFFFFFFFF (too big for (10)) asks (16) again and fails in words if it is still refused.
  Capacity read_capacity(std::uint16_t lun = 0);
  std::vector<std::uint16_t> report_luns();
  RescanReport rescan();

  // --- iSCSI ---------------------------------------------------------------------------------
  // A NOP-Out ping; returns the round trip time.
  std::chrono::nanoseconds nop();
  pdu::TmfResponse abort_task(std::uint64_t handle, std::uint16_t lun = 0);
  pdu::TmfResponse abort_task_set(std::uint16_t lun = 0);
  pdu::TmfResponse clear_task_set(std::uint16_t lun = 0);
  pdu::TmfResponse lun_reset(std::uint16_t lun = 0);
  pdu::TmfResponse target_warm_reset();
  pdu::TmfResponse target_cold_reset();
  std::future<pdu::TmfResponse> tmf_async(pdu::TmfFunction f, std::uint16_t lun = 0,
                                          std::optional<std::uint64_t> handle = {});
  // Logout (close the session); the Session is closed afterwards.
  void logout();

  // --- introspection (cheap, never blocks on the engine) -------------------------------------
  session::Stats stats() const;
  session::SessionState state() const;
  std::string state_name() const;  // "LOGGED_IN", "FAILED", ... (open-iscsi)
  login::NegotiatedParams params() const;
  std::uint16_t tsih() const;
  pdu::Isid isid() const;
  std::string target_name() const;
  Portal portal() const;
  std::vector<EventRecord> events() const;
  // Relogins that succeeded since the first login.
  std::uint64_t reinstatements() const;

 private:
  friend class Initiator;
  explicit Session(std::shared_ptr<detail::Core> core);
  std::shared_ptr<detail::Core> core_;
};

struct InitiatorOptions {
  // Where the kernel-style log lines go ("connection1:0: detected conn error (22)"); none when
  // empty.
  std::function<void(std::string_view)> log;
};

class Initiator {
 public:
  explicit Initiator(InitiatorOptions options = {});
  ~Initiator();  // closes every session and joins the worker thread
  Initiator(const Initiator&) = delete;
  Initiator& operator=(const Initiator&) = delete;

  std::future<std::vector<text::DiscoveredTarget>> discover_async(const Portal& portal,
                                                                  const DiscoveryOptions& options);
  std::vector<text::DiscoveredTarget> discover(const Portal& portal, const DiscoveryOptions& options);

  std::future<std::shared_ptr<Session>> login_async(const std::string& target,
                                                    const Portal& portal,
                                                    const SessionOptions& options);
  std::shared_ptr<Session> login(const std::string& target, const Portal& portal,
                                 const SessionOptions& options);

 private:
  std::shared_ptr<detail::Runtime> rt_;
};

}  // namespace iscsi::net
