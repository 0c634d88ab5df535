// A blocking iSNS client (RFC 4171 over TCP) for discovery and for registering targets: one TCP
// connection and one request per call, on a private io_context, bounded by the call's timeout.
// The messages are built and decoded by proto/isns; this file only moves their bytes.
//
//   auto server = net::isns_server("127.0.0.1");                        // port 3205
//   net::isns_register_target(server, {"lab-t0", "iqn...:t0", {{"10.77.0.2", 3260, 1}}});
//   auto targets = net::isns_discover(server, "iqn...:host0");          // like discover()
//   net::isns_deregister_target(server, "iqn...:t0", "lab-t0");
//
// Every failure is a NetError whose what() starts with the server ("iSNS server 127.0.0.1:3205:
// connect: Connection refused", "...: iSNS status 5 (invalid query) for DevAttrQry"): codes
// connect_failed, isns_timeout, isns_rejected (the server's status), isns_protocol_error (its
// answer was malformed, e.g. a hostile target name) and invalid_argument (what we were asked to
// send cannot be sent).
#pragma once

#include <chrono>
#include <string_view>
#include <vector>

#include "net/initiator.hpp"
#include "proto/isns/requests.hpp"
#include "proto/isns/response.hpp"
#include "proto/text/sendtargets.hpp"

namespace iscsi::net {

inline constexpr std::chrono::milliseconds kIsnsDefaultTimeout{10'000};

// Portal::parse with iSNS's port (3205) when the text names none: "127.0.0.1", "[::1]:3206".
Portal isns_server(std::string_view text);

// Every target the server shows to `initiator_name` (DevAttrQry on Node Type Target), with
// the addresses of its portal groups: the same list SendTargets gives.
std::vector<text::DiscoveredTarget> isns_discover(
    const Portal& server, std::string_view initiator_name,
    std::chrono::milliseconds timeout = kIsnsDefaultTimeout);

// Registers (or replaces) the entity: afterwards it holds exactly entity.portals.
void isns_register_target(const Portal& server, const isns::TargetEntity& entity,
                          std::chrono::milliseconds timeout = kIsnsDefaultTimeout);

// Removes the entity and its target, portals and portal groups. Source: the target's name.
void isns_deregister_target(const Portal& server, std::string_view target_name,
                            std::string_view entity_id,
                            std::chrono::milliseconds timeout = kIsnsDefaultTimeout);

// One request and its response, for callers that build other requests (tests do). Throws as
// above for transport and framing failures; the response's status is left to the caller.
isns::Response isns_call(const Portal& server, const isns::Message& request,
                         std::chrono::milliseconds timeout = kIsnsDefaultTimeout);

// A Transaction ID for a new request (process-wide counter).
std::uint16_t isns_next_transaction() noexcept;

}  // namespace iscsi::net
