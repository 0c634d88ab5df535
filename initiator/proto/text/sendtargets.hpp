// SendTargets responses (RFC 7143 section 13.3) and TargetAddress values (section 13.8).
//
// A response is a sequence of groups: TargetName=<iSCSI name> followed by zero or more
//   TargetAddress=<domainname>[:<port>],<portal-group-tag>
// where domainname is a DNS host name, a dotted-decimal IPv4 address or a bracketed IPv6 address
// (RFC 3986 style, e.g. "[fe80::1]:3260,1"). The port defaults to 3260. A target listed with no
// address is reachable at the address of the discovery session. In a SendTargets response the
// portal group tag is required; in a login redirect (status 0x0101/0x0102) it is omitted.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/common/bytes.hpp"
#include "proto/common/result.hpp"
#include "proto/text/codec.hpp"
#include "proto/text/errors.hpp"
#include "proto/text/key_value.hpp"

namespace iscsi::text {

inline constexpr std::uint16_t kDefaultIscsiPort = 3260;

enum class HostKind : std::uint8_t { hostname, ipv4, ipv6 };

struct TargetAddress {
  std::string host;  // without brackets for IPv6 ("fe80::1%eth0" keeps its zone)
  HostKind kind = HostKind::hostname;
  std::uint16_t port = kDefaultIscsiPort;
  bool has_group_tag = false;
  std::uint16_t portal_group_tag = 0;

  friend bool operator==(const TargetAddress&, const TargetAddress&) = default;
};

// Where a TargetAddress value comes from decides whether its ",tag" is required.
enum class AddressContext : std::uint8_t {
  send_targets,  // tag required
  redirect,      // tag optional (the RFC says omitted; accepted if present)
};

Result<TargetAddress> parse_target_address(std::string_view value,
                                           AddressContext context = AddressContext::send_targets);
// "host:port,tag" with IPv6 hosts bracketed; the port is always written.
std::string format_target_address(const TargetAddress& address);

struct DiscoveredTarget {
  std::string name;
  std::vector<TargetAddress> addresses;

  friend bool operator==(const DiscoveredTarget&, const DiscoveredTarget&) = default;
};

// Where parsing stopped: index of the offending pair in the list.
struct SendTargetsDiagnostic {
  std::size_t pair_index = 0;
  std::string value;
};

Result<std::vector<DiscoveredTarget>> parse_send_targets(const KeyValueList& pairs,
                                                         SendTargetsDiagnostic* diag = nullptr);
// Decodes the complete response text (duplicate keys allowed, as the format repeats them).
Result<std::vector<DiscoveredTarget>> parse_send_targets(ByteSpan text,
                                                         SendTargetsDiagnostic* diag = nullptr);
// Options for decoding a SendTargets response text (duplicates allowed).
TextOptions send_targets_text_options();

// The response a target would send; used by the in-memory fake target and round-trip tests.
KeyValueList make_send_targets_response(const std::vector<DiscoveredTarget>& targets);

}  // namespace iscsi::text
