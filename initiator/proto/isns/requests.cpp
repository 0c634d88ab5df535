// Builders of DevAttrReg, DevAttrQry and DevDereg requests. See requests.hpp.
#include "proto/isns/requests.hpp"

namespace iscsi::isns {
namespace {

Message request(FunctionId function, std::uint16_t flags, std::uint16_t transaction,
                const AttributeList& attributes) {
  Message m;
  m.function = static_cast<std::uint16_t>(function);
  m.flags = static_cast<std::uint16_t>(flag::client | flags);
  m.transaction = transaction;
  for (const auto& a : attributes) append_attribute(m.payload, a);
  return m;
}

// A request we send fits one PDU: servers need not reassemble client messages (open-isns does
// not), and ours are small.
Result<Message> checked(Message m) {
  if (m.payload.size() > kMaxPduPayload) return Errc::request_too_long;
  return m;
}

}  // namespace

Result<Message> build_target_registration(const TargetEntity& entity, std::uint16_t transaction) {
  auto source = string_attribute(tag::iscsi_name, entity.target_name);
  auto eid = string_attribute(tag::entity_identifier, entity.entity_id);
  if (!source || !eid || entity.target_name.empty() || entity.entity_id.empty()) {
    return Errc::invalid_argument;
  }
  auto pg_name = string_attribute(tag::pg_iscsi_name, entity.target_name);
  AttributeList attrs{*source, *eid, null_attribute(tag::delimiter), *eid,
                      u32_attribute(tag::entity_protocol, kEntityProtocolIscsi)};
  if (entity.registration_period) {
    attrs.push_back(u32_attribute(tag::registration_period, *entity.registration_period));
  }
  std::vector<IpAddress> ips;
  for (const auto& p : entity.portals) {
    auto ip = parse_ip(p.address);
    if (!ip || p.port == 0) return Errc::invalid_argument;
    ips.push_back(*ip);
    attrs.push_back(ip_attribute(tag::portal_ip_address, *ip));
    attrs.push_back(u32_attribute(tag::portal_port, p.port));
  }
  attrs.push_back(*source);
  attrs.push_back(u32_attribute(tag::iscsi_node_type, node_type::target));
  // Portal groups last: each names a node and a portal registered above (section 6.5).
  for (std::size_t i = 0; i < entity.portals.size(); ++i) {
    attrs.push_back(*pg_name);
    attrs.push_back(ip_attribute(tag::pg_portal_ip_address, ips[i]));
    attrs.push_back(u32_attribute(tag::pg_portal_port, entity.portals[i].port));
    attrs.push_back(u32_attribute(tag::pg_tag, entity.portals[i].group_tag));
  }
  return checked(request(FunctionId::dev_attr_reg, flag::replace, transaction, attrs));
}

Result<Message> build_target_query(std::string_view initiator_name, std::uint16_t transaction) {
  auto source = string_attribute(tag::iscsi_name, initiator_name);
  if (!source || initiator_name.empty()) return Errc::invalid_argument;
  AttributeList attrs{*source, u32_attribute(tag::iscsi_node_type, node_type::target),
                      null_attribute(tag::delimiter)};
  for (std::uint32_t t : {tag::iscsi_name, tag::iscsi_node_type, tag::portal_ip_address,
                          tag::portal_port, tag::pg_iscsi_name, tag::pg_portal_ip_address,
                          tag::pg_portal_port, tag::pg_tag}) {
    attrs.push_back(null_attribute(t));
  }
  return checked(request(FunctionId::dev_attr_qry, 0, transaction, attrs));
}

Result<Message> build_entity_deregistration(std::string_view source_name,
                                            std::string_view entity_id,
                                            std::uint16_t transaction) {
  auto source = string_attribute(tag::iscsi_name, source_name);
  auto eid = string_attribute(tag::entity_identifier, entity_id);
  if (!source || !eid || source_name.empty() || entity_id.empty()) return Errc::invalid_argument;
  return checked(request(FunctionId::dev_dereg, 0, transaction,
                         {*source, null_attribute(tag::delimiter), *eid}));
}

}  // namespace iscsi::isns
