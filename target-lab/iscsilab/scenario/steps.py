"""What each step kind does: one function per kind in HANDLERS (the table the runner dispatches
on), each run once per initiator the step is aimed at (several: in parallel). A handler raises
StepFailed with what happened instead; it returns details for the report, and may say when the
step took effect (`effect`: a fault is in effect once applied, a login counts from its start).
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from ..initiator.process import RemoteError
from .adm import do_iscsiadm
from .nbd import do_nbd
from .context import Context, Job, SessionRef, StepFailed, auth_settings
from .model import Step

VERIFY_CHUNK = 2048              # blocks per read while verifying (1 MiB of 512-byte blocks)
DEFAULT_ISID_PREFIX = 0x40_00_00  # type 01b (random), then the initiator's index and a counter
# The PDU kinds a `fault: {corrupt: on, drop_every: N, drop_pdu: ...}` step may leave out.
DROP_OPCODES = {"scsi_response": 0x21, "data_in": 0x25, "r2t": 0x31, "nop_in": 0x20}


# ------------------------------------------------------------------------ helpers
def error_matches(exc: RemoteError, text: str) -> bool:
    blob = " ".join(str(v) for v in (exc.type, exc.message, exc.code, exc.error.get("conn_error_name"))
                    if v is not None)
    return text.lower() in blob.lower()


def expect_failure(step: Step, fn: Callable[[], object]):
    """Runs fn; with `fails:` in the step it must raise an error matching it."""
    want = step.body.get("fails")
    try:
        result = fn()
    except RemoteError as exc:
        if want and error_matches(exc, want):
            return {"failed_as_expected": f"{exc.type}: {exc.message}"}
        raise StepFailed(f"{exc.type}: {exc.message}") from None
    if want:
        raise StepFailed(f"succeeded, but should have failed with {want!r}")
    return result


def same_value(have, want) -> bool:
    """A negotiated value against the scenario's: Yes/No and true/false alike, text ignoring case."""
    words = {"yes": True, "no": False, "true": True, "false": False}
    norm = lambda v: words.get(str(v).lower(), str(v).lower()) if not isinstance(v, bool) else v  # noqa: E731
    return norm(have) == norm(want)


def status_words(code: int) -> str:
    from .. import _core
    return f"{dict(_core.login_statuses()).get(code, 'unknown status')} ({code:#06x})"


def next_isid(ctx: Context, initiator: str) -> str:
    spec = ctx.cell.initiator(initiator)
    index = [i.id for i in ctx.cell.initiators].index(initiator)
    with ctx.lock:
        n = ctx.isid_counter.get(initiator, 0)
        ctx.isid_counter[initiator] = n + 1
    if spec.isid and n == 0:
        return spec.isid
    base = int(spec.isid, 16) if spec.isid else (DEFAULT_ISID_PREFIX << 24) | (index << 16)
    return f"{base + n:012x}"


# ------------------------------------------------------------------------ session steps
def do_discover(ctx: Context, step: Step, ini: str) -> dict:
    b = step.body
    target = ctx.lab.portals()[0].target
    portal = ctx.portal_address(target, b.get("portal"))
    settings = {k: v for k, v in ctx.cell.initiator(ini).settings.items()
                if k.startswith(("discovery.", "iface."))}
    settings.update(auth_settings(b.get("auth"), "discovery.sendtargets.auth"))
    d = ctx.driver(ini)
    try:
        found = d.discover(portal, settings)
    except RemoteError as exc:
        if "refused" in b and exc.error.get("status") == b["refused"]:
            return {"refused": status_words(b["refused"])}
        if b.get("fails") and error_matches(exc, b["fails"]):
            return {"failed_as_expected": f"{exc.type}: {exc.message}"}
        raise StepFailed(f"discovery at {portal}: {exc.type}: {exc.message}") from None
    if b.get("fails"):
        raise StepFailed(f"discovery at {portal} succeeded, but should have failed with {b['fails']!r}")
    if "refused" in b:
        raise StepFailed(f"discovery at {portal} succeeded, but should have been refused with "
                         f"{status_words(b['refused'])}")
    names = [t["name"] for t in found]
    missing = [t for t in b.get("finds", []) if t not in names]
    if missing:
        raise StepFailed(f"discovery at {portal} did not report {', '.join(missing)} "
                         f"(it reported: {', '.join(names) or 'nothing'})")
    return {"targets": found}


