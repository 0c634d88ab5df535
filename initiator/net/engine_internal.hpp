// Small helpers the engine's files share (not part of engine.hpp's interface).
#pragma once

#include <chrono>
#include <exception>
#include <string>

#include "net/errors.hpp"
#include "net/options.hpp"

namespace iscsi::net::detail {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

inline std::exception_ptr make_error(Errc code, const std::string& detail) {
  return std::make_exception_ptr(NetError(code, detail));
}

inline std::string secs(Seconds s) { return std::to_string(s.count()) + " s"; }

}  // namespace iscsi::net::detail
