// The one exception type of the command-line front ends: a usage or input error, already in
// words for the user ("-m: expected a whole number from 1 to 65535, got 'x'").
#pragma once

#include <stdexcept>

namespace iscsi::cli {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace iscsi::cli