def do_login(ctx: Context, step: Step, ini: str) -> dict:
    b = step.body
    target = b["target"]
    portal = ctx.portal_address(target, b.get("portal"))
    settings = ctx.login_settings(ini, b)
    d = ctx.driver(ini)
    spec = ctx.cell.initiator(ini)
    if "sessions" in b:
        base = step.session or "s"
        specs = [{"key": f"{base}{i}", "portal": portal, "isid": next_isid(ctx, ini)}
                 for i in range(b["sessions"])]
        t0 = time.monotonic()
        results = d.login_many(target, specs, settings, timeout=300)
        took = time.monotonic() - t0
        bad = [r for r in results if not r["ok"]]
        for r in results:
            if r["ok"]:
                ctx.add_session(SessionRef(r["key"], ini, target, portal, settings))
        ctx.rec.measure(f"{ini}: {len(results)} logins", took)
        if bad:
            raise StepFailed(f"{len(bad)} of {len(results)} logins failed; first: "
                             f"{bad[0]['error']['type']}: {bad[0]['error']['message']}")
        return {"sessions": len(results), "seconds": took,
                "logins_per_second": len(results) / took if took else None,
                "login_seconds": sorted(r["seconds"] for r in results)}
    name = b.get("session") or step.session or ctx.new_session_name(ini)
    isid = b.get("isid") or next_isid(ctx, ini)
    start = time.monotonic()
    try:
        info = d.login(name, target, portal, isid=isid, name=spec.name, settings=settings,
                       timeout=float(settings.get("node.conn[0].timeo.login_timeout", 15)) * 4 + 60)
    except RemoteError as exc:
        allowed = b.get("refused", b.get("may_be_refused"))
        if allowed is not None:
            got = exc.error.get("status")
            if got == allowed:
                return {"refused": status_words(got), "effect": start}
            raise StepFailed(f"login to {target} at {portal} should have been refused with "
                             f"{status_words(b['refused'])}, but: {exc.type}: {exc.message}") from None
        raise StepFailed(f"login to {target} at {portal}: {exc.type}: {exc.message}") from None
    if "refused" in b:
        d.logout(name)
        raise StepFailed(f"login to {target} at {portal} succeeded (TSIH {info['tsih']:#06x}), but "
                         f"should have been refused with {status_words(b['refused'])}")
    ctx.add_session(SessionRef(name, ini, target, portal, settings))
    ctx.rec.measure(f"{ini} {name}: login", info["seconds"])
    wrong = [f"{k} = {info['params'].get(k)!r} (expected {v!r})"
             for k, v in (b.get("negotiates") or {}).items()
             if not same_value(info["params"].get(k), v)]
    if wrong:
        raise StepFailed(f"login to {target} negotiated " + ", ".join(wrong))
    return {"session": name, "tsih": info["tsih"], "isid": info["isid"], "portal": portal,
            "seconds": info["seconds"], "params": info.get("params"),
            "effect": info["start_ns"] / 1e9}


