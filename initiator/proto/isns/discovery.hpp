// What a DevAttrQry response for targets (requests.hpp: build_target_query) means to an
// initiator: the same list a SendTargets response gives, text::DiscoveredTarget (name and
// "ip:port,tpgt" addresses), so `-t isns` prints what `-t sendtargets` prints.
//
// The operating attributes are objects, each starting with its key attribute (RFC 4171 section
// 5.6.5.2): a Storage Node starts with iSCSI Name (32), a Portal with Portal IP Address (16), a
// Portal Group with PG iSCSI Name (48), an Entity with Entity Identifier (1). A target's
// addresses are its Portal Groups: PG Portal IP Address and Port, with the PG Tag as tpgt. A PG
// whose tag is NULL (length 0) grants no access and is skipped; so are PGs of nodes that are not
// in the answer (initiators) and nodes whose type is not Target. A node with no PG is listed with
// no address. Attributes of other tags (aliases, indexes, ...) are ignored.
//
// Names from the network are checked, not passed through: a target name that is not a valid
// iqn./eui./naa. name (control characters included) fails the whole response with
// target_name_invalid, as SendTargets does; the caller never sees such a name.
#pragma once

#include <vector>

#include "proto/common/result.hpp"
#include "proto/isns/response.hpp"
#include "proto/text/sendtargets.hpp"

namespace iscsi::isns {

// Expects a successful response (status 0) to a target query; Diagnostic names the attribute
// index (counted from the first attribute after the status) where it stopped.
Result<std::vector<text::DiscoveredTarget>> discovered_targets(const Response& response,
                                                               Diagnostic* diag = nullptr);

// The response a server would give for `targets` (one entity per target): used by tests, the
// scripted server and the fuzz target's round trip.
Response make_target_query_response(const std::vector<text::DiscoveredTarget>& targets,
                                    std::uint16_t transaction);

}  // namespace iscsi::isns
