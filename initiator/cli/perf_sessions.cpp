// Logging many sessions in (see perf_sessions.hpp).
#include "cli/perf_sessions.hpp"

#include <sys/resource.h>

#include <chrono>
#include <deque>
#include <exception>
#include <future>
#include <random>
#include <utility>

namespace iscsi::cli {

ManySessions login_sessions(net::Initiator& initiator, const std::vector<IscsiUrl>& urls,
                            std::uint32_t per_url, std::uint32_t concurrency,
                            const std::function<net::SessionOptions(const IscsiUrl&)>& options) {
  ManySessions out;
  const std::size_t total = std::size_t{per_url} * urls.size();
  const std::uint32_t random24 = std::random_device{}() & 0xFFFFFFu;
  struct Pending {
    std::size_t index;
    pdu::Isid isid;
    std::future<std::shared_ptr<net::Session>> session;
  };
  std::deque<Pending> pending;  // started, oldest first
  std::size_t next = 0;
  const auto t0 = std::chrono::steady_clock::now();
  while (next < total || !pending.empty()) {
    while (next < total && pending.size() < concurrency && out.failures.empty()) {
      const IscsiUrl& u = urls[next % urls.size()];
      net::SessionOptions o = options(u);
      // The qualifier is the index: unique within the run (at most 65535 sessions, perf_options).
      o.isid = pdu::Isid::random_format(random24, static_cast<std::uint16_t>(next));
      const pdu::Isid isid = *o.isid;
      pending.push_back(
          {next, isid, initiator.login_async(u.target, net::Portal{u.host, u.port}, o)});
      ++next;
    }
    if (pending.empty()) break;
    Pending p = std::move(pending.front());
    pending.pop_front();
    const std::size_t url = p.index % urls.size();
    try {
      out.sessions.push_back(p.session.get());
      out.url_of.push_back(url);
    } catch (const std::exception& e) {
      out.failures.push_back("session " + std::to_string(p.index + 1) + " of " +
                             std::to_string(total) + " (" + urls[url].redacted() + ", ISID " +
                             pdu::to_string(p.isid) + "): " + e.what());
    }
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.not_started = total - next;
  return out;
}

std::string raise_fd_limit(std::size_t sessions) {
  // A socket per session, and a few dozen for everything else (io_context, stdio, libraries).
  const rlim_t need = static_cast<rlim_t>(sessions) + 64;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return "";
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur >= need) return "";
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < need) {
    return std::to_string(sessions) + " sessions need about " + std::to_string(need) +
           " file descriptors, but the hard RLIMIT_NOFILE is " + std::to_string(lim.rlim_max) +
           " (raise it: ulimit -Hn / prlimit)";
  }
  lim.rlim_cur = need;
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0) return "setrlimit(RLIMIT_NOFILE) failed";
  return "";
}

}  // namespace iscsi::cli
