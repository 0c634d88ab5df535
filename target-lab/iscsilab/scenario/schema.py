"""The scenario file as a JSON Schema: one scenario per file, the `lab:` block exactly as lab
files have it (provision/schema.py), initiators with open-iscsi settings, a matrix, and steps.

Steps have one schema each, in STEPS (a row per step kind); the loader checks a step's outer
shape itself (exactly one step kind per step) so that an error names the step kind that was
meant instead of listing every alternative. `iscsilab schema` prints the whole schema (for
editors: yaml-language-server reads it) and `iscsilab schema --markdown` the reference page,
scenarios/REFERENCE.md; a unit test keeps both files in step with this module.
"""
from __future__ import annotations

from ..provision.schema import ACL, AUTH, LAB, LUN, SETTING_VALUE, SIZE

DURATION_PATTERN = r"^\s*\d+(\.\d+)?\s*(ms|s|min)?\s*$"

DURATION = {
    "description": "Seconds as a number, or text: `500ms`, `2s`, `1.5min`.",
    "x-expected": "a duration such as 500ms, 2s or 1.5min",
    "anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": DURATION_PATTERN}],
}

WITHIN = {
    "description": "A bound on a measured time: a duration (the maximum) or `[min, max]`.",
    "x-expected": "a duration, or [min, max] of durations",
    "anyOf": [DURATION, {"type": "array", "items": DURATION, "minItems": 2, "maxItems": 2}],
}

NAME = {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_-]{0,31}$",
        "x-expected": "a name of letters, digits, '_' and '-', starting with a letter"}

LUN_NUMBER = {"type": "integer", "minimum": 0, "maximum": 255, "description": "LUN number (default 0)."}

NIC_OR_PORTAL = {
    "type": "string",
    "pattern": r"^(nic\d+(:\d{1,5})?|proxy)$",
    "x-expected": "nicN, nicN:port, or proxy (the corrupting proxy's address)",
    "description": "A portal of the lab: `nic0`, `nic1:3261`, or `proxy` (the address of the "
                   "corrupting proxy a `fault: {corrupt: on}` step started).",
}

TARGET_REF = {"type": "string",
              "description": "A target of the lab: its IQN, or the part after the last ':' "
                             "(`t0` for iqn.2026-11.org.example:t0). Default: the lab's only "
                             "target."}

STATUS = {"type": ["integer", "string"],
          "description": "A Login Response status: its number (`0x0201`) or its words "
                         "(`authentication failure`, `authorization failure`, `not found`, "
                         "`too many connections`, ... as RFC 7143 names them)."}

AUTH_OVERRIDE = {
    "description": "`none`, or CHAP credentials for this login (they replace the initiator's). "
                   "`algorithms` is node.session.auth.chap_algs (`SHA3-256,SHA256,SHA1,MD5`).",
    "anyOf": [
        {"const": "none"},
        {"type": "object", "additionalProperties": False, "required": ["userid", "password"],
         "properties": {**AUTH["properties"],
                        "algorithms": {"type": "string", "description": "CHAP algorithms to offer."}}},
    ],
}

SETTINGS = {
    "type": "object",
    "additionalProperties": SETTING_VALUE,
    "description": "open-iscsi settings by their iscsid.conf names "
                   "(`node.session.timeo.replacement_timeout: 15`, "
                   "`node.conn[0].timeo.noop_out_interval: 5`, `node.conn[0].iscsi.HeaderDigest: "
                   "CRC32C`, `node.session.auth.authmethod: CHAP`, ...), checked against the "
                   "initiator's settings table before anything boots.",
}

# The initiator kinds a scenario can run with (initiator/driver.py KINDS).
INITIATOR_KINDS = ("iscsi-lab", "linux")

