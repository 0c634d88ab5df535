// SendTargets response and TargetAddress parsing (RFC 7143 sections 13.3, 13.8). See
// sendtargets.hpp.
#include "proto/text/sendtargets.hpp"

#include <algorithm>
#include <unordered_set>

#include "proto/text/values.hpp"

namespace iscsi::text {
namespace {

// The two keys of a SendTargets response. (The negotiation table in login/keys.cpp describes
// them too; the text area cannot depend on login, so the spelling is repeated here once.)
constexpr std::string_view kTargetNameKey = "TargetName";
constexpr std::string_view kTargetAddressKey = "TargetAddress";

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr bool is_alnum(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool valid_ipv4(std::string_view s) noexcept {
  int parts = 0;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = s.find('.', start);
    std::string_view part = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (part.empty() || part.size() > 3) return false;
    unsigned v = 0;
    for (char c : part) {
      if (!is_digit(c)) return false;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts == 4;
}

// Counts the 16-bit groups of one side of "::" (an IPv4 tail counts as two); -1 when malformed.
int ipv6_groups(std::string_view s, bool ipv4_tail_allowed) noexcept {
  if (s.empty()) return 0;
  int groups = 0;
  std::size_t start = 0;
  while (true) {
    std::size_t colon = s.find(':', start);
    std::string_view g = s.substr(start, colon == std::string_view::npos ? s.npos : colon - start);
    if (colon == std::string_view::npos && ipv4_tail_allowed &&
        g.find('.') != std::string_view::npos) {
      if (!valid_ipv4(g)) return -1;
      return groups + 2;
    }
    if (g.empty() || g.size() > 4) return -1;
    for (char c : g) {
      if (!is_hex(c)) return -1;
    }
    ++groups;
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  return groups;
}

bool valid_ipv6(std::string_view s) noexcept {
  std::size_t pct = s.find('%');
  if (pct != std::string_view::npos) {
    std::string_view zone = s.substr(pct + 1);
    if (zone.empty()) return false;
    for (char c : zone) {
      if (!is_alnum(c) && c != '-' && c != '.' && c != '_' && c != '~') return false;
    }
    s = s.substr(0, pct);
  }
  if (s.empty()) return false;
  std::size_t dc = s.find("::");
  if (dc == std::string_view::npos) return ipv6_groups(s, true) == 8;
  if (s.find("::", dc + 1) != std::string_view::npos) return false;
  int left = ipv6_groups(s.substr(0, dc), false);
  int right = ipv6_groups(s.substr(dc + 2), true);
  return left >= 0 && right >= 0 && left + right <= 7;
}

bool valid_hostname(std::string_view s) noexcept {
  if (s.empty() || s.size() > 253) return false;
  if (s.back() == '.') s.remove_suffix(1);  // fully qualified form
  std::size_t start = 0;
  while (true) {
    std::size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!is_alnum(c) && c != '-' && c != '_') return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool all_digits_and_dots(std::string_view s) noexcept {
  for (char c : s) {
    if (!is_digit(c) && c != '.') return false;
  }
  return true;
}

}  // namespace

Result<TargetAddress> parse_target_address(std::string_view value, AddressContext context) {
  if (value.empty()) return Errc::target_address_empty;
  TargetAddress out;
  std::string_view rest;
  if (value.front() == '[') {
    std::size_t close = value.find(']');
    if (close == std::string_view::npos) return Errc::target_address_bad_ipv6;
    std::string_view host = value.substr(1, close - 1);
    if (!valid_ipv6(host)) return Errc::target_address_bad_ipv6;
    out.host = std::string(host);
    out.kind = HostKind::ipv6;
    rest = value.substr(close + 1);
  } else {
    std::size_t end = value.find_first_of(":,");
    std::string_view host = value.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : value.substr(end);
    // An unbracketed IPv6 address: its colons cannot be told from the port separator.
    std::size_t comma = value.find(',');
    std::string_view before_tag = value.substr(0, comma);
    if (std::count(before_tag.begin(), before_tag.end(), ':') > 1) {
      return Errc::target_address_bad_ipv6;
    }
    if (host.empty()) return Errc::target_address_bad_host;
    if (all_digits_and_dots(host)) {
      if (!valid_ipv4(host)) return Errc::target_address_bad_ipv4;
      out.kind = HostKind::ipv4;
    } else {
      if (!valid_hostname(host)) return Errc::target_address_bad_host;
      out.kind = HostKind::hostname;
    }
    out.host = std::string(host);
  }

  if (!rest.empty() && rest.front() == ':') {
    std::size_t comma = rest.find(',');
    std::string_view port = rest.substr(1, comma == std::string_view::npos ? rest.npos : comma - 1);
    if (port.empty() || port.size() > 5) return Errc::target_address_bad_port;
    unsigned v = 0;
    for (char c : port) {
      if (!is_digit(c)) return Errc::target_address_bad_port;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v == 0 || v > 65535) return Errc::target_address_bad_port;
    out.port = static_cast<std::uint16_t>(v);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma);
  }

  if (rest.empty()) {
    if (context == AddressContext::send_targets) return Errc::target_address_missing_group_tag;
    return out;
  }
  if (rest.front() != ',') {
    // Something other than ":port" or ",tag" follows the host (e.g. "[::1]x").
    return out.kind == HostKind::ipv6 ? Errc::target_address_bad_ipv6
                                      : Errc::target_address_bad_host;
  }
  auto tag = parse_numeric(rest.substr(1));
  if (!tag || *tag > 65535) return Errc::target_address_bad_group_tag;
  out.has_group_tag = true;
  out.portal_group_tag = static_cast<std::uint16_t>(*tag);
  return out;
}

std::string format_target_address(const TargetAddress& address) {
  std::string out;
  if (address.kind == HostKind::ipv6) {
    out.push_back('[');
    out.append(address.host);
    out.push_back(']');
  } else {
    out.append(address.host);
  }
  out.push_back(':');
  out.append(std::to_string(address.port));
  if (address.has_group_tag) {
    out.push_back(',');
    out.append(std::to_string(address.portal_group_tag));
  }
  return out;
}

Result<std::vector<DiscoveredTarget>> parse_send_targets(const KeyValueList& pairs,
                                                         SendTargetsDiagnostic* diag) {
  std::vector<DiscoveredTarget> out;
  std::unordered_set<std::string_view> names;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const KeyValue& kv = pairs[i];
    auto fail = [&](Errc e) -> Result<std::vector<DiscoveredTarget>> {
      if (diag != nullptr) {
        diag->pair_index = i;
        diag->value = kv.value;
      }
      return e;
    };
    if (kv.key == kTargetNameKey) {
      if (validate_iscsi_name(kv.value)) return fail(Errc::target_name_invalid);
      if (!names.insert(kv.value).second) return fail(Errc::duplicate_target_name);
      out.push_back(DiscoveredTarget{kv.value, {}});
    } else if (kv.key == kTargetAddressKey) {
      if (out.empty()) return fail(Errc::target_address_before_target_name);
      auto address = parse_target_address(kv.value, AddressContext::send_targets);
      if (!address) return fail(static_cast<Errc>(address.error().value()));
      out.back().addresses.push_back(std::move(*address));
    } else {
      return fail(Errc::unexpected_key);
    }
  }
  return out;
}

TextOptions send_targets_text_options() {
  TextOptions options;
  options.allow_duplicate_keys = true;
  return options;
}

Result<std::vector<DiscoveredTarget>> parse_send_targets(ByteSpan text,
                                                         SendTargetsDiagnostic* diag) {
  auto pairs = decode(text, send_targets_text_options());
  if (!pairs) return pairs.error();
  return parse_send_targets(*pairs, diag);
}

KeyValueList make_send_targets_response(const std::vector<DiscoveredTarget>& targets) {
  KeyValueList out;
  for (const DiscoveredTarget& t : targets) {
    out.push_back(KeyValue{std::string(kTargetNameKey), t.name});
    for (const TargetAddress& a : t.addresses) {
      out.push_back(KeyValue{std::string(kTargetAddressKey), format_target_address(a)});
    }
  }
  return out;
}

}  // namespace iscsi::text
