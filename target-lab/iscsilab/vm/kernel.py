"""The guest kernel image: Debian's bzImage, or better its uncompressed vmlinux booted via PVH.

Under TCG, decompressing Debian's xz-compressed kernel takes 5-7 s before the kernel prints
anything; QEMU can boot the uncompressed ELF directly through the PVH entry point
(CONFIG_PVH=y in Debian's kernels), which takes under a second. The vmlinux is extracted once
per ABI with Python's lzma and cached.
"""
from __future__ import annotations

import lzma
import os
import tempfile
from pathlib import Path

from ..host import CACHE_ROOT, cache_root, kernel_image

XZ_MAGIC = b"\xfd7zXZ\x00"


def supports_pvh(abi: str) -> bool:
    try:
        return "CONFIG_PVH=y" in Path("/boot", f"config-{abi}").read_text().splitlines()
    except OSError:
        return False


def boot_image(abi: str) -> Path:
    """The fastest image QEMU can boot for `abi`; falls back to the bzImage itself."""
    bzimage = kernel_image(abi)
    cached = CACHE_ROOT / f"vmlinux-{abi}"
    if cached.exists() and cached.stat().st_mtime >= bzimage.stat().st_mtime:
        return cached
    if not supports_pvh(abi):
        return bzimage
    data = bzimage.read_bytes()
    start = data.find(XZ_MAGIC)
    if start < 0:
        return bzimage  # not xz (e.g. a zstd kernel): boot it compressed, only slower
    decompressor = lzma.LZMADecompressor()
    try:
        vmlinux = decompressor.decompress(data[start:])
    except lzma.LZMAError:
        return bzimage
    if not (decompressor.eof and vmlinux.startswith(b"\x7fELF")):
        return bzimage
    cache_root()
    fd, tmp = tempfile.mkstemp(dir=CACHE_ROOT, prefix=".vmlinux-")
    with os.fdopen(fd, "wb") as f:
        f.write(vmlinux)
    os.replace(tmp, cached)
    return cached