INITIATOR = {
    "title": "initiator",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "id": {**NAME, "description": "Short name steps use (`initiator: host1`); default "
                                      "`host0`, `host1`, ... in order."},
        "name": {"type": "string", "description": "InitiatorName (IQN); default "
                                                  "`iqn.2026-11.org.example:<id>`."},
        "isid": {"type": ["string", "integer"],
                 "description": "ISID of its first session (12 hex digits); default: the "
                                "initiator's own, a different one per session."},
        "kind": {"enum": list(INITIATOR_KINDS),
                 "description": "Which initiator runs the steps: `iscsi-lab` (ours, in a "
                                "process in the lab's namespace) or `linux` (open-iscsi and the "
                                "kernel in a second guest). `iscsilab run --initiator` sets "
                                "every initiator's kind instead."},
        "settings": SETTINGS,
    },
}

MATRIX = {
    "type": "object",
    "description": "Expands the scenario over parameter lists: every combination is a cell of "
                   "its own (its own result, lab and integrity map). Values are used as "
                   "`${name}` (the whole value keeps its type) or `${name.field}` for mapping "
                   "values, anywhere in the file. `exclude:` lists combinations to leave out.",
    "properties": {
        "exclude": {"type": "array", "items": {"type": "object"},
                    "description": "Partial combinations, `{auth: none, digest: CRC32C}`, to skip."},
    },
    "additionalProperties": {"type": "array", "minItems": 1,
                             "x-expected": "a list of values for this parameter"},
}

# ------------------------------------------------------------------------ steps
def step_body(title: str, description: str, properties: dict, required=(), shorthand=None) -> dict:
    """A step kind's schema: an object with `properties`, or a shorthand scalar (`wait: 2s`)."""
    obj = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        obj["required"] = list(required)
    schema = {"title": title, "description": description}
    if shorthand is None:
        schema.update(obj)
    else:
        schema["anyOf"] = [shorthand, obj]
    return schema


FAILS = {"type": "string",
         "description": "The step must fail, with an error whose type, code or words contain "
                        "this text (`replacement_timeout`, `ScsiError`, `TaskAborted`...)."}

FAULT_KINDS = {
    "freeze": "The whole target stops (QMP stop); TCP connections stay open. `off`: cont.",
    "link": "Carrier loss on a NIC (QMP set_link; `via: tap` takes the tap down instead). "
            "`down`/`up` or `on` (= down)/`off`.",
    "blackhole": "Everything between the namespace and the guest on a NIC is dropped (nft).",
    "reset": "Every TCP segment towards the guest on a NIC is answered with a RST (nft).",
    "netem": "Delay and/or loss on a NIC (netem in the guest): on what the target sends, or with "
             "`direction: to_target` on what the initiators send (so each way can differ).",
    "rate": "A rate limit on what initiators send on a NIC (tbf on the tap).",
    "corrupt": "A proxy in front of a portal that flips one byte per connection (or one in "
               "every n-th Data-In PDU, or leaves out every n-th PDU of a kind); log in through "
               "it with `portal: proxy`.",
    "portal": "The TPG's portal on a NIC is removed (`off`) or added back (`on`).",
    "tpg": "The TPG is disabled (`off`) or enabled (`on`).",
    "flap": "The NIC's link goes down and up every `period` (down one period, up the next) until "
            "`off`.",
    "alua": "An ALUA group of a backstore (`backstore:`, `group:`) moves to `state:` (through "
            "`transitioning` for `transition:` first); `off` puts back the lab file's state.",
}

