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

RUNTIME_ROOT = Path(os.environ.get("ISCSILAB_RUNTIME", "/run/iscsilab"))
CACHE_ROOT = Path(os.environ.get("ISCSILAB_CACHE", "/var/cache/iscsilab"))

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
}


def require_root(what: str = "the lab") -> None:
    if os.geteuid() != 0:
        raise LabError(
            f"{what} needs root: it creates network namespaces and taps and starts QEMU on them. "
            "Run it with sudo (unprivileged user namespaces are not supported by this lab yet)."
        )


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
