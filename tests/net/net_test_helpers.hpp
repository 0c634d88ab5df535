// What the engine's tests share: waiting for a condition with a bound, the slack every timer
// test adds to its upper bounds, reporting a measured interval, the session's event log in words
// for failure messages, and the options of a test session (no NOP pings, no login retries, a 5 s
// login timeout, DefaultTime2Wait 0 so relogins are not slowed down).
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <future>
#include <iostream>
#include <string>
#include <thread>

#include "net/initiator.hpp"

namespace iscsi::net::test {

// Added to the upper bound a timer implies (noop_out_interval + noop_out_timeout,
// replacement_timeout, login_timeout, Time2Wait, a TMF timeout): how late the engine may act on
// a loaded 2-core CI machine (ctest -j2, ASan, a job beside it). Lower bounds get none: they
// are what the settings imply, as a timer never fires early. A test that tells two settings
// apart by time static_asserts that the slack stays below their difference.
inline constexpr std::chrono::seconds kSlack{3};

// Prints a measured interval (and records it as the test property <name>_ms), so that a run
// shows how close it came to its bounds.
inline void report(const std::string& name, std::chrono::steady_clock::duration measured) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(measured).count();
  std::cout << "[ timing   ] " << name << ": " << ms << " ms\n";
  std::string key = name + "_ms";  // an XML attribute name: letters, digits, '_' and '.'
  for (auto& c : key) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.') c = '_';
  }
  ::testing::Test::RecordProperty(key, std::to_string(ms));
}

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