FAULT = step_body(
    "fault",
    "Injects a fault or takes it back. Exactly one kind key: " +
    "; ".join(f"`{k}`: {v}" for k, v in FAULT_KINDS.items()) +
    ". `fault: clear` undoes every fault. With `for:` the fault is taken back by itself after "
    "that long while later steps run.",
    {
        **{k: {"type": ["boolean", "string"], "enum": [True, False, "on", "off", "up", "down"],
               "description": v} for k, v in FAULT_KINDS.items()},
        "nic": {"type": "string", "pattern": r"^nic\d+$", "x-expected": "nicN",
                "description": "Which NIC (default nic0)."},
        "target": TARGET_REF,
        "tag": {"type": "integer", "minimum": 1, "description": "portal, tpg: the TPG's tag (default 1)."},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535,
                 "description": "portal: the port (default 3260)."},
        "for": {**DURATION, "description": "Take the fault back by itself after this long."},
        "via": {"enum": ["qmp", "tap"], "description": "link: how (default qmp)."},
        "delay": {**DURATION, "description": "netem: delay."},
        "jitter": {**DURATION, "description": "netem: jitter."},
        "loss": {"type": ["number", "string"], "pattern": r"^\d+(\.\d+)?%?$",
                 "description": "netem: loss in percent (`5%` or 5)."},
        "kbit": {"type": "integer", "minimum": 1, "description": "rate: kbit/s."},
        "direction": {"enum": ["to_initiator", "to_target"],
                      "description": "corrupt: which way the flipped byte travels; netem: which "
                                     "way is shaped (default to_initiator)."},
        "period": {**DURATION, "description": "flap: how long the link stays down, then up."},
        "backstore": {"type": "string", "description": "alua: the backstore (default: the only "
                                                       "one with ALUA groups)."},
        "group": {"type": "string", "description": "alua: the group's name."},
        "state": {"enum": ["active/optimized", "active/non-optimized", "standby", "unavailable",
                           "offline"], "description": "alua: the new access state."},
        "transition": {**DURATION, "description": "alua: how long LIO reports `transitioning` "
                                                  "before the new state."},
        "pdu": {"type": "integer", "minimum": 0,
                "description": "corrupt: the n-th PDU after login (0-based) gets the flip."},
        "byte": {"type": "integer", "minimum": 0,
                 "description": "corrupt: byte within that PDU (past the 48-byte header and its "
                                "digest: in the data segment)."},
        "after_bytes": {"type": "integer", "minimum": 0,
                        "description": "corrupt: flip at this stream offset instead of `pdu`."},
        "drop_every": {"type": "integer", "minimum": 1,
                       "description": "corrupt: leave out every n-th PDU of kind `drop_pdu` "
                                      "(the stream stays in step: a lost PDU, what ERL 1's "
                                      "SNACKs ask for again)."},
        "drop_pdu": {"enum": ["scsi_response", "data_in", "r2t", "nop_in"],
                     "description": "corrupt: the kind of PDU `drop_every` leaves out."},
        "data_in_every": {"type": "integer", "minimum": 1,
                          "description": "corrupt: flip `byte` of every n-th Data-In PDU long "
                                         "enough to have it, instead of `pdu` (a data digest "
                                         "error each time: what ERL 1 recovers from)."},
        "header_digest": {"type": "boolean", "description": "corrupt: header digests are on."},
        "data_digest": {"type": "boolean", "description": "corrupt: data digests are on."},
        "xor": {"type": "integer", "minimum": 1, "maximum": 255,
                "description": "corrupt: the bits to flip (default 0x01)."},
        "connection": {"type": "integer", "minimum": 0,
                       "description": "corrupt: only the n-th connection through the proxy "
                                      "(1-based; default 1, so the relogin gets through); 0: all."},
    },
    shorthand={"enum": ["clear", "freeze"], "x-expected": "clear, freeze, or a mapping"},
)

