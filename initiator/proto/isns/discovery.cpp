// From a DevAttrQry response to the list of targets and their addresses. See discovery.hpp.
#include "proto/isns/discovery.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "proto/text/values.hpp"

namespace iscsi::isns {
namespace {

struct Node {
  std::string name;
  std::optional<std::uint32_t> type;
};

struct PortalGroup {
  std::string name;
  std::optional<IpAddress> ip;
  std::optional<std::uint16_t> port;
  std::optional<std::uint16_t> tag;  // nullopt: NULL tag, no access through this portal
  std::size_t first_attribute = 0;   // where it started, for the diagnostic
};

enum class Object : std::uint8_t { none, entity, node, portal, portal_group };

Result<std::string> read_name(const Attribute& a) {
  auto name = read_string(a);
  if (!name) return name.error();
  if (name->empty()) return Errc::string_empty;
  if (text::validate_iscsi_name(*name)) return Errc::target_name_invalid;
  return name;
}

}  // namespace

Result<std::vector<text::DiscoveredTarget>> discovered_targets(const Response& response,
                                                               Diagnostic* diag) {
  const auto& attrs = response.attributes;
  std::size_t i = 0;
  auto fail = [&](std::error_code e) -> Result<std::vector<text::DiscoveredTarget>> {
    if (diag != nullptr) {
      diag->attribute_index = i;
      diag->tag = i < attrs.size() ? attrs[i].tag : 0;
    }
    return e;
  };
  while (i < attrs.size() && attrs[i].tag != tag::delimiter) ++i;  // skip the Message Key
  if (i == attrs.size()) return fail(Errc::delimiter_missing);

  std::vector<Node> nodes;
  std::unordered_set<std::string> node_names;  // a hostile answer may list many: no quadratic scan
  std::vector<PortalGroup> groups;
  Object current = Object::none;
  for (++i; i < attrs.size(); ++i) {
    const Attribute& a = attrs[i];
    switch (a.tag) {
      case tag::delimiter:
        return fail(Errc::attribute_outside_object);
      case tag::entity_identifier:
        current = Object::entity;
        break;
      case tag::iscsi_name: {
        auto name = read_name(a);
        if (!name) return fail(name.error());
        if (!node_names.insert(*name).second) return fail(Errc::duplicate_target_name);
        nodes.push_back(Node{std::move(*name), std::nullopt});
        current = Object::node;
        break;
      }
      case tag::iscsi_node_type: {
        if (current != Object::node) return fail(Errc::attribute_outside_object);
        auto type = read_u32(a);
        if (!type) return fail(type.error());
        nodes.back().type = *type;
        break;
      }
      case tag::portal_ip_address: {
        auto ip = read_ip(a);
        if (!ip) return fail(ip.error());
        current = Object::portal;
        break;
      }
      case tag::portal_port: {
        if (current != Object::portal) return fail(Errc::attribute_outside_object);
        auto port = read_u32(a);
        if (!port) return fail(port.error());
        break;
      }
      case tag::pg_iscsi_name: {
        auto name = read_name(a);
        if (!name) return fail(name.error());
        groups.push_back(PortalGroup{std::move(*name), {}, {}, {}, i});
        current = Object::portal_group;
        break;
      }
      case tag::pg_portal_ip_address: {
        if (current != Object::portal_group) return fail(Errc::attribute_outside_object);
        auto ip = read_ip(a);
        if (!ip) return fail(ip.error());
        groups.back().ip = *ip;
        break;
      }
      case tag::pg_portal_port: {
        if (current != Object::portal_group) return fail(Errc::attribute_outside_object);
        auto port = read_u32(a);
        if (!port) return fail(port.error());
        // iSCSI runs over TCP: a UDP port (or port 0) is no address to log in to.
        if ((*port & ~kPortMask) != 0 || *port == 0) return fail(Errc::port_out_of_range);
        groups.back().port = static_cast<std::uint16_t>(*port);
        break;
      }
      case tag::pg_tag: {
        if (current != Object::portal_group) return fail(Errc::attribute_outside_object);
        if (a.value.empty()) break;  // NULL PGT: this portal gives no access to the node
        auto pgt = read_u32(a);
        if (!pgt) return fail(pgt.error());
        if (*pgt > 0xffff) return fail(Errc::group_tag_out_of_range);
        groups.back().tag = static_cast<std::uint16_t>(*pgt);
        break;
      }
      default:
        break;  // an attribute we did not ask for (index, alias, ...): not ours to judge
    }
  }
  std::unordered_map<std::string_view, std::vector<const PortalGroup*>> groups_of;
  for (const PortalGroup& g : groups) {
    if (!g.ip || !g.port) {
      i = g.first_attribute;
      return fail(Errc::portal_group_incomplete);
    }
    if (g.tag) groups_of[g.name].push_back(&g);
  }

  std::vector<text::DiscoveredTarget> out;
  for (const Node& n : nodes) {
    if (n.type && (*n.type & node_type::target) == 0) continue;
    text::DiscoveredTarget t{n.name, {}};
    const auto found = groups_of.find(n.name);
    if (found != groups_of.end()) {
      std::unordered_set<std::string> seen;  // duplicates of one address are dropped
      for (const PortalGroup* g : found->second) {
        text::TargetAddress address;
        address.host = format_ip(*g->ip);
        address.kind = is_ipv4_mapped(*g->ip) ? text::HostKind::ipv4 : text::HostKind::ipv6;
        address.port = *g->port;
        address.has_group_tag = true;
        address.portal_group_tag = *g->tag;
        if (seen.insert(text::format_target_address(address)).second) {
          t.addresses.push_back(std::move(address));
        }
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

Response make_target_query_response(const std::vector<text::DiscoveredTarget>& targets,
                                    std::uint16_t transaction) {
  Response r;
  r.function = static_cast<std::uint16_t>(FunctionId::dev_attr_qry_rsp);
  r.flags = flag::server;
  r.transaction = transaction;
  r.attributes.push_back(u32_attribute(tag::iscsi_node_type, node_type::target));
  r.attributes.push_back(null_attribute(tag::delimiter));
  auto name_attribute = [](std::uint32_t t, const std::string& s) {
    Attribute a{t, ByteVector(padded_length(s.size() + 1), 0)};
    std::copy(s.begin(), s.end(), a.value.begin());
    return a;
  };
  for (const auto& t : targets) {
    r.attributes.push_back(name_attribute(tag::iscsi_name, t.name));
    r.attributes.push_back(u32_attribute(tag::iscsi_node_type, node_type::target));
    for (const auto& address : t.addresses) {
      auto ip = parse_ip(address.host);
      const IpAddress bytes = ip ? *ip : IpAddress{};
      r.attributes.push_back(ip_attribute(tag::portal_ip_address, bytes));
      r.attributes.push_back(u32_attribute(tag::portal_port, address.port));
      r.attributes.push_back(name_attribute(tag::pg_iscsi_name, t.name));
      r.attributes.push_back(ip_attribute(tag::pg_portal_ip_address, bytes));
      r.attributes.push_back(u32_attribute(tag::pg_portal_port, address.port));
      r.attributes.push_back(u32_attribute(tag::pg_tag, address.portal_group_tag));
    }
  }
  return r;
}

}  // namespace iscsi::isns
