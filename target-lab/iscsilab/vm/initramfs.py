"""Builds the guest's initramfs: busybox, the modules needed to reach the host's root, and /init.

The image is cached under CACHE_ROOT keyed by kernel ABI and a hash of everything that goes
into it, so a second `lab up` reuses it and a changed init script or module rebuilds it.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ..errors import LabError
from ..host import CACHE_ROOT, cache_root

# What /init loads: virtio PCI, 9p to mount the host's root, overlay for the writable tmpfs
# layer, virtio_console for the agent port, and LIO with its backstores (plus loop and
# virtio-scsi for block and pscsi LUNs), so that LIO starts from RAM before anything is read
# over 9p. Other modules load later from the host's /lib/modules, with the guest's modprobe.
EARLY_MODULES = ["virtio_pci", "virtio_net", "virtio_console", "9pnet_virtio", "9p", "overlay",
                 "configfs", "target_core_mod", "iscsi_target_mod", "target_core_file",
                 "target_core_iblock", "target_core_pscsi", "loop", "virtio_scsi", "sd_mod", "sg"]
INIT_SCRIPT = Path(__file__).with_name("guest") / "init"


def module_paths(abi: str, modules: list[str] = EARLY_MODULES) -> list[Path]:
    """Module files in load order, dependencies first, each once (modprobe --show-depends)."""
    seen: list[Path] = []
    for name in modules:
        # One module per call: extra names would be taken as module parameters.
        out = subprocess.run(["modprobe", "--show-depends", "-S", abi, name],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise LabError(f"kernel {abi}: module {name} not found "
                           f"({out.stderr.strip()}); reinstall linux-image-{abi}")
        for line in out.stdout.splitlines():
            parts = line.split()
            if parts and parts[0] == "insmod" and Path(parts[1]) not in seen:
                seen.append(Path(parts[1]))
    return seen


def _cpio_newc(entries: list[tuple[str, int, bytes]]) -> bytes:
    """A newc cpio archive from (path, mode, data) entries; directories have empty data."""
    out = io.BytesIO()
    for ino, (name, mode, data) in enumerate(entries + [("TRAILER!!!", 0, b"")], start=1):
        encoded = name.encode() + b"\0"
        header = "070701" + "".join(f"{v:08X}" for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0))
        out.write(header.encode() + encoded)
        out.write(b"\0" * (-(110 + len(encoded)) % 4))
        out.write(data)
        out.write(b"\0" * (-len(data) % 4))
    return out.getvalue()


def build(abi: str, replace: dict[str, Path] | None = None) -> Path:
    """Returns the path of a cached initramfs for kernel `abi`, building it if needed.

    `replace` maps a module name to a file loaded in its place (the split-brain guard's
    iscsi_target_mod.ko); it must have the same dependencies.
    """
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not Path(busybox).exists():
        raise LabError("busybox not found; install it with: apt-get install -y busybox-static")
    modules = module_paths(abi)
    for name, path in (replace or {}).items():
        stock = [m for m in modules if m.name in (f"{name}.ko", f"{name}.ko.xz")]
        if not stock:
            raise LabError(f"cannot replace module {name}: the initramfs does not load it")
        modules[modules.index(stock[0])] = Path(path)
    inputs = [Path(busybox), INIT_SCRIPT, Path(__file__), *modules]
    digest = hashlib.sha256()
    for path in inputs:
        digest.update(str(path).encode())
        digest.update(path.read_bytes())
    compress = os.environ.get("ISCSILAB_INITRAMFS_GZIP", "0") == "1"
    digest.update(b"gzip" if compress else b"raw")
    target = CACHE_ROOT / f"initramfs-{abi}-{digest.hexdigest()[:16]}.cpio{'.gz' if compress else ''}"
    if target.exists():
        os.utime(target)  # in use: see the clean-up below
        return target

    dirs = ["bin", "dev", "proc", "sys", "lower", "rw", "newroot", "lib", "lib/modules", "state",
            "var", "var/lib", "var/lib/iscsilab"]
    entries: list[tuple[str, int, bytes]] = [(d, 0o040755, b"") for d in dirs]
    entries.append(("bin/busybox", 0o100755, Path(busybox).read_bytes()))
    entries.append(("init", 0o100755, INIT_SCRIPT.read_bytes()))
    order = []
    for path in modules:
        entries.append((f"lib/modules/{path.name}", 0o100644, path.read_bytes()))
        order.append(path.name)
    entries.append(("lib/modules/order", 0o100644, ("\n".join(order) + "\n").encode()))

    cache_root()
    # Uncompressed by default: measured no slower than gzip -1 under TCG (QEMU copies 7 MB into
    # guest memory at once) and one step less; ISCSILAB_INITRAMFS_GZIP=1 to compare again.
    data = _cpio_newc(entries)
    if compress:
        data = gzip.compress(data, compresslevel=1)
    fd, tmp = tempfile.mkstemp(dir=CACHE_ROOT, prefix=".initramfs-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, target)
    # Older images for this kernel are dead weight, unless used within the last minutes: a
    # lab booting side by side from another checkout (other init, other hash) may be about to
    # hand its image to QEMU.
    for old in CACHE_ROOT.glob(f"initramfs-{abi}-*"):
        try:
            if old != target and old.stat().st_mtime < time.time() - 600:
                old.unlink(missing_ok=True)
        except OSError:
            pass
    return target
