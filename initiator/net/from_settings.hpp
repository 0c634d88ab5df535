// open-iscsi's settings (initiator/config's NodeSettings / DiscoverySettings, or key/value pairs
// such as the Python API's settings dict) onto the engine's SessionOptions / DiscoveryOptions.
//
// Every key with a counterpart in the engine maps field by field. Keys the table knows but the
// engine does not act on (node.session.scan, node.conn[0].tcp.window_size, iface.hwaddress,
// offload-HBA keys, ...) are refused when given explicitly, so a setting never silently does
// nothing; identity keys (node.name, node.conn[0].address) are the arguments of login() instead.
//
//   std::vector<config::Override> kv = {{"node.session.auth.chap_algs", "MD5"}};
//   auto opts = net::session_options_from_settings(kv);   // Checked<SessionOptions>
//   if (!opts) throw std::invalid_argument(opts.message());  // names the key, never a secret
#pragma once

#include <span>
#include <string_view>

#include "config/node_settings.hpp"
#include "config/settings.hpp"
#include "net/options.hpp"

namespace iscsi::net {

// The typed mappings; total (every field with a counterpart is copied).
[[nodiscard]] SessionOptions session_options_from(const config::NodeSettings& settings);
[[nodiscard]] DiscoveryOptions discovery_options_from(const config::DiscoverySettings& settings);

// True for the keys the engine acts on in a normal session (node.* and iface.*) or in a
// discovery session (discovery.sendtargets.*). Besides the table's keys, both accept
// initiatorname.iscsi's "InitiatorName" and "InitiatorAlias"; discovery also accepts
// "iface.initiatorname" and "iface.isid".
bool session_key_supported(std::string_view key) noexcept;
bool discovery_key_supported(std::string_view key) noexcept;

// Key/value pairs applied over open-iscsi's defaults (a repeated key: the last wins), checked
// value by value and then as a whole, then mapped. Every problem is reported, each naming its
// key: unknown (with "did you mean"), of another scope, not supported by the engine, invalid
// value, inconsistent values. Secret values never appear in the messages.
// `initiator_name` is used when neither iface.initiatorname nor InitiatorName is given (empty:
// SessionOptions' / DiscoveryOptions' default name).
config::Checked<SessionOptions> session_options_from_settings(
    std::span<const config::Override> settings,
    std::string_view initiator_name = {});
config::Checked<DiscoveryOptions> discovery_options_from_settings(
    std::span<const config::Override> settings,
    std::string_view initiator_name = {});

}  // namespace iscsi::net
