// What the engine's tests share: waiting for a condition with a bound, the session's event log
// in words for failure messages, and the options of a test session (no NOP pings, no login
// retries, a 5 s login timeout, DefaultTime2Wait 0 so relogins are not slowed down).
#pragma once

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "net/initiator.hpp"

namespace iscsi::net::test {

// Polls `pred` every 10 ms until it holds or `limit` passes; returns its last value.
template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return pred();
}

// Answers whatever `target` (a ScriptedTarget holding commands) holds until every one of
// `futures` is ready; each answer lets a waiting command in. False if `limit` passed first.
template <class Target, class Futures>
bool release_until_done(Target& target, Futures& futures, std::chrono::milliseconds limit) {
  return wait_for(
      [&] {
        target.release_held();
        for (auto& f : futures) {
          if (f.wait_for(std::chrono::seconds{0}) != std::future_status::ready) return false;
        }
        return true;
      },
      limit);
}

inline std::string event_log(const Session& s) {
  std::string out;
  for (const auto& e : s.events()) {
    out += "\n  " + std::string(to_string(e.type)) + " " + std::string(kernel_name(e.conn_error)) +
           " " + e.detail;
  }
  return out;
}

// An event of type `t` whose detail contains `text` (any detail when empty).
inline bool has_event(const Session& s, EventType t, const std::string& text = {}) {
  for (const auto& e : s.events()) {
    if (e.type == t && e.detail.find(text) != std::string::npos) return true;
  }
  return false;
}

inline SessionOptions quiet_options() {
  SessionOptions o;
  o.login_timeout = Seconds{5};
  o.initial_login_retry_max = 0;
  o.noop_out_interval = Seconds{0};
  o.iscsi.default_time2wait = 0;
  return o;
}

}  // namespace iscsi::net::test
