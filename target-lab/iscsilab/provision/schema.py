"""The `lab:` block as a JSON Schema: the one description of a lab, used by lab files
(provision/config.py) and by scenario files (scenario/schema.py embeds it as it is).

The schema checks shapes, types, ranges and spellings; config.py then checks what a schema
cannot say (a portal's NIC exists, a mapped LUN exists, secrets' lengths, the guard's attribute
needs the guard module) and builds the dataclasses. Every `description` ends up in the
reference page (scenarios/REFERENCE.md, made by `iscsilab schema --markdown`).
"""
from __future__ import annotations

IQN_PATTERN = r"^iqn\.\d{4}-\d{2}\.[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\S+)?$"
SIZE_PATTERN = r"^\s*\d+(\.\d+)?\s*([KMGTkmgt]i?[Bb]?|[Bb])?\s*$"
BACKSTORE_TYPES = ["ramdisk", "fileio", "block", "pscsi"]
GUARDS = ["none", "kernel", "nftables"]

SIZE = {
    "description": "A size in bytes: a number, or text like `64MiB`, `1G`, `4096`.",
    "x-expected": "a size such as 64MiB, 1G or 4096",
    "anyOf": [{"type": "integer", "minimum": 0},
              {"type": "string", "pattern": SIZE_PATTERN}],
}

IQN = {
    "type": "string", "pattern": IQN_PATTERN,
    "x-expected": "an IQN like iqn.2026-11.org.example:t0 (rtslib-fb wants a reversed domain "
                  "with at least two parts)",
    "description": "An iSCSI qualified name, `iqn.YYYY-MM.reversed.domain[:suffix]`.",
}

SETTING_VALUE = {"type": ["string", "integer", "boolean", "number"],
                 "description": "configfs takes text; true/false become 1/0."}

AUTH = {
    "title": "auth",
    "type": "object",
    "description": "CHAP credentials. Secrets are 12 to 255 characters and never printed.",
    "additionalProperties": False,
    "required": ["userid", "password"],
    "properties": {
        "userid": {"type": ["string", "integer"], "description": "CHAP name the initiator sends."},
        "password": {"type": ["string", "integer"], "x-secret": True,
                     "description": "CHAP secret (12-255 characters)."},
        "mutual_userid": {"type": ["string", "integer"],
                          "description": "Mutual CHAP: the name the target answers with."},
        "mutual_password": {"type": ["string", "integer"], "x-secret": True,
                            "description": "Mutual CHAP secret; must differ from `password`."},
    },
}

ALUA_GROUP = {
    "title": "alua_group",
    "type": "object",
    "description": "An ALUA target port group of the backstore (LIO keeps them per device).",
    "additionalProperties": False,
    "required": ["name", "id"],
    "properties": {
        "name": {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,32}$",
                 "x-expected": "a name of letters, digits, '_' and '-'"},
        "id": {"type": "integer", "minimum": 1, "maximum": 65535,
               "description": "The target port group id RTPG reports."},
        "state": {"enum": ["active/optimized", "active/non-optimized", "standby", "unavailable",
                           "offline", "transitioning"],
                  "description": "Asymmetric access state at boot (default active/optimized)."},
        "preferred": {"type": "boolean", "description": "The PREF bit RTPG reports."},
    },
}

BACKSTORE_OBJECT = {
    "title": "backstore",
    "type": "object",
    "description": "The storage behind a LUN.",
    "additionalProperties": False,
    "required": ["type"],
    "properties": {
        "type": {"enum": BACKSTORE_TYPES,
                 "description": "`block` (a loop device: grows live), `fileio`, `ramdisk` (rd_mcp), "
                                "`pscsi` (a QEMU virtio-scsi disk passed through)."},
        "size": {**SIZE, "description": "At least 1MiB, a multiple of 512 (default 64MiB)."},
        "name": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]{1,64}$",
                 "x-expected": "a name of letters, digits, '_', '.', '-'",
                 "description": "Backstore name (default `<target suffix>-tpg<tag>-lun<n>`)."},
        "write_back": {"type": "boolean", "description": "Write-back caching (fileio, block)."},
        "alua_groups": {"type": "array", "items": ALUA_GROUP,
                        "description": "ALUA target port groups of this backstore; a LUN joins "
                                       "one with `alua_group:` (LUNs without one are in LIO's "
                                       "default group)."},
    },
}

BACKSTORE = {
    "title": "backstore",
    "description": "The storage behind a LUN: a mapping that defines it, or the name of a "
                   "backstore another LUN of the lab defines (the same LU through another TPG: "
                   "paths for multipath, ports of ALUA groups).",
    "x-expected": "a backstore mapping, or the name of another LUN's backstore",
    "anyOf": [{"type": "string", "pattern": r"^[A-Za-z0-9_.-]{1,64}$"}, BACKSTORE_OBJECT],
}

LUN = {
    "title": "lun",
    "type": "object",
    "additionalProperties": False,
    "required": ["lun", "backstore"],
    "properties": {
        "lun": {"type": "integer", "minimum": 0, "maximum": 255, "description": "LUN number."},
        "backstore": BACKSTORE,
        "alua_group": {"type": "string", "description": "The backstore's ALUA group this LUN "
                                                        "(target port) belongs to."},
    },
}