IO = step_body(
    "io",
    "SCSI I/O at a queue depth. Written blocks carry their LBA and a write generation, and "
    "every acknowledged write goes into the scenario's integrity map; `op: verify` reads back "
    "what the map holds (all of it, or `lbas`) and fails naming each LBA that is lost, stale, "
    "misplaced or corrupt. Foreground I/O fails the step when a command fails (unless `fails:`).",
    {
        "op": {"enum": ["read", "write", "mixed", "verify"], "description": "What to do."},
        "lun": LUN_NUMBER,
        "size": {**SIZE, "description": "How much of the LUN, from `lba` 0 (default: all of it)."},
        "lbas": {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 2,
                 "maxItems": 2, "description": "`[first, end)` in blocks, instead of `size`."},
        "io_size": {**SIZE, "description": "Bytes per command (default 4KiB; verify: 1MiB, at "
                                           "queue depth 1)."},
        "queue_depth": {"type": "integer", "minimum": 1, "maximum": 1024,
                        "description": "Commands in flight (default 1)."},
        "count": {"type": "integer", "minimum": 1, "description": "Commands to run."},
        "duration": {**DURATION, "description": "Run this long (no new commands afterwards)."},
        "random": {"type": "boolean", "description": "Random offsets (default: sequential)."},
        "read_percent": {"type": "integer", "minimum": 0, "maximum": 100,
                         "description": "mixed: share of reads (default 50)."},
        "background": {"type": "boolean",
                       "description": "Start it and go on; `stop:`/`await:` it by `name`."},
        "name": {**NAME, "description": "Name of a background job."},
        "fails": FAILS,
    },
)

EXPECT_SUBJECTS = {
    "session": {"type": "string",
                "description": "Wait until the session is in this state (`LOGGED_IN`, `FAILED`, "
                               "`FREE`, as open-iscsi names them); measured: when it got there."},
    "conn_error": {"type": ["string", "integer"],
                   "description": "A connection error, by ISCSI_ERR name (`ISCSI_ERR_NOP_TIMEDOUT`, "
                                  "`NOP_TIMEDOUT`) or number (22); measured: when it was detected."},
    "event": {"enum": ["login", "login_failed", "conn_error", "nop_timeout", "recovery_started",
                       "recovery_ended", "replacement_timeout", "async_event", "capacity_changed",
                       "luns_changed", "reject", "tmf_timeout", "logout", "state_change", "rescan",
                       "setting_capped", "path_failed", "path_reinstated", "path_alua_changed",
                       "group_switched", "io_failover", "queueing_started", "queueing_ended",
                       "io_failed_no_path"],
              "description": "An event in the session's log, or a multipath device's "
                             "(`session: <device>`); `detail:` narrows it by text."},
    "io": {**NAME, "description": "A background job's outcome: `outcome:` completed (every "
                                  "command succeeded), failed (some failed; `error:` says how), "
                                  "stalled (none completed for `within`), running; `failed:` "
                                  "the number of failed commands (`0`, `>= 1`)."},
    "io_gap": {**NAME, "description": "The longest stretch without a completion of this job "
                                      "after `from` (the I/O gap a fault caused); `within` "
                                      "bounds it. A gap still open when this is checked is "
                                      "judged by its own length: the check waits until I/O "
                                      "resumes or the gap outgrows `within` and its grace."},
    "io_latency": {**NAME, "description": "The longest time one command of this job took, among "
                                          "those that completed after `from` (with a path lost, "
                                          "how long the unluckiest command waited for failover)."},
    "counters": {"type": "object", "additionalProperties": {"type": ["integer", "string"]},
                 "description": "Session counters (iscsiadm -m session -s names: digest_err, "
                                "timeout_err, noptx_pdus, ...; ours at ERL 1: datain_discarded, "
                                "datain_recovered, status_recovered, r2t_recovered, "
                                "r2t_replaced; at ERL 2: connection_reinstatements, "
                                "tasks_reassigned, commands_resent, reassign_refused) each `N`, `>= N`, `<= N`, `> N` or `< N`, or "
                                "compared with another counter "
                                "(`== datain_discarded`)."},
    "lio_sessions": {"type": ["integer", "string"],
                     "description": "Sessions LIO itself counts on the target's TPG (rtslib-fb), "
                                    "of `initiator:` when given; `N` or `>= N`..."},
    "lio_log": {"type": "string",
                "description": "A line LIO (the guest kernel) logged since the scenario started "
                               "matches this regular expression: `ABORT_TASK: Sending "
                               "TMR_FUNCTION_COMPLETE`, `LUN_RESET: .* Complete` (LIO's task "
                               "management debug messages are switched on in the lab); "
                               "measured: the line's own kernel timestamp."},
    "paths": {"type": "object", "additionalProperties": {"type": ["integer", "string"]},
              "description": "A multipath device's paths (`session: <device>`), counted by state "
                             "as `multipathd show paths` says: dm state (active, failed), path state (up; ghost: "
                             "ALUA standby, unavailable or transitioning, kept but not used), or by its "
                             "no-path state (serving, queueing, failing: 1 when it is so): "
                             "`{active: 1, failed: 1}`."},
    "kernel_log": {"enum": ["clean"],
                   "description": "The guest's kernel log has no BUG, Oops, WARNING, call trace "
                                  "or hung task since the scenario started."},
}

