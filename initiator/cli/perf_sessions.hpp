// lab-iscsi-perf --sessions: many sessions from one net::Initiator. Logs N sessions in to each
// URL with a bounded number of logins in progress at once, each session with its own ISID
// (random format: 24 random bits drawn once per run, the session's index as the qualifier), so
// a failed login is named by its URL and ISID; and times the logins.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli/iscsi_url.hpp"
#include "net/initiator.hpp"

namespace iscsi::cli {

struct ManySessions {
  std::vector<std::shared_ptr<net::Session>> sessions;  // those logged in, in index order
  std::vector<std::size_t> url_of;                      // per session: index into the URLs
  // One line per failed login: "session 3 of 16 (iscsi://..., ISID 0x...): <why>".
  std::vector<std::string> failures;
  std::size_t not_started = 0;  // logins never started because an earlier one failed
  double seconds = 0;           // from the first login started to the last one finished
};

// The sessions are spread over `urls` in turn (session i to URL i % urls.size()). After the
// first failure no further login starts; those in progress finish and are reported.
// `options(url)` gives each session's options; the ISID is set here.
ManySessions login_sessions(net::Initiator& initiator, const std::vector<IscsiUrl>& urls,
                            std::uint32_t per_url, std::uint32_t concurrency,
                            const std::function<net::SessionOptions(const IscsiUrl&)>& options);

// Each session holds a socket: raises the soft RLIMIT_NOFILE to cover `sessions` of them
// (plus a margin) when the hard limit allows. Returns "" or why it cannot.
std::string raise_fd_limit(std::size_t sessions);

}  // namespace iscsi::cli
