"""Guest-side LIO operations through rtslib-fb: the handler module of the guest agent.

Runs inside the VM only (Debian's python3 with python3-rtslib-fb from the host's root). Each
entry of HANDLERS takes the request's arguments as a dict and returns JSON-able data. CHAP
secrets arrive in arguments and are written to configfs; they are never returned: dumps mask
them with a fingerprint, so that dump equality still compares them.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import subprocess
import threading
import time

STATE_DIR = "/var/lib/iscsilab"
MODULES_READY = "/run/iscsilab/modules-ready"
SAVEFILE = "/etc/target/saveconfig.json"
SECRET_KEYS = ("password", "mutual_password", "chap_password", "chap_mutual_password",
               "discovery_password", "discovery_mutual_password")

_rtslib = None
_rtslib_lock = threading.Lock()


def warm() -> None:
    """Imports rtslib-fb in the background at agent start (about 2 s under TCG)."""
    rtslib()


def rtslib():
    global _rtslib
    with _rtslib_lock:
        if _rtslib is None:
            # The agent runs with `python3 -S`: add site-packages (where Debian puts
            # rtslib-fb) only now, without the start-up cost of .pth processing.
            import site
            import sys
            for path in site.getsitepackages():
                if path not in sys.path:
                    sys.path.append(path)
            import rtslib_fb
            _rtslib = rtslib_fb
    return _rtslib


def wait_for_modules(timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.exists(MODULES_READY):
        if time.monotonic() > deadline:
            raise RuntimeError("LIO modules did not load (see the console log)")
        time.sleep(0.02)
    if not os.path.isdir("/sys/kernel/config/target"):
        raise RuntimeError("configfs has no target/ directory: target_core_mod did not load")


# ---------------------------------------------------------------- lookups
def fabric():
    return rtslib().FabricModule("iscsi")


def find_tpg(target: str, tag: int):
    r = rtslib()
    return r.TPG(r.Target(fabric(), target, mode="lookup"), tag, mode="lookup")


def find_storage(name: str):
    for so in rtslib().RTSRoot().storage_objects:
        if so.name == name:
            return so
    raise KeyError(f"no backstore named {name}")


# ---------------------------------------------------------------- backstores
def create_backstore(bs: dict):
    r = rtslib()
    kind, name, size = bs["type"], bs["name"], bs.get("size")
    os.makedirs(STATE_DIR, exist_ok=True)
    image = f"{STATE_DIR}/{name}.img"
    if kind == "ramdisk":
        return r.RDMCPStorageObject(name, size=size)
    if kind == "fileio":
        return r.FileIOStorageObject(name, dev=image, size=size, write_back=bs.get("write_back", False))
    if kind == "block":
        # A loop device over a sparse file: iblock follows the device's size, so growing the
        # file and `losetup -c` resizes the LUN live (fileio keeps the size it was made with).
        with open(image, "wb") as f:
            f.truncate(size)
        loop = subprocess.run(["losetup", "-f", "--show", image], check=True,
                              capture_output=True, text=True).stdout.strip()
        return r.BlockStorageObject(name, dev=loop, write_back=bs.get("write_back", False))
    if kind == "pscsi":
        return r.PSCSIStorageObject(name, dev=scsi_disk(name))
    raise ValueError(f"unknown backstore type {kind}")


def scsi_disk(serial: str, timeout: float = 20.0) -> str:
    """The /dev/sdX whose VPD serial is `serial` (QEMU's scsi-hd got serial=<backstore name>)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for vpd in glob.glob("/sys/block/sd*/device/vpd_pg80"):
            with open(vpd, "rb") as f:
                if f.read()[4:].strip(b"\0 ").decode(errors="replace") == serial:
                    return "/dev/" + vpd.split("/")[3]
        time.sleep(0.1)
    raise RuntimeError(f"no SCSI disk with serial {serial} (virtio-scsi not up?)")


def delete_backstore(so) -> None:
    dev = so.udev_path if so.plugin == "block" else None
    so.delete()
    if dev and dev.startswith("/dev/loop"):
        backing = _loop_backing(dev)
        subprocess.run(["losetup", "-d", dev], check=False)
        if backing and backing.startswith(STATE_DIR):
            os.unlink(backing)
    elif so.plugin == "fileio" and so.udev_path.startswith(STATE_DIR):
        os.unlink(so.udev_path)


def _loop_backing(dev: str) -> str | None:
    try:
        with open(f"/sys/block/{os.path.basename(dev)}/loop/backing_file") as f:
            return f.read().strip()
    except OSError:
        return None


# ---------------------------------------------------------------- TPGs
def set_settings(obj, kind: str, settings: dict) -> None:
    """Sets attributes or parameters, checking them against what this kernel exposes."""
    available = set(obj.list_attributes() if kind == "attribute" else obj.list_parameters())
    for key, value in settings.items():
        if key not in available:
            raise ValueError(f"this kernel's TPG has no {kind} {key!r} "
                             f"(available: {', '.join(sorted(available))})")
        (obj.set_attribute if kind == "attribute" else obj.set_parameter)(key, str(value))


def set_chap(obj, auth: dict | None, prefix: str = "chap_") -> None:
    if not auth:
        return
    setattr(obj, prefix + "userid", auth["userid"])
    setattr(obj, prefix + "password", auth["password"])
    setattr(obj, prefix + "mutual_userid", auth.get("mutual_userid") or "")
    setattr(obj, prefix + "mutual_password", auth.get("mutual_password") or "")


def storage_object(bs: dict):
    """The backstore `bs` names: the one already made (LUNs of several TPGs may share it), or a
    new one with its ALUA target port groups."""
    for so in rtslib().RTSRoot().storage_objects:
        if so.name == bs["name"]:
            return so
    so = create_backstore(bs)
    for g in bs.get("alua_groups") or []:
        group = rtslib().ALUATargetPortGroup(so, g["name"], g["id"])
        group.alua_access_type = 3          # implicit and explicit (SET TARGET PORT GROUPS)
        group.preferred = 1 if g.get("preferred") else 0
        group.alua_access_state = ALUA_STATES[g.get("state", "active/optimized")]
    return so


ALUA_STATES = {"active/optimized": 0, "active/non-optimized": 1, "standby": 2,
               "unavailable": 3, "offline": 14, "transitioning": 15}


def create_tpg(target, spec: dict):
    r = rtslib()
    tpg = r.TPG(target, spec["tag"])
    attributes = dict(spec.get("attributes") or {})
    uses_chap = spec.get("auth") or any(a.get("auth") for a in spec.get("acls") or [])
    if uses_chap:
        attributes.setdefault("authentication", "1")
    set_settings(tpg, "attribute", attributes)
    set_settings(tpg, "parameter", spec.get("parameters") or {})
    set_chap(tpg, spec.get("auth"))
    for lun in spec.get("luns") or []:
        made = r.LUN(tpg, lun["lun"], storage_object(lun["backstore"]))
        if lun.get("alua_group"):
            made.alua_tg_pt_gp_name = lun["alua_group"]
    for acl in spec.get("acls") or []:
        create_acl(tpg, acl)
    for portal in spec.get("portals") or []:
        r.NetworkPortal(tpg, portal["ip"], portal["port"])
    tpg.enable = spec.get("enable", True)
    return tpg


def create_acl(tpg, spec: dict):
    r = rtslib()
    acl = r.NodeACL(tpg, spec["initiator"])
    set_chap(acl, spec.get("auth"))
    mapped = spec.get("mapped_luns")
    if mapped is None:
        mapped = [{"mapped_lun": l.lun, "tpg_lun": l.lun, "write_protect": False} for l in tpg.luns]
    for m in mapped:
        r.MappedLUN(acl, m["mapped_lun"], m["tpg_lun"], m.get("write_protect", False))
    return acl


# ---------------------------------------------------------------- handlers
def op_apply(args: dict) -> dict:
    """Creates everything in a lab config (wire form: portals already resolved to addresses)."""
    wait_for_modules()
    r = rtslib()
    started = time.monotonic()
    # RTSRoot() sets LIO's dbroot, which the kernel only accepts before the first device
    # exists: done once here, later RTSRoot() calls stay quiet instead of logging refusals.
    r.RTSRoot()
    iscsi = fabric()
    if args.get("discovery_auth"):
        set_chap(iscsi, args["discovery_auth"], prefix="discovery_")
        iscsi.discovery_enable_auth = True
    for t in args["targets"]:
        target = r.Target(iscsi, t["name"])
        for tpg in t["tpgs"]:
            create_tpg(target, tpg)
    return {"seconds": time.monotonic() - started}


def op_add_lun(args: dict) -> dict:
    tpg = find_tpg(args["target"], args["tag"])
    lun = rtslib().LUN(tpg, args["lun"], create_backstore(args["backstore"]))
    # Generated (demo-mode) ACLs see new LUNs by themselves and are not listed in configfs;
    # every listed ACL is explicit and needs a mapping.
    if args.get("map_to_acls", True):
        for acl in tpg.node_acls:
            rtslib().MappedLUN(acl, args["lun"], lun)
    return {"lun": lun.lun}


def op_remove_lun(args: dict) -> None:
    tpg = find_tpg(args["target"], args["tag"])
    for lun in tpg.luns:
        if lun.lun == args["lun"]:
            so = lun.storage_object
            for acl in tpg.node_acls:
                for mlun in acl.mapped_luns:
                    if mlun.tpg_lun.lun == lun.lun:
                        mlun.delete()
            lun.delete()
            if args.get("delete_backstore", True):
                delete_backstore(so)
            return
    raise KeyError(f"{args['target']} tpg {args['tag']} has no LUN {args['lun']}")


def op_resize(args: dict) -> dict:
    so = find_storage(args["backstore"])
    if so.plugin != "block" or not so.udev_path.startswith("/dev/loop"):
        raise ValueError(f"backstore {so.name} is {so.plugin}: only block (loop) backstores resize "
                         "live in LIO")
    backing = _loop_backing(so.udev_path)
    with open(backing, "r+b") as f:
        f.truncate(args["size"])
    subprocess.run(["losetup", "-c", so.udev_path], check=True, capture_output=True)
    with open(f"/sys/block/{os.path.basename(so.udev_path)}/size") as f:
        return {"size": int(f.read()) * 512}


def op_tpg_enable(args: dict) -> None:
    find_tpg(args["target"], args["tag"]).enable = bool(args["enable"])


def op_portal(args: dict) -> None:
    r = rtslib()
    tpg = find_tpg(args["target"], args["tag"])
    if args["add"]:
        r.NetworkPortal(tpg, args["ip"], args["port"])
    else:
        r.NetworkPortal(tpg, args["ip"], args["port"], mode="lookup").delete()


def op_acl(args: dict) -> None:
    """Adds an ACL (spec as in a lab file, wire form) or removes the one for `remove` (IQN)."""
    tpg = find_tpg(args["target"], args["tag"])
    if args.get("add"):
        create_acl(tpg, args["add"])
    else:
        for acl in tpg.node_acls:
            if acl.node_wwn == args["remove"]:
                acl.delete()
                return
        raise KeyError(f"{args['target']} tpg {args['tag']} has no ACL for {args['remove']}")


def op_alua_state(args: dict) -> dict:
    """Sets an ALUA group's access state; with transition_ms, LIO reports the group as
    transitioning for that long first (trans_delay_msecs), as an array does while it moves.
    LIO sleeps through the delay inside the configfs write, so the write runs in a thread and
    this returns once the group shows `transitioning` (the agent stays free meanwhile)."""
    so = find_storage(args["backstore"])
    group = rtslib().ALUATargetPortGroup(so, args["group"])   # no id: look the group up
    delay = int(args.get("transition_ms") or 0)
    group.trans_delay_msecs = delay
    state = ALUA_STATES[args["state"]]
    if not delay:
        group.alua_access_state = state
        return {"state": group.alua_access_state}
    writer = threading.Thread(target=lambda: setattr(group, "alua_access_state", state), daemon=True)
    writer.start()
    deadline = time.monotonic() + 10
    while group.alua_access_state != ALUA_STATES["transitioning"] and writer.is_alive():
        if time.monotonic() > deadline:
            raise RuntimeError("the ALUA group did not start its transition")
        time.sleep(0.01)
    return {"state": ALUA_STATES["transitioning"]}


def op_set(args: dict) -> None:
    set_settings(find_tpg(args["target"], args["tag"]), args["kind"], args["settings"])


def op_capabilities(args: dict) -> dict:
    tpg = find_tpg(args["target"], args["tag"])
    return {"attributes": sorted(tpg.list_attributes()), "parameters": sorted(tpg.list_parameters())}


def op_sessions(args: dict) -> list:
    """Sessions of the TPG: one entry per session of a generated ACL, one per explicit ACL
    with a session (NodeACL.session parses configfs `info`, which shows an ACL's latest
    session only: several sessions of one explicit ACL count as one here)."""
    tpg = find_tpg(args["target"], args["tag"])
    out = []
    try:
        # One "name\n\0" per session of a generated (demo-mode) ACL, so a name repeats once
        # per session; LIO stops at a page (about a hundred sessions).
        with open(f"{tpg.path}/dynamic_sessions") as f:
            out += [{"initiator": n.strip(), "dynamic": True} for n in f.read().split("\0")
                    if n.strip()]
    except OSError:
        pass
    for acl in tpg.node_acls:
        session = acl.session
        if session:
            out.append({"initiator": acl.node_wwn, "state": session.get("state"),
                        "connections": len(session.get("connections", []))})
    return out


def op_dump(args: dict) -> dict:
    wait_for_modules()
    return canonical(mask(rtslib().RTSRoot().dump()))


def op_save(args: dict) -> None:
    os.makedirs(os.path.dirname(args.get("path", SAVEFILE)), exist_ok=True)
    rtslib().RTSRoot().save_to_file(args.get("path", SAVEFILE))


def op_restore(args: dict) -> list:
    errors = rtslib().RTSRoot().restore_from_file(args.get("path", SAVEFILE), clear_existing=True,
                                                  abort_on_error=True)
    return [str(e) for e in errors or []]


def op_clear(args: dict) -> None:
    rtslib().RTSRoot().clear_existing(confirm=True)


def canonical(value):
    """Lists in a stable order: configfs lists objects in creation order, which a restore
    does not keep, and order carries no meaning in LIO's config."""
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [canonical(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return value


def mask(value):
    """Replaces secrets by a short fingerprint: dumps can be compared, never read for secrets."""
    if isinstance(value, dict):
        return {k: ("<secret %s>" % hashlib.sha256(v.encode()).hexdigest()[:12]
                    if k in SECRET_KEYS and isinstance(v, str) and v else mask(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


HANDLERS = {
    "lio.apply": op_apply, "lio.add_lun": op_add_lun, "lio.remove_lun": op_remove_lun,
    "lio.resize": op_resize, "lio.tpg_enable": op_tpg_enable, "lio.portal": op_portal,
    "lio.acl": op_acl, "lio.alua_state": op_alua_state,
    "lio.set": op_set, "lio.capabilities": op_capabilities, "lio.sessions": op_sessions,
    "lio.dump": op_dump, "lio.save": op_save, "lio.restore": op_restore, "lio.clear": op_clear,
}
