// Parsing of libiscsi-style iscsi:// URLs (see iscsi_url.hpp).
#include "cli/iscsi_url.hpp"

#include <charconv>

#include "cli/cli_error.hpp"

namespace iscsi::cli {

namespace {

constexpr std::string_view kScheme = "iscsi://";
constexpr std::string_view kForm =
    "iscsi://[<user>[%<password>]@]<host>[:<port>]/<target-iqn>/<lun>";

[[noreturn]] void fail(const std::string& what) {
  throw UsageError("iSCSI URL: " + what + " (expected " + std::string(kForm) + ")");
}

template <class T>
bool parse_number(std::string_view s, T max, T& out) {
  if (s.empty()) return false;
  unsigned long long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v > max) return false;
  out = static_cast<T>(v);
  return true;
}

// libiscsi's spellings of the HeaderDigest offer, mapped to open-iscsi's.
std::string header_digest_setting(std::string_view v) {
  if (v == "none") return "None";
  if (v == "crc32c") return "CRC32C";
  if (v == "none-crc32c") return "None,CRC32C";
  if (v == "crc32c-none") return "CRC32C,None";
  fail("header_digest must be none, crc32c, none-crc32c or crc32c-none, not '" + std::string(v) +
       "'");
}

void apply_query(IscsiUrl& url, std::string_view query) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) fail("query argument '" + std::string(pair) + "' has no '='");
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value = pair.substr(eq + 1);
    if (key == "header_digest") {
      url.header_digest = header_digest_setting(value);
    } else if (key == "target_user") {
      url.target_user = std::string(value);
    } else if (key == "target_password") {
      url.target_password = auth::Secret(value);
    } else {
      fail("unknown query argument '" + std::string(key) +
           "' (known: header_digest, target_user, target_password)");
    }
  }
}

}  // namespace

std::string IscsiUrl::portal() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string IscsiUrl::redacted() const {
  std::string s(kScheme);
  if (!user.empty()) s += user + (password.empty() ? "@" : "%********@");
  return s + portal() + "/" + target + "/" + std::to_string(lun);
}

IscsiUrl parse_iscsi_url(std::string_view text) {
  if (!text.starts_with(kScheme))
    fail("'" + std::string(text.substr(0, 16)) + "...' does not start with iscsi://");
  std::string_view rest = text.substr(kScheme.size());
  IscsiUrl url;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    apply_query(url, rest.substr(q + 1));
    rest = rest.substr(0, q);
  }
  // user[%password]@ — the last '@' before the first '/' ends the credentials.
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view cred = authority.substr(0, at);
    const auto pct = cred.find('%');
    url.user = std::string(cred.substr(0, pct));
    if (pct != std::string_view::npos) url.password = auth::Secret(cred.substr(pct + 1));
    if (url.user.empty()) fail("empty user name before '@'");
    rest = rest.substr(at + 1);
  }
  // host[:port], the host possibly a bracketed IPv6 address.
  std::string_view hostport = rest.substr(0, rest.find('/'));
  if (hostport.empty()) fail("missing host");
  std::string_view port_text;
  if (hostport.front() == '[') {
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) fail("unterminated '[' in an IPv6 address");
    url.host = std::string(hostport.substr(1, close - 1));
    // libiscsi hands what is inside the brackets to getaddrinfo, which knows no name or address
    // with a bracket in it; refuse it now, with the reason, rather than at connect time. (Kept,
    // "[[0]" became the host "[0", printed as a portal "[0:32" that did not parse back.)
    if (url.host.find('[') != std::string::npos) {
      fail("a bracketed IPv6 address cannot contain '[' (nested brackets)");
    }
    if (hostport.size() > close + 1 && hostport[close + 1] == ']') {
      fail("a bracketed IPv6 address cannot contain ']' (nested brackets)");
    }
    const std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') fail("unexpected '" + std::string(after) + "' after ']'");
      port_text = after.substr(1);
      if (port_text.empty()) fail("empty port after ':'");
    }
  } else {
    const auto colon = hostport.find(':');
    url.host = std::string(hostport.substr(0, colon));
    if (url.host.find_first_of("[]") != std::string::npos) {
      fail("a host name cannot contain '[' or ']' (only a whole IPv6 address is bracketed)");
    }
    if (colon != std::string_view::npos) {
      port_text = hostport.substr(colon + 1);
      if (port_text.empty()) fail("empty port after ':'");
    }
  }
  if (url.host.empty()) fail("missing host");
  if (!port_text.empty() &&
      (!parse_number<std::uint16_t>(port_text, 65535, url.port) || url.port == 0)) {
    fail("port must be a number from 1 to 65535, not '" + std::string(port_text) + "'");
  }
  rest = rest.substr(hostport.size());
  if (rest.empty() || rest == "/") fail("missing target name after the portal");
  rest = rest.substr(1);
  const auto lun_slash = rest.rfind('/');
  if (lun_slash == std::string_view::npos) fail("missing LUN after the target name");
  url.target = std::string(rest.substr(0, lun_slash));
  const std::string_view lun_text = rest.substr(lun_slash + 1);
  if (url.target.empty()) fail("missing target name after the portal");
  if (url.target.find('/') != std::string::npos) fail("a target name cannot contain '/'");
  if (lun_text.empty()) fail("missing LUN after the target name");
  if (!parse_number<std::uint16_t>(lun_text, 16383, url.lun)) {
    fail("LUN must be a number from 0 to 16383, not '" + std::string(lun_text) + "'");
  }
  return url;
}

}  // namespace iscsi::cli