EXPECT = step_body(
    "expect",
    "Checks what happened, waiting for it up to the upper bound of `within` (default 30s). "
    "Exactly one subject key: " + ", ".join(f"`{k}`" for k in EXPECT_SUBJECTS) + ". The "
    "measured time (from `from`, default: the end of the previous step) is recorded whether "
    "the expectation holds or not; `as:` on an expect labels the moment it measured.",
    {
        **EXPECT_SUBJECTS,
        "within": WITHIN,
        "from": {"type": "string",
                 "description": "A label (`as:`) of an earlier step: when that step took effect. "
                                "`label.start` / `label.end` pick its start or end."},
        "detail": {"type": "string", "description": "event: text the event's detail contains."},
        "outcome": {"enum": ["completed", "failed", "stalled", "running"],
                    "description": "io: what the job did."},
        "failed": {"type": ["integer", "string"], "description": "io: failed commands (`>= 1`)."},
        "error": {"type": "string", "description": "io: text a failed command's error contains "
                                                  "(with `failed:`, every failed command's)."},
        "unit_attention": {"type": "string",
                           "description": "io: text a UNIT ATTENTION the job saw contains "
                                          "(`CAPACITY DATA HAS CHANGED`, `RESET`)."},
        "target": TARGET_REF,
        "absent": {"type": "boolean",
                   "description": "The opposite: it must NOT happen within the upper bound of "
                                  "`within` (`event: capacity_changed, absent: true`)."},
        "count": {"type": ["integer", "string"],
                  "description": "event: how often it happens in the window `within` after "
                                 "`from`, watched to the window's end (`count: <= 2`: a "
                                 "flapping path fails at most twice; no ping-pong)."},
    },
)

