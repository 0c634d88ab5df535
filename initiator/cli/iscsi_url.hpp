// libiscsi's URL form, so scripts can hand the same argument to libiscsi's tools and ours:
//
//   iscsi://[<user>[%<password>]@]<host>[:<port>]/<target-iqn>/<lun>[?<key>=<value>&...]
//
// <host> is a name, an IPv4 address or a bracketed IPv6 address ("[::1]"); the port defaults
// to 3260. Query keys (as libiscsi): header_digest=none|crc32c|none-crc32c|crc32c-none,
// target_user and target_password (mutual CHAP). Percent-escapes (%XX) are not decoded, as in
// libiscsi: '%' separates the user from the password.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/auth/secret.hpp"

namespace iscsi::cli {

struct IscsiUrl {
  std::string user;         // empty: no CHAP
  auth::Secret password;    // never printed
  std::string target_user;  // mutual CHAP
  auth::Secret target_password;
  std::string host;  // without brackets
  std::uint16_t port = 3260;
  std::string target;  // the target's IQN
  std::uint16_t lun = 0;
  // HeaderDigest offer in open-iscsi's spelling ("None,CRC32C"); empty = the tool's default.
  std::string header_digest;

  std::string portal() const;  // "host:port", IPv6 bracketed
  // The URL with the password (if any) left out, for messages.
  std::string redacted() const;
};

// Throws UsageError naming what is wrong ("iSCSI URL: missing LUN after the target name").
IscsiUrl parse_iscsi_url(std::string_view text);

}  // namespace iscsi::cli
