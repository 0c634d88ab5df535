// The operational keys a leading login offers, built from the session's options, and what this
// initiator implements. A setting that asks for more than that (node.session.iscsi.ERL above 1,
// MaxConnections above 1) is offered at the implemented level instead, and the offer says so,
// so that a login never negotiates an ability the initiator does not have.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "net/options.hpp"
#include "proto/recovery/policy.hpp"
#include "proto/text/key_value.hpp"

namespace iscsi::net {

// Several connections per session are not written yet (issue 16); ERL 2 is, for one connection
// per session: these are what a login may offer today. The level is the recovery policy's.
inline constexpr std::uint8_t kImplementedErrorRecoveryLevel =
    recovery::Policy::kHighestImplemented;
inline constexpr std::uint32_t kImplementedMaxConnections = 1;

struct OperationalOffer {
  text::KeyValueList keys;
  // One line per setting that asked for more than is implemented, in words, for the log.
  std::vector<std::string> capped;
};

// The keys of a normal session's (normal=true) or a discovery session's login.
OperationalOffer operational_offer(const IscsiParamOptions& p, bool normal);

}  // namespace iscsi::net
