"""Builds LIO's iscsi_target_mod.ko with iscsi-lab's single-session guard patch, out of tree.

Inputs are Debian packages whose versions must agree: the kernel the guest boots
(linux-image-<abi>), its headers (linux-headers-<abi>, for Kbuild) and the source
(linux-source-<major.minor>, for drivers/target/iscsi). The module is built once per kernel ABI,
source version and patch hash, and cached:

    <cache>/guard/<abi>-<source version>-<patch sha256[:12]>/iscsi_target_mod.ko

Building takes ~10 s of tar plus ~15-40 s of make on 2 cores; a cached module costs a hash.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import host
from ..errors import LabError

PATCH = Path(__file__).resolve().parents[2] / "kernel" / "iscsi-target-single-session-guard.patch"
MODULE = "iscsi_target_mod.ko"
# What the module is built from, inside the source tarball (cxgbit is a separate module).
SOURCE_DIRS = ("drivers/target/iscsi", "include/target/iscsi")


@dataclass
class KernelSources:
    abi: str               # 6.1.0-56-amd64
    version: str           # Debian version shared by image, headers and source: 6.1.192-2
    headers: Path          # /lib/modules/<abi>/build
    tarball: Path          # /usr/src/linux-source-6.1.tar.xz


def _dpkg_version(package: str) -> str | None:
    out = subprocess.run(["dpkg-query", "-W", "-f=${Status}\t${Version}", package],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return None
    status, _, version = out.stdout.partition("\t")
    return version if status.endswith(" installed") else None


def find_sources(abi: str | None = None) -> KernelSources:
    """Checks that image, headers and source of the guest's kernel are installed and agree."""
    abi = abi or host.kernel_abi()
    m = re.match(r"^(\d+)\.(\d+)\.", abi)
    if not m:
        raise LabError(f"kernel ABI {abi!r}: cannot tell its major.minor version")
    series = f"{m.group(1)}.{m.group(2)}"
    packages = {"image": f"linux-image-{abi}", "headers": f"linux-headers-{abi}",
                "source": f"linux-source-{series}"}
    versions = {role: _dpkg_version(pkg) for role, pkg in packages.items()}
    image = versions["image"]
    missing = [packages[r] for r in ("headers", "source") if versions[r] is None]
    if image is None:
        raise LabError(f"the guest's kernel {abi} is not an installed Debian package "
                       f"({packages['image']}); the guard module is built against Debian's")
    if missing:
        pins = " ".join(f"{p}={image}" for p in missing)
        raise LabError("the split-brain guard module is built from the kernel's source and "
                       f"headers, which are missing; install them with: apt-get install -y {pins}")
    disagree = {packages[r]: v for r, v in versions.items() if v != image}
    if disagree:
        listed = ", ".join(f"{p} {v}" for p, v in disagree.items())
        raise LabError(f"kernel packages disagree: {packages['image']} is {image} but {listed}; "
                       f"install matching ones: apt-get install -y "
                       + " ".join(f"{p}={image}" for p in disagree))
    headers = Path("/lib/modules", abi, "build")
    tarball = Path("/usr/src", f"linux-source-{series}.tar.xz")
    for path, pkg in ((headers / "Makefile", packages["headers"]), (tarball, packages["source"])):
        if not path.exists():
            raise LabError(f"{path} is missing although {pkg} is installed; reinstall it: "
                           f"apt-get install --reinstall -y {pkg}")
    return KernelSources(abi, image, headers, tarball)


def patch_digest() -> str:
    if not PATCH.exists():
        raise LabError(f"the guard patch {PATCH} is missing from this checkout")
    return hashlib.sha256(PATCH.read_bytes()).hexdigest()[:12]


def cached_module(src: KernelSources) -> Path:
    return host.cache_root() / "guard" / f"{src.abi}-{src.version}-{patch_digest()}" / MODULE


def _run(argv: list[str], cwd: Path, log: Path, what: str) -> None:
    with open(log, "ab") as out:
        out.write(("$ " + " ".join(argv) + "\n").encode())
        out.flush()
        rc = subprocess.run(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        tail = log.read_text(errors="replace").splitlines()[-25:]
        raise LabError(f"guard module: {what} failed (exit {rc}); last lines of {log}:\n"
                       + "\n".join(tail))


def _kbuild(makefile: Path) -> str:
    """A Kbuild for `make M=`: the objects of the in-tree Makefile, and our headers first."""
    text = makefile.read_text().replace("\\\n", " ")
    objs = []
    for line in text.splitlines():
        if line.startswith("iscsi_target_mod-y"):
            objs += line.split("+=", 1)[1].split()
    if "iscsi_target_guard.o" not in objs:
        raise LabError(f"{makefile}: the patched Makefile does not list iscsi_target_guard.o")
    # NOSTDINC_FLAGS comes before the kernel's own -I flags, so the patched
    # include/target/iscsi/iscsi_target_core.h wins over the headers package's copy.
    return ("obj-m := iscsi_target_mod.o\n"
            f"iscsi_target_mod-y := {' '.join(objs)}\n"
            "NOSTDINC_FLAGS += -I$(src)/../../../include\n"
            "CFLAGS_iscsi_target_guard.o += -Werror\n")


def build_module(abi: str | None = None, jobs: int = 2, log=None) -> Path:
    """Returns the cached guard module for the guest's kernel, building it first if needed.

    ISCSILAB_GUARD_MODULE=<file.ko> uses that module instead (a variant under test).
    """
    override = os.environ.get("ISCSILAB_GUARD_MODULE")
    if override:
        if not Path(override).is_file():
            raise LabError(f"ISCSILAB_GUARD_MODULE={override}: no such file")
        return Path(override)
    src = find_sources(abi)
    target = cached_module(src)
    if target.exists():
        return target
    root = target.parent.parent
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two labs starting at once build it once
        if target.exists():
            return target
        work = Path(tempfile.mkdtemp(dir=root, prefix=".build-"))
        try:
            build_log = work / "build.log"
            if log:
                log(f"building the split-brain guard module for {src.abi} ({src.version}) "
                    f"in {work}")
            top = f"linux-source-{src.tarball.name[len('linux-source-'):-len('.tar.xz')]}"
            _run(["tar", "-xf", str(src.tarball), "--strip-components=1",
                  "--exclude=*/cxgbit", *[f"{top}/{d}" for d in SOURCE_DIRS]],
                 work, build_log, f"extracting {', '.join(SOURCE_DIRS)} from {src.tarball}")
            _run(["patch", "-p1", "--batch", "--forward", "-i", str(PATCH)], work, build_log,
                 f"applying {PATCH.name} to {src.version}")
            mod_dir = work / "drivers/target/iscsi"
            (mod_dir / "Kbuild").write_text(_kbuild(mod_dir / "Makefile"))
            _run(["make", "-C", str(src.headers), f"M={mod_dir}", f"-j{jobs}", "modules"],
                 work, build_log, "make modules")
            built = mod_dir / MODULE
            # Debug info is 95% of the file; the initramfs carries the module.
            _run(["strip", "--strip-debug", str(built)], work, build_log, "strip")
            vermagic = subprocess.run(["modinfo", "-F", "vermagic", str(built)],
                                      capture_output=True, text=True).stdout.split()
            if not vermagic or vermagic[0] != src.abi:
                raise LabError(f"guard module: built for {vermagic[:1]}, expected {src.abi}")
            final = target.parent
            staging = work / "out"
            staging.mkdir()
            shutil.copy2(built, staging / MODULE)
            shutil.copy2(build_log, staging / "build.log")
            os.replace(staging, final)  # atomic: a half-built module is never seen
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target
