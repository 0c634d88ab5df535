// lab-iscsid's state and requests, without the socket: the sessions it owns (on one
// net::Initiator, so one io_context), the record database it reads node settings from, and the
// answer to each control request (op=login|logout|sessions|stats|rescan|ping). The socket loop
// (iscsid_main.cpp) only moves ControlMessages in and out, so everything here is tested in
// process against a real target.
//
// Requests: op plus a filter (sid, target, address, port, iface; absent = any) and print_level.
// Answers: status (lab-iscsiadm's exit status, open-iscsi's numbers), out and err (the text the
// command prints on stdout and stderr, already in iscsiadm's words).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cli/adm_status.hpp"
#include "cli/control_message.hpp"
#include "cli/host_config.hpp"
#include "cli/session_print.hpp"
#include "config/record_db.hpp"
#include "net/initiator.hpp"

namespace iscsi::cli {

struct IscsidConfig {
  std::filesystem::path root;                // the record database
  std::filesystem::path conf;                // iscsid.conf (-c); absent file = open-iscsi defaults
  std::filesystem::path initiatorname_file;  // initiatorname.iscsi (-i)
  std::string initiator_name;                // overrides the file when not empty
  std::function<void(std::string_view)> log;  // daemon log lines; none when empty
};

class IscsidServer {
 public:
  explicit IscsidServer(IscsidConfig config);
  ~IscsidServer();  // logs every session out (as on SIGTERM)

  ControlMessage handle(const ControlMessage& request);

  // At start: log in to every node record whose node.startup is automatic (onboot too: there is
  // no boot here), and discover through each discovery record with use_discoveryd = Yes.
  void start_automatic();
  // Runs the discoveries whose poll interval has passed (SendTargets records with
  // discovery.sendtargets.use_discoveryd, iSNS ones with discovery.isns.use_discoveryd: a
  // DevAttrQry as our initiator name), adding node records for new portals and logging in to the
  // new automatic ones. Returns the time until the next one is due (or a minute when none is).
  std::chrono::milliseconds poll_discovery(std::chrono::steady_clock::time_point now);
  // Logins asked for with no_wait (-W): answered at once, run after the answer is sent.
  void run_pending();
  // SIGTERM: log every session out cleanly.
  void logout_all();
  std::size_t session_count() const;

 private:
  struct Owned {
    std::uint32_t sid = 0;
    config::NodeId node;
    std::shared_ptr<net::Session> session;
    std::string initiator_name;
    net::SessionOptions options;
    std::vector<LunView> luns;
  };
  struct Filter {
    std::optional<std::uint32_t> sid;
    std::optional<std::string> target, address, iface;
    std::optional<std::uint16_t> port;
    bool matches(const Owned& o) const;
  };
  struct Answer;

  Answer login(const ControlMessage& r);
  Answer logout(const Filter& f);
  Answer sessions(const Filter& f, int print_level);
  Answer stats(const Filter& f);
  Answer rescan(const Filter& f);
  static Filter filter_from(const ControlMessage& r, std::string& error);
  static Answer no_match(AdmStatus status);

  // `record`: the node record to use instead of the database's (a nonpersistent discovery).
  Answer login_node(const config::NodeId& id, const config::SettingMap* record = nullptr);
  SessionView view_of(const Owned& o) const;
  std::vector<Owned*> matching(const Filter& f);
  config::Checked<HostConfig> host() const;
  void log(const std::string& line) const;

  IscsidConfig config_;
  config::RecordDb db_;
  net::Initiator initiator_;
  std::vector<Owned> sessions_;  // in sid order
  std::uint32_t next_sid_ = 1;
  std::map<config::DiscoveryId, std::chrono::steady_clock::time_point> next_discovery_;
  std::vector<std::pair<config::NodeId, std::optional<config::SettingMap>>> pending_;
};

}  // namespace iscsi::cli