def do_multipath(ctx: Context, step: Step, ini: str) -> dict:
    from .. import _core
    b = step.body
    d = ctx.driver(ini)
    settings = {k: str(v) for k, v in (b.get("settings") or {}).items()}
    keys = list(b.get("sessions", []))
    if "paths" in b:
        # multipathd gives each path's session fast_io_fail_tmo as its replacement_timeout.
        login = ctx.login_settings(ini, {})
        tmo = _core.mpath_fast_io_fail_tmo(settings)
        if tmo is not None:
            login["node.session.timeo.replacement_timeout"] = str(tmo)
        specs = [{"key": f"{b['name']}-{p.replace(':', '-')}",
                  "portal": ctx.portal_address(b["target"], p), "isid": next_isid(ctx, ini)}
                 for p in b["paths"]]
        results = d.login_many(b["target"], specs, login, timeout=300)
        bad = [r for r in results if not r["ok"]]
        if bad:
            raise StepFailed(f"multipath: logging in path {bad[0]['key']}: "
                             f"{bad[0]['error']['type']}: {bad[0]['error']['message']}")
        for spec in specs:
            ctx.add_session(SessionRef(spec["key"], ini, b["target"], spec["portal"], login))
        keys = [spec["key"] for spec in specs]
    try:
        info = d.mp_create(b["name"], keys, b.get("lun", 0), settings)
    except RemoteError as exc:
        raise StepFailed(f"multipath: {exc.type}: {exc.message}") from None
    # The device is used like a session from here on (io, verify, expect).
    ctx.add_session(SessionRef(b["name"], ini, b["target"], "multipath", {}))
    return info


def do_logout(ctx: Context, step: Step, ini: str) -> dict:
    d = ctx.driver(ini)
    names = list(ctx.sessions[ini]) if step.body.get("all") else [ctx.session(ini, step.session).name]
    for name in names:
        expect_failure(step, lambda n=name: d.logout(n, timeout=120))
        ctx.drop_session(ini, name)
    return {"sessions": names}