MAPPED_LUN = {
    "title": "mapped_lun",
    "type": "object",
    "additionalProperties": False,
    "required": ["lun"],
    "properties": {
        "lun": {"type": "integer", "minimum": 0, "maximum": 255,
                "description": "The LUN number this initiator sees."},
        "tpg_lun": {"type": "integer", "minimum": 0, "maximum": 255,
                    "description": "The TPG's LUN it maps to (default: the same number)."},
        "write_protect": {"type": "boolean", "description": "Read-only for this initiator."},
    },
}

ACL = {
    "title": "acl",
    "type": "object",
    "description": "An explicit node ACL: which initiator may log in, with which CHAP, seeing "
                   "which LUNs.",
    "additionalProperties": False,
    "required": ["initiator"],
    "properties": {
        "initiator": {**IQN, "description": "The initiator's IQN."},
        "auth": AUTH,
        "mapped_luns": {"type": "array", "items": MAPPED_LUN,
                        "description": "Default: every LUN of the TPG under its own number."},
    },
}

TPG = {
    "title": "tpg",
    "type": "object",
    "description": "A target portal group: portals, attributes, parameters, LUNs and ACLs.",
    "additionalProperties": False,
    "properties": {
        "tag": {"type": "integer", "minimum": 1, "maximum": 65535, "description": "TPG tag (default 1)."},
        "enable": {"type": "boolean", "description": "Enabled at boot (default true)."},
        "portals": {"type": "array",
                    "items": {"type": "string", "pattern": r"^nic\d+(:\d{1,5})?$",
                              "x-expected": "a portal as nicN or nicN:port",
                              "description": "`nicN` or `nicN:port` (default port 3260)."},
                    "description": "Where the TPG listens (default `[nic0]`)."},
        "attributes": {"type": "object", "additionalProperties": SETTING_VALUE,
                       "description": "TPG attributes by configfs name (`authentication`, "
                                      "`generate_node_acls`, `demo_mode_write_protect`, "
                                      "`cache_dynamic_acls`, `default_erl`, ...), checked against "
                                      "what the running kernel exposes. `single_session: "
                                      "strict|reinstate|off` needs `guard: kernel`."},
        "parameters": {"type": "object", "additionalProperties": SETTING_VALUE,
                       "description": "iSCSI parameters the TPG negotiates (`HeaderDigest`, "
                                      "`DataDigest`, `MaxConnections`, `ImmediateData`, "
                                      "`InitialR2T`, ...)."},
        "auth": {**AUTH, "description": "TPG-level CHAP (demo mode, no ACL)."},
        "luns": {"type": "array", "items": LUN},
        "acls": {"type": "array", "items": ACL},
    },
}

TARGET = {
    "title": "target",
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": IQN,
        "tpgs": {"type": "array", "items": TPG, "minItems": 1,
                 "description": "Default: one TPG, tag 1, on nic0, no LUNs."},
    },
}

LAB = {
    "title": "lab",
    "type": "object",
    "description": "The LIO lab: one QEMU guest running Debian's kernel with LIO, its NICs "
                   "in a network namespace of the lab's own, provisioned from this block.",
    "additionalProperties": False,
    "required": ["targets"],
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-z][a-z0-9-]{0,15}$",
                 "x-expected": "lower-case letters, digits and '-', starting with a letter, "
                               "at most 16 characters",
                 "description": "Lab name (its namespace is `iscsilab-<name>`)."},
        "nics": {"type": "integer", "minimum": 1, "maximum": 4,
                 "description": "Guest NICs nic0.. (default 2): nicN is 10.77.N.2, the "
                                "namespace side 10.77.N.1."},
        "memory": {**SIZE, "description": "Guest memory (default 1024MiB, at least 256MiB)."},
        "discovery_auth": {**AUTH, "description": "CHAP enforced for SendTargets discovery."},
        "guard": {"enum": GUARDS,
                  "description": "Split-brain guard: `kernel` boots LIO with iscsi-lab's patched "
                                 "iscsi_target_mod (TPG attribute `single_session`), `nftables` "
                                 "limits each portal to one TCP connection, `none` (default)."},
        "isns": {"type": "boolean",
                 "description": "Run open-isns's `isnsd` in the lab's namespace at "
                                "`127.0.0.1:3205` with LIO's targets and portals registered "
                                "on LIO's behalf (LIO has no iSNS client) and registered again "
                                "whenever a step changes a portal or enables/disables a TPG; "
                                "`{isns}` in `iscsiadm:` arguments is its address. Needs "
                                "Debian's `open-isns-server`. Default false."},
        "targets": {"type": "array", "items": TARGET, "minItems": 1},
    },
}

LAB_FILE = {
    "title": "lab file",
    "type": "object",
    "additionalProperties": False,
    "required": ["lab"],
    "properties": {
        "lab": LAB,
        "description": {"type": "string", "description": "Free text."},
    },
}