STEPS: dict[str, dict] = {
    "discover": step_body(
        "discover", "SendTargets discovery at a portal; `finds` lists targets that must be "
        "reported, `refused` a status the discovery login must get.",
        {"portal": NIC_OR_PORTAL, "auth": AUTH_OVERRIDE,
         "finds": {"type": "array", "items": {"type": "string"},
                   "description": "Targets (IQN or short name) that must be in the answer."},
         "refused": STATUS, "fails": FAILS},
        shorthand=NIC_OR_PORTAL),
    "login": step_body(
        "login", "A leading login (a new session). `session:` names it for later steps "
        "(default s0, s1, ... per initiator); `sessions: N` logs in N at once (ISIDs differ). "
        "`refused:` the login must be refused with that status (the session is not kept).",
        {"target": TARGET_REF, "portal": NIC_OR_PORTAL,
         "session": {**NAME, "description": "Name of the session."},
         "sessions": {"type": "integer", "minimum": 1, "maximum": 256,
                      "description": "Log in this many sessions at once."},
         "isid": {"type": ["string", "integer"], "description": "ISID (12 hex digits)."},
         "auth": AUTH_OVERRIDE, "settings": SETTINGS, "refused": STATUS,
         "may_be_refused": {**STATUS, "description": "The login may succeed or be refused with "
                                                     "this status, nothing else (racing logins)."},
         "negotiates": {"type": "object", "additionalProperties": SETTING_VALUE,
                        "description": "Operational keys the login must end with, by RFC 7143 "
                                       "name: `{HeaderDigest: CRC32C, InitialR2T: false}`."}},
        shorthand=TARGET_REF),
    "logout": step_body(
        "logout", "Logs the session out (`logout: all`: every session of the initiator).",
        {"fails": FAILS}, shorthand={"const": "all"}),
    "nop": step_body(
        "nop", "NOP-Out pings; the round-trip times are recorded.",
        {"count": {"type": "integer", "minimum": 1, "maximum": 1000}, "fails": FAILS}),
    "rescan": step_body(
        "rescan", "REPORT LUNS, INQUIRY and READ CAPACITY per LUN, as `iscsiadm -m session -R`; "
        "`finds` checks what changed since the session's last look.",
        {"finds": {"type": "object", "additionalProperties": False,
                   "properties": {k: {"type": "array", "items": {"type": "integer"}}
                                  for k in ("luns", "added", "removed", "resized")},
                   "description": "LUN numbers: `luns` present, `added`, `removed`, `resized`."},
         "capacity": {"type": "object", "additionalProperties": SIZE,
                      "description": "Expected size per LUN number (`{0: 128MiB}`)."},
         "fails": FAILS}),
    "tmf": step_body(
        "tmf", "Task management: the response must be `response:` (default function_complete).",
        {"function": {"enum": ["abort_task", "abort_task_set", "clear_task_set", "lun_reset",
                               "target_warm_reset", "target_cold_reset"]},
         "lun": LUN_NUMBER,
         "io": {**NAME, "description": "abort_task: the oldest command in flight of this "
                                       "background job."},
         "response": {"type": "string", "description": "Expected TMF response name."},
         "fails": FAILS},
        required=("function",)),
    "io": IO,
    "stop": step_body("stop", "Stops a background job (no new commands) and waits for what is "
                              "in flight, up to `within` (default 60s).",
                      {"io": NAME, "within": WITHIN}, required=("io",), shorthand=NAME),
    "await": step_body("await", "Waits until a background job ends by itself, up to `within` "
                                "(default 120s).",
                       {"io": NAME, "within": WITHIN}, required=("io",), shorthand=NAME),
    "fault": FAULT,
    "lun": step_body(
        "lun", "Changes LUNs on the target: `resize: {lun, size}` (block backstores grow live), "
        "`add: {lun, backstore}`, `remove: N`.",
        {"resize": {"type": "object", "additionalProperties": False, "required": ["size"],
                    "properties": {"lun": LUN_NUMBER, "size": SIZE}},
         "add": LUN,
         "remove": LUN_NUMBER,
         "target": TARGET_REF, "tag": {"type": "integer", "minimum": 1,
                                       "description": "The TPG's tag (default 1)."}},
        ),
    "target": step_body(
        "target", "Changes the target: `tpg: enable|disable`, `portal: {add|remove: nicN}`, "
        "`acl: {add: <acl>}` / `acl: {remove: IQN}`, `attributes:`, `parameters:`.",
        {"tpg": {"enum": ["enable", "disable"]},
         "portal": {"type": "object", "additionalProperties": False,
                    "properties": {"add": {"type": "string"}, "remove": {"type": "string"},
                                   "port": {"type": "integer"}}},
         "acl": {"type": "object", "additionalProperties": False,
                 "properties": {"add": ACL, "remove": {"type": "string"}}},
         "attributes": {"type": "object", "additionalProperties": SETTING_VALUE},
         "parameters": {"type": "object", "additionalProperties": SETTING_VALUE},
         "target": TARGET_REF, "tag": {"type": "integer", "minimum": 1}}),
    "multipath": step_body(
        "multipath",
        "A multipath device over several paths to one LU, used by later steps like a session "
        "(`session: <name>` on io and expect steps): `paths:` logs in one session per portal "
        "(named <name>-<portal>), with node.session.timeo.replacement_timeout set to the "
        "settings' fast_io_fail_tmo as multipathd does; or `sessions:` names sessions already "
        "logged in. The paths must reach the same LU (VPD 0x83 identity).",
        {"name": {**NAME, "description": "The device's name."},
         "target": TARGET_REF,
         "paths": {"type": "array", "items": NIC_OR_PORTAL, "minItems": 1,
                   "description": "Portals to log in to, one session each."},
         "sessions": {"type": "array", "items": NAME, "minItems": 1,
                      "description": "Sessions already logged in, one path each."},
         "lun": LUN_NUMBER,
         "settings": {"type": "object", "additionalProperties": SETTING_VALUE,
                      "description": "multipath.conf's names: polling_interval, path_selector "
                                     "(`round-robin 0`, `queue-length 0`, `service-time 0`), "
                                     "path_grouping_policy (failover, multibus, group_by_prio), "
                                     "failback (immediate, manual, followover, N), no_path_retry "
                                     "(fail, queue, N), rr_min_io_rq, fast_io_fail_tmo."}},
        required=("name",)),
    "iscsiadm": step_body(
        "iscsiadm", "Runs lab-iscsiadm in the lab's namespace, as open-iscsi users type iscsiadm "
        "(`iscsiadm: -m node -l`). lab-iscsid is started for the cell on the first such step, "
        "with a database of its own, and stopped (logging out) when the cell ends. In `args`, "
        "`prints` and `output`, `{nic0}` is that portal's address, `{target}` the first target's "
        "IQN, `{target:NAME}` a named target's, `{isns}` the lab's iSNS server (`lab: isns: true`).",
        {"args": {"type": "string", "description": "lab-iscsiadm's arguments."},
         "status": {"type": "integer", "minimum": 0, "maximum": 255,
                    "description": "Expected exit status (default 0; open-iscsi's numbers)."},
         "prints": {"type": "array", "items": {"type": "string"},
                    "description": "Texts the output must contain."},
         "golden": {"type": "string", "pattern": r"\S",
                    "description": "A file (relative to the scenario file) that standard output "
                                   "must match line by line: `{nic0}`, `{target}` and "
                                   "`{target:NAME}` as in `args`, and `{*}` for any text within a "
                                   "line (addresses, ports, counters that change run to run)."},
         "output": {"type": "array", "items": {"type": "string"},
                    "description": "Standard output's lines must be exactly these, in any order "
                                   "(`[\"{nic0},1 {target}\"]`: one portal, nothing else)."}},
        required=("args",), shorthand={"type": "string"}),
    "nbd": step_body(
        "nbd", "Serves a LUN of the lab over NBD with nbdkit and our plugin "
        "(nbdkit-lab-iscsi-plugin.so, built in build/default), in the lab's namespace on the "
        "host end of the portal's NIC, and checks it: random data copied in and back out with "
        "nbdcopy, sha256 equal (bytes and seconds each way in the report). With "
        "`kernel_client: true` the guest's kernel NBD client then connects (`modprobe nbd`, "
        "`nbd-client <host end> <port> /dev/nbd0`), writes and reads back with O_DIRECT (sha256 "
        "equal), disconnects (`nbd-client -d`), and the export read once more from the host must "
        "hold the guest's bytes. nbdkit is stopped (SIGTERM: it logs out) at the end of the "
        "step, also when the step fails.",
        {"target": TARGET_REF,
         "portal": {**NIC_OR_PORTAL, "description": "The portal the plugin logs in to "
                                                    "(default: the target's first)."},
         "lun": LUN_NUMBER,
         "port": {"type": "integer", "minimum": 1, "maximum": 65535,
                  "description": "nbdkit's TCP port (default 10809)."},
         "size": {**SIZE, "description": "Bytes copied in with nbdcopy, from offset 0 "
                                         "(default: the whole export)."},
         "kernel_client": {"type": "boolean", "description": "Also the guest's kernel "
                                                             "nbd-client (default false)."},
         "kernel_size": {**SIZE, "description": "Bytes the kernel client writes and reads, "
                                                "whole MiB (default 4MiB)."},
         "device": {"type": "string", "pattern": r"^/dev/nbd\d+$", "x-expected": "/dev/nbdN",
                    "description": "The guest's NBD device (default /dev/nbd0)."},
         "settings": {"type": "object", "additionalProperties": SETTING_VALUE,
                      "description": "open-iscsi node.* settings for the plugin's sessions "
                                     "(default node.session.timeo.replacement_timeout: 15)."}}),
    "parallel": {"title": "parallel", "type": "array", "minItems": 2, "items": {"type": "object"},
                 "description": "Steps started at the same moment (racing logins); the step "
                                "ends when all of them have."},
    "wait": step_body("wait", "Lets time pass.", {"for": DURATION}, required=("for",),
                      shorthand=DURATION),
    "expect": EXPECT,
}