def do_nop(ctx: Context, step: Step, ini: str) -> dict:
    s = ctx.session(ini, step.session)
    d = ctx.driver(ini)
    rtts = []
    for _ in range(step.body.get("count", 1)):
        r = expect_failure(step, lambda: d.nop(s.name, timeout=120))
        if "failed_as_expected" in r:
            return r
        rtts.append(r["seconds"])
    ctx.rec.measure(f"{ini} {s.name}: NOP round trip", sorted(rtts)[len(rtts) // 2])
    return {"rtt_seconds": rtts}


def do_rescan(ctx: Context, step: Step, ini: str) -> dict:
    s = ctx.session(ini, step.session)
    r = expect_failure(step, lambda: ctx.driver(ini).rescan(s.name, timeout=120))
    if "failed_as_expected" in r:
        return r
    problems = []
    for key, want in (step.body.get("finds") or {}).items():
        have = sorted(int(x) for x in r["luns"]) if key == "luns" else sorted(r[key])
        if have != sorted(want):
            problems.append(f"{key}: expected {sorted(want)}, got {have}")
    from ..provision.config import parse_size
    for lun, size in (step.body.get("capacity") or {}).items():
        got = r["luns"].get(str(lun), {}).get("bytes")
        if got != parse_size(size):
            problems.append(f"LUN {lun}: expected {parse_size(size)} bytes, got {got}")
    if problems:
        raise StepFailed("rescan: " + "; ".join(problems))
    return r


def do_tmf(ctx: Context, step: Step, ini: str) -> dict:
    b = step.body
    s = ctx.session(ini, step.session)
    d = ctx.driver(ini)
    handle, aborted = None, None
    if b["function"] == "abort_task":
        job = ctx.jobs[b["io"]]
        flights = ctx.driver(job.initiator).io_in_flight(job.name)
        if not flights:
            raise StepFailed(f"abort_task: no command of job {job.name} is in flight")
        aborted = min(flights, key=lambda f: f[5])
        handle = aborted[0]
    r = expect_failure(step, lambda: d.tmf(s.name, b["function"], b.get("lun", 0), handle, timeout=180))
    if "failed_as_expected" in r:
        return r
    want = b.get("response", "function_complete")
    if r["response"] != want:
        raise StepFailed(f"{b['function']}: the target answered {r['response']} ({r['words']}), "
                         f"expected {want}")
    out = {"response": r["response"]}
    if aborted:
        out["aborted"] = {"lba": aborted[2], "blocks": aborted[3], "write": aborted[1]}
    return out


# ------------------------------------------------------------------------ I/O
def do_io(ctx: Context, step: Step, ini: str) -> dict:
    b = step.body
    if b["op"] == "verify":
        return verify(ctx, step, ini)
    sessions = ctx.sessions_of(ini, step.session)
    # Several sessions (and initiators) writing at once get disjoint slices of the region.
    peers = [(i, s.name) for i in step.initiators for s in ctx.sessions_of(i, step.session)]
    jobs = []
    for s in sessions:
        k = peers.index((ini, s.name))
        name = b.get("name") or f"io{step.index}"
        if len(sessions) > 1 or len(step.initiators) > 1:
            name = f"{name}-{ini}-{s.name}"
        spec = {"op": b["op"], "lun": b.get("lun", 0), "queue_depth": b.get("queue_depth", 1),
                "random": b.get("random", False), "seed": b.get("seed", 1),
                "io_size": b.get("io_size", 4096), "read_percent": b.get("read_percent", 50)}
        if "lbas" in b:
            spec["first_lba"], spec["lba_count"] = b["lbas"][0], b["lbas"][1] - b["lbas"][0]
        if "size" in b:
            spec["size"] = b["size"]
        if "count" in b:
            spec["max_ios"] = b["count"]
        if "duration" in b:
            spec["seconds"] = b["duration"]
        if len(peers) > 1:
            spec["slice"] = [k, len(peers)]
        if not b.get("background") and "count" not in b and "duration" not in b:
            spec["one_pass"] = True
        job = Job(name=name, initiator=ini, session=s.name, target=s.target, lun=spec["lun"],
                  op=b["op"], block_size=0, first_lba=0, lba_count=0,
                  background=bool(b.get("background")), started=time.monotonic())
        info = ctx.start_job(job, spec)
        jobs.append((job, info))
    if b.get("background"):
        return {"jobs": [j.name for j, _ in jobs]}
    limit = (b.get("duration") or 0) + 600
    out = {}
    for job, info in jobs:
        if not ctx.finish_job(job, limit):
            raise StepFailed(f"io {job.name}: still running after {limit:g} s")
        out[job.name] = job.summary
    failed = sum(j.summary.get("failed", 0) for j, _ in jobs)
    errors = [f["error"] for j, _ in jobs for f in ctx.rec.io.get(j.name, {}).get("failed", [])]
    want = b.get("fails")
    if want:
        if not any(want.lower() in e.lower() for e in errors):
            raise StepFailed(f"io: expected a command to fail with {want!r}; "
                             f"{failed} failed" + (f" ({errors[0]})" if errors else ""))
    elif failed:
        raise StepFailed(f"io: {failed} command(s) failed; first: {errors[0] if errors else '?'}")
    return out


def verify(ctx: Context, step: Step, ini: str) -> dict:
    """Reads back every block the integrity map holds for the LUN (or `lbas`) and checks it."""
    b = step.body
    s = ctx.session(ini, None if step.session == "all" else step.session)
    lun = b.get("lun", 0)
    return verify_lun(ctx, ini, s, lun, tuple(b["lbas"]) if "lbas" in b else None,
                      read_bytes=b.get("io_size"))


def verify_lun(ctx: Context, ini: str, s: SessionRef, lun: int, lbas=None,
               only_if_changed: bool = False, read_bytes: int | None = None) -> dict:
    """Reads back what the integrity map holds for the LUN (or the `lbas` part) and checks it,
    in reads of `read_bytes` (default VERIFY_CHUNK blocks); with only_if_changed, nothing is
    read when no write was recorded since the last complete check (the end of a scenario after
    a `verify` step)."""
    key = (s.target, lun)
    if key not in ctx.integrity.luns:
        return {"blocks": 0, "note": "nothing was written to this LUN"}
    m = ctx.integrity.luns[key]
    if only_if_changed and m.verified == m.version:
        return {"blocks": 0, "note": "unchanged since the last read-back"}
    version = m.version
    d = ctx.driver(ini)
    chunk = max(1, read_bytes // m.block_size) if read_bytes else VERIFY_CHUNK
    problems, checked = [], 0
    for first, end in m.ranges(gap=VERIFY_CHUNK):
        if lbas:
            first, end = max(first, lbas[0]), min(end, lbas[1])
            if first >= end:
                continue
        for start in range(first, end, chunk):
            n = min(chunk, end - start)
            decoded = d.read_decode(s.name, start, n, lun, timeout=300)
            problems += ctx.integrity.check_blocks(s.target, lun, start, decoded)
            checked += sum(1 for b in range(start, start + n) if b in m.writes)
    result = {"blocks": checked, "problems": len(problems),
              "acknowledged_writes": ctx.integrity.acked, "failed_writes": ctx.integrity.failed}
    ctx.rec.integrity[m.name] = {**result, "first_problems": [str(p) for p in problems[:20]]}
    if problems:
        raise StepFailed(f"data integrity: {len(problems)} of {checked} blocks wrong; "
                         + "; ".join(str(p) for p in problems[:5]))
    if not lbas:
        m.verified = version
    return result


def do_stop(ctx: Context, step: Step, ini: str) -> dict:
    job = ctx.jobs[step.body["io"]]
    ctx.driver(job.initiator).io_stop(job.name)
    return finish(ctx, job, step.body.get("within", (0, 60))[1], "stop")


def do_await(ctx: Context, step: Step, ini: str) -> dict:
    job = ctx.jobs[step.body["io"]]
    return finish(ctx, job, step.body.get("within", (0, 120))[1], "await")


def finish(ctx: Context, job: Job, seconds: float, what: str) -> dict:
    ctx.progress.waiting_for(f"io job {job.name} to end (up to {seconds:g} s)")
    if not ctx.finish_job(job, seconds):
        flights = ctx.driver(job.initiator).io_in_flight(job.name)
        recent = [c[0] for c in ctx.rec.completions(job.name) if c[0] >= ctx.rec.now() - 2]
        if recent:
            raise StepFailed(f"{what} {job.name}: still running after {seconds:g} s "
                             f"({len(recent)} completions in the last 2 s, {len(flights)} in flight)")
        started = [f[5] for f in flights if f[5]]
        age = time.monotonic() - min(started) / 1e9 if started else 0.0
        raise StepFailed(f"{what} {job.name}: {len(flights)} command(s) still in flight after "
                         f"{seconds:g} s, none completing (stalled; the oldest for {age:.1f} s)")
    return {"summary": job.summary}


# ------------------------------------------------------------------------ the lab
def do_fault(ctx: Context, step: Step, ini: str) -> dict:
    b = step.body
    # The label marks when the fault was asked for: a remote call (QMP, nft, the guest agent)
    # takes effect somewhere inside it, and what it causes may be seen before it returns
    # (an ALUA state change answered by the next command within the same millisecond).
    asked = time.monotonic()
    apply_fault(ctx, b, b.get("on", False))
    if b.get("for") and b["kind"] != "clear" and b.get("on"):
        ctx.later(b["for"], lambda: apply_fault(ctx, b, False))
    return {"effect": asked}


def apply_fault(ctx: Context, b: dict, on: bool) -> None:
    """Turns one fault on or off. `clear` undoes first each fault that is on, by its own undo,
    then sweeps whatever the lab may still hold."""
    f = ctx.lab.faults
    kind, nic = b["kind"], b.get("nic", "nic0")
    if kind == "clear":
        # First each fault that is on, by its own undo (quick: this is the moment a later step
        # measures from), then the lab's sweep for anything left (guest qdiscs, helpers).
        # The corrupting proxy stays while sessions go through it (they would lose their path
        # and retry for ever); the end of the scenario stops it after the logouts.
        for body in list(ctx.active_faults.values()):
            if body["kind"] != "corrupt" or not b.get("keep_proxy"):
                apply_fault(ctx, body, False)
        f.clear(proxies=not b.get("keep_proxy"))
        undo_lio_changes(ctx)
        if ctx.proxy and not b.get("keep_proxy"):
            ctx.proxy = None
        for x in ctx.rec.faults:
            if x["off"] is None:
                x["off"] = ctx.rec.now()
        return
    if kind == "freeze":
        f.freeze() if on else f.thaw()
    elif kind == "link":
        (f.link_down if on else f.link_up)(nic, via=b.get("via", "qmp"))
    elif kind == "blackhole":
        f.blackhole(nic, on)
    elif kind == "reset":
        f.tcp_reset(nic, on)
    elif kind == "netem":
        to_target = b.get("direction") == "to_target"
        if on:
            (f.netem_to_target if to_target else f.netem)(
                nic, delay_ms=b.get("delay", 0) * 1000, jitter_ms=b.get("jitter", 0) * 1000,
                loss_pct=b.get("loss", 0))
        else:
            (f.netem_to_target_clear if to_target else f.netem_clear)(nic)
    elif kind == "flap":
        f.flap(nic, b["period"], via=b.get("via", "qmp")) if on else f.flap_stop(nic)
    elif kind == "alua":
        group = next(g for bs in ctx.lab.config.backstores() if bs.name == b["backstore"]
                     for g in bs.alua_groups if g.name == b["group"])
        ctx.lab.provisioner.alua_state(b["backstore"], b["group"],
                                       b["state"] if on else group.state,
                                       int(b.get("transition", 0) * 1000) if on else 0)
    elif kind == "rate":
        f.rate_limit(nic, b.get("kbit", 64)) if on else f.rate_limit_clear(nic)
    elif kind == "corrupt":
        if on:
            ctx.proxy = f.corrupt_proxy(nic, direction=b.get("direction", "to_initiator"),
                                        pdu=b.get("pdu"), byte=b.get("byte", 20),
                                        after_bytes=b.get("after_bytes"),
                                        header_digest=b.get("header_digest", False),
                                        data_digest=b.get("data_digest", False),
                                        connection=b.get("connection", 1),
                                        xor=b.get("xor", 0x01),
                                        data_in_every=b.get("data_in_every"),
                                        drop_every=b.get("drop_every"),
                                        drop_opcode=DROP_OPCODES.get(b.get("drop_pdu")))
        elif ctx.proxy:
            f.stop_proxy(ctx.proxy)
            ctx.proxy = None
    elif kind == "portal":
        port, tag = b.get("port", 3260), b.get("tag", 1)
        (f.portal_remove if on else f.portal_add)(b["target"], nic, port, tag)
        track_lio_change(ctx, ("portal", b["target"], nic, port, tag), on)
    elif kind == "tpg":
        tag = b.get("tag", 1)
        (f.tpg_disable if on else f.tpg_enable)(b["target"], tag)
        track_lio_change(ctx, ("tpg", b["target"], tag), on)
    where = {"nic": nic} if kind not in ("freeze", "tpg", "alua") else {"group": b.get("group")} \
        if kind == "alua" else {}
    key = (kind, *where.values(), b.get("target"), b.get("tag"), b.get("backstore"))
    with ctx.lock:
        if on:
            ctx.active_faults[key] = b
        else:
            ctx.active_faults.pop(key, None)
    ctx.rec.fault(kind, on, **where)


def track_lio_change(ctx: Context, change: tuple, on: bool) -> None:
    with ctx.lock:
        if on:
            ctx.lio_changes.append(change)
        elif change in ctx.lio_changes:
            ctx.lio_changes.remove(change)


def undo_lio_changes(ctx: Context) -> None:
    f = ctx.lab.faults
    for change in list(ctx.lio_changes):
        if change[0] == "portal":
            _, target, nic, port, tag = change
            f.portal_add(target, nic, port, tag)
        else:
            _, target, tag = change
            f.tpg_enable(target, tag)
        ctx.lio_changes.remove(change)


def backstore_of(ctx: Context, target: str, tag: int, lun: int) -> str:
    for t in ctx.lab.config.targets:
        if t.name == target:
            for tpg in t.tpgs:
                if tpg.tag == tag:
                    for l in tpg.luns:
                        if l.lun == lun:
                            return l.backstore.name
    for name in ctx.added_backstores.get((target, tag, lun), []):
        return name
    raise StepFailed(f"{target} TPG {tag} has no LUN {lun} in the lab file")


def do_lun(ctx: Context, step: Step, ini: str) -> dict:
    b = step.body
    target, tag = b["target"], b.get("tag", 1)
    p = ctx.lab.provisioner
    ctx.mutated_lab = True
    if "resize" in b:
        lun = b["resize"].get("lun", 0)
        size = p.resize(backstore_of(ctx, target, tag, lun), b["resize"]["size"])
        return {"size": size, "effect": time.monotonic()}
    if "add" in b:
        lun = b["add"]                      # a provision.config.Lun, built by the loader
        p.add_lun(target, lun.lun, lun.backstore, tag)
        ctx.added_backstores.setdefault((target, tag, lun.lun), []).append(lun.backstore.name)
        return {"added": lun.lun, "effect": time.monotonic()}
    p.remove_lun(target, b["remove"], tag)
    return {"removed": b["remove"], "effect": time.monotonic()}


def do_target(ctx: Context, step: Step, ini: str) -> dict:
    b = step.body
    target, tag = b["target"], b.get("tag", 1)
    p = ctx.lab.provisioner
    ctx.mutated_lab = True
    if "tpg" in b:
        p.tpg_enable(target, b["tpg"] == "enable", tag)
    elif "portal" in b:
        port = b["portal"].get("port", 3260)
        for action in ("add", "remove"):
            if action in b["portal"]:
                p.portal(target, b["portal"][action], add=action == "add", port=port, tag=tag)
    elif "acl" in b:
        if "add" in b["acl"]:
            p.acl_add(target, b["acl"]["add"], tag)   # a provision.config.Acl, built by the loader
        else:
            p.acl_remove(target, b["acl"]["remove"], tag)
    elif "attributes" in b:
        p.set_attributes(target, b["attributes"], tag)
    else:
        p.set_parameters(target, b["parameters"], tag)
    return {"effect": time.monotonic()}


def do_wait(ctx: Context, step: Step, ini: str) -> dict:
    seconds = step.body["for"]
    ctx.progress.waiting_for(f"{seconds:g} s to pass")
    time.sleep(seconds)
    return {"effect": time.monotonic()}


def do_parallel(ctx: Context, step: Step, ini: str) -> dict:
    from .execute import run_step   # the executor runs each child as a step of its own
    barrier = threading.Barrier(len(step.children))
    results: dict[str, str | None] = {}

    def one(child):
        barrier.wait()
        results[child.index] = run_step(ctx, child, raise_on_failure=False)

    threads = [threading.Thread(target=one, args=(c,)) for c in step.children]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = {i: e for i, e in results.items() if e}
    if failed:
        raise StepFailed("; ".join(f"step {i}: {e}" for i, e in sorted(failed.items())))
    return {}


def do_expect(ctx: Context, step: Step, ini: str) -> dict:
    from .expect import run_expect
    return run_expect(ctx, step, ini)


HANDLERS: dict[str, Callable[[Context, Step, str], dict]] = {
    "discover": do_discover, "login": do_login, "logout": do_logout, "nop": do_nop,
    "multipath": do_multipath,
    "rescan": do_rescan, "tmf": do_tmf, "io": do_io, "stop": do_stop, "await": do_await,
    "fault": do_fault, "lun": do_lun, "target": do_target, "parallel": do_parallel,
    "wait": do_wait, "expect": do_expect, "iscsiadm": do_iscsiadm, "nbd": do_nbd,
}

# Steps that act on the lab, not on an initiator: run once whatever `initiator:` says.
ONCE = {"fault", "lun", "target", "parallel", "wait", "stop", "await", "iscsiadm", "nbd"}
