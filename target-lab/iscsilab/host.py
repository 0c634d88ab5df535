"""Facts about the host the lab runs on: root, kernel ABI, Debian packages, runtime dirs.

Everything here either answers a question or raises a LabError whose message says what to do,
so that the layers above can fail with one clear line instead of a traceback.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from .errors import LabError


def rootless() -> bool:
    """Not root: the lab then runs in a user + network namespace of its own (see net.py)."""
    return os.geteuid() != 0


def _default_runtime_root() -> Path:
    if not rootless():
        return Path("/run/iscsilab")
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and Path(xdg).is_dir() and os.access(xdg, os.W_OK):
        return Path(xdg, "iscsilab")
    return Path(f"/tmp/iscsilab-{os.geteuid()}")


def _default_cache_root() -> Path:
    if not rootless():
        return Path("/var/cache/iscsilab")
    # Per user: root's cache is root's (0600 files), and a shared writable one could be
    # replaced under another user's feet.
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg, "iscsilab")
    home = Path(os.path.expanduser("~"))
    if home.is_dir() and os.access(home, os.W_OK):
        return home / ".cache" / "iscsilab"
    return Path(f"/var/tmp/iscsilab-cache-{os.geteuid()}")


RUNTIME_ROOT = Path(os.environ.get("ISCSILAB_RUNTIME") or _default_runtime_root())
CACHE_ROOT = Path(os.environ.get("ISCSILAB_CACHE") or _default_cache_root())

# Programs the lab runs on the host, and the Debian package that ships each one.
HOST_PROGRAMS = {
    "qemu-system-x86_64": "qemu-system-x86",
    "busybox": "busybox-static",
    "modprobe": "kmod",
    "ip": "iproute2",
    "nft": "nftables",
}
# Files the guest uses through the shared root; the guest has no package manager of its own.
GUEST_FILES = {
    "/usr/lib/python3/dist-packages/rtslib_fb/__init__.py": "python3-rtslib-fb",
    "/usr/sbin/losetup": "mount",
    "/usr/sbin/tc": "iproute2",
    "/usr/bin/dbus-daemon": "dbus",   # targetcli-fb wants a system bus (Lab.targetcli)
}

# What the Linux initiator guest runs from the shared root (initiator/linux).
LINUX_INITIATOR_FILES = {
    "/sbin/iscsid": "open-iscsi",
    "/sbin/iscsiadm": "open-iscsi",
    "/sbin/multipathd": "multipath-tools",
    "/lib/systemd/systemd-udevd": "udev",
}


def require_linux_initiator_packages() -> None:
    missing = sorted({pkg for path, pkg in LINUX_INITIATOR_FILES.items() if not Path(path).exists()})
    if missing:
        raise LabError("the Linux initiator guest runs these from the host's root; install them "
                       "with: apt-get install -y --no-install-recommends " + " ".join(missing))


def private_dir(path: Path) -> Path:
    """Creates `path` (0700) or checks that an existing one is ours: without root the runtime
    and cache roots may live in /tmp or /var/tmp, where another user could have planted them."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise LabError(f"cannot create {path}: {exc.strerror}; set ISCSILAB_RUNTIME and "
                       "ISCSILAB_CACHE to directories you own") from None
    st = path.lstat()
    if rootless() and (path.is_symlink() or st.st_uid != os.geteuid()):
        raise LabError(f"{path} belongs to uid {st.st_uid}, not to you (uid {os.geteuid()}); "
                       "remove it or set ISCSILAB_RUNTIME / ISCSILAB_CACHE elsewhere")
    return path


def require_rootless_support(what: str = "the lab") -> None:
    """Without root the lab needs /dev/net/tun and unprivileged user namespaces; says which is
    missing and what to do. (Whether unshare itself works is checked when the namespace is
    made, in net.create, with the kernel's answer.)"""
    if not rootless():
        return
    try:
        os.close(os.open("/dev/net/tun", os.O_RDWR))
    except OSError as exc:
        raise LabError(f"{what} without root: cannot open /dev/net/tun ({exc.strerror}); run it "
                       "as root (sudo) or make /dev/net/tun usable (mode 0666)") from None
    for prog in ("unshare", "nsenter"):
        if shutil.which(prog) is None:
            raise LabError(f"{what} without root needs {prog}; install it with: "
                           "apt-get install -y util-linux")


def missing_packages() -> list[str]:
    missing = [pkg for prog, pkg in HOST_PROGRAMS.items() if shutil.which(prog) is None
               and not Path("/usr/sbin", prog).exists() and not Path("/sbin", prog).exists()]
    missing += [pkg for path, pkg in GUEST_FILES.items() if not Path(path).exists()]
    return sorted(set(missing))


def require_packages() -> None:
    missing = missing_packages()
    if missing:
        raise LabError("missing Debian packages; install them with: "
                       f"apt-get install -y {' '.join(missing)}")


def kernel_abi(boot: Path = Path("/boot"), modules: Path = Path("/lib/modules")) -> str:
    """The ABI of the Debian kernel the guest boots (not the host's running kernel).

    ISCSILAB_KERNEL overrides; otherwise the newest <boot>/vmlinuz-* that has a matching
    <modules>/<abi>/modules.dep.
    """
    forced = os.environ.get("ISCSILAB_KERNEL")
    images = sorted(boot.glob("vmlinuz-*"), key=_version_key)
    abis = [forced] if forced else [p.name[len("vmlinuz-"):] for p in images]
    if not abis:
        raise LabError(f"no kernel image in {boot}; install one with: apt-get install -y linux-image-amd64")
    for abi in reversed(abis):
        if not (boot / f"vmlinuz-{abi}").exists():
            raise LabError(f"ISCSILAB_KERNEL={abi}: {boot}/vmlinuz-{abi} does not exist")
        if (modules / abi / "modules.dep").exists():
            return abi
    found = ", ".join(sorted(p.name for p in modules.iterdir())) if modules.exists() else "none"
    raise LabError(
        f"kernel image(s) {', '.join(abis)} in {boot} but no matching modules in {modules} "
        f"(found: {found}); reinstall with: apt-get install --reinstall -y linux-image-amd64")


def _version_key(path: Path) -> list:
    return [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", path.name)]


def kernel_image(abi: str) -> Path:
    return Path("/boot", f"vmlinuz-{abi}")


def package_dir() -> Path:
    """The directory that holds the iscsilab package: the guest puts it on its PYTHONPATH."""
    return Path(__file__).resolve().parent.parent


def runtime_dir(name: str) -> Path:
    return RUNTIME_ROOT / name


def runtime_root() -> Path:
    return private_dir(RUNTIME_ROOT)


def cache_root() -> Path:
    return private_dir(CACHE_ROOT)
