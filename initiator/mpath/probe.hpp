// What a multipath device learns about a path before using it, with blocking calls on the
// path's session (never from an engine callback): standard INQUIRY (TPGS), the VPD pages 0x00,
// 0x80 and 0x83 (identity, relative target port, target port group), READ CAPACITY, and
// REPORT TARGET PORT GROUPS when the LU has ALUA.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "mpath/identity.hpp"
#include "mpath/prio.hpp"
#include "net/initiator.hpp"
#include "proto/scsi/alua.hpp"

namespace iscsi::mpath {

struct PathProbe {
  std::optional<LuIdentity> identity;  // nullopt: the LU names itself in no way we use
  PathAlua alua;
  std::optional<scsi::TargetPortGroups> groups;  // when ALUA and the RTPG answer decoded
  net::Capacity capacity;
};

// Throws net::NetError when a command fails (the path cannot be used).
PathProbe probe_path(net::Session& session, std::uint16_t lun);

// The REPORT TARGET PORT GROUPS command the checker sends (allocation length 4096, extended
// header).
net::ScsiCommand rtpg_command(std::uint16_t lun);
net::ScsiCommand tur_command(std::uint16_t lun);

}  // namespace iscsi::mpath
