// The iSNSP requests an iSCSI lab needs (RFC 4171 section 5.6.5): register a target entity with
// its portals and portal groups (DevAttrReg), ask for every target node with its portals and
// portal groups as an initiator does for discovery (DevAttrQry), and deregister an entity
// (DevDereg). Each builds a Message (codec.hpp); nothing is sent here.
//
// A request's payload is: Source attribute, Message Key attributes, Delimiter, Operating
// attributes (section 5.5).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/common/result.hpp"
#include "proto/isns/attributes.hpp"
#include "proto/isns/codec.hpp"

namespace iscsi::isns {

// One portal of a target and the portal group tag the target is reachable through it with.
struct PortalSpec {
  std::string address;  // "192.0.2.1" or "2001:db8::1"
  std::uint16_t port = 3260;
  std::uint16_t group_tag = 1;

  friend bool operator==(const PortalSpec&, const PortalSpec&) = default;
};

// A Network Entity holding one iSCSI target node.
struct TargetEntity {
  std::string entity_id;    // Entity Identifier, e.g. "lab-<target>"; unique on the server
  std::string target_name;  // the target's iSCSI name
  std::vector<PortalSpec> portals;
  // Registration Period in seconds (section 6.2.6); absent: the server's default (isnsd: 1 h).
  // An entity not registered again within it is removed by the server.
  std::optional<std::uint32_t> registration_period;
};

// DevAttrReg with the Replace flag and the entity as Message Key: the entity ends up holding
// exactly these portals and portal groups, whether it existed before or not (re-registering
// is how a portal change reaches the server). Source: the target's name.
Result<Message> build_target_registration(const TargetEntity& entity, std::uint16_t transaction);

// DevAttrQry for discovery: Source = the initiator's name, Message Key = iSCSI Node Type Target,
// asking for name, node type, portals and portal groups of every visible target.
Result<Message> build_target_query(std::string_view initiator_name, std::uint16_t transaction);

// DevDereg of a whole entity (its nodes, portals and portal groups go with it). Source: a node of
// that entity (the target's name) or a control node.
Result<Message> build_entity_deregistration(std::string_view source_name,
                                            std::string_view entity_id,
                                            std::uint16_t transaction);

// The Function ID a response to `request_function` carries.
constexpr std::uint16_t response_function(std::uint16_t request_function) noexcept {
  return static_cast<std::uint16_t>(request_function | kResponseBit);
}

}  // namespace iscsi::isns