STEP_COMMON = {
    "as": {**NAME, "description": "Labels the step so that later steps can measure from it."},
    "initiator": {"description": "Which initiator runs it: an `id`, a list of ids, or `all` "
                                 "(each in parallel). Default: the first.",
                  "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    "session": {"type": "string", "description": "Which of its sessions: a name, or `all`. "
                                                 "Default: the one logged in last."},
    "when": {"type": "object", "description": "Only in the matrix cells where each listed "
                                              "parameter has this value (or one of a list)."},
    "note": {"type": "string", "description": "Free text for the report."},
}

SCENARIO = {
    "title": "scenario file",
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "lab", "steps"],
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_.-]{0,63}$",
                 "x-expected": "lower-case letters, digits, '.', '_' and '-'",
                 "description": "Scenario name (unique in a run)."},
        "description": {"type": "string", "description": "What it shows, in a sentence or two."},
        "tags": {"type": "array", "items": {"type": "string"},
                 "description": "Selects scenarios (`iscsilab run -k tag`); `default` puts it in "
                                "the default set."},
        "timeout": {**DURATION, "description": "The whole scenario's limit (default 10min)."},
        "kinds": {"type": "array", "items": {"enum": list(INITIATOR_KINDS)}, "minItems": 1,
                  "uniqueItems": True,
                  "description": "The initiator kinds the scenario is written for (default: "
                                 "`iscsi-lab`, or the kinds its initiators name). `iscsilab run "
                                 "--initiator` runs only these and lists the others as not "
                                 "written for. A step for one kind says so with `when: "
                                 "{initiator: linux}` (`initiator` is always a parameter)."},
        "fresh_lab": {"type": "boolean", "description": "Boot a lab of its own instead of "
                                                       "reusing one with the same `lab:`."},
        "lab": LAB,
        "known_kernel_reports": {
            "type": "array",
            "description": "Kernel reports (BUG, WARNING, ...) of a known cause that do not fail "
                           "the scenario: each is recorded and shown as known, with the reason. "
                           "Any other report fails it. For a target bug that a scenario meets by "
                           "chance, so that the run is not decided by that chance.",
            "items": {"type": "object", "additionalProperties": False,
                      "required": ["match", "reason"],
                      "properties": {
                          "match": {"type": "string", "description": "A regular expression "
                                    "searched in the report and the lines around it."},
                          "reason": {"type": "string", "description": "What it is, where it is "
                                     "written up."}}}},
        "initiators": {"type": "array", "items": INITIATOR, "minItems": 1,
                       "description": "Default: one, `host0`."},
        "matrix": MATRIX,
        "steps": {"type": "array", "minItems": 1, "items": {"type": "object"},
                  "description": "What happens, in order: see the step kinds."},
    },
}


def full_schema() -> dict:
    """SCENARIO with every step kind spelled out: what editors and the reference page get."""
    step = {"type": "object", "minProperties": 1,
            "description": "One step kind key, plus the common keys.",
            "properties": {**STEP_COMMON, **STEPS}, "additionalProperties": False}
    out = dict(SCENARIO)
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["properties"] = {**SCENARIO["properties"],
                         "steps": {**SCENARIO["properties"]["steps"], "items": step}}
    return out
