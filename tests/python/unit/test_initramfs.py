"""The initramfs and kernel image the lab boots (no VM; needs the Debian kernel package)."""
import subprocess

import pytest

from iscsilab import host
from iscsilab.vm import initramfs, kernel


@pytest.fixture(scope="module")
def abi():
    try:
        return host.kernel_abi()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"no usable kernel: {exc}", pytrace=False)


def test_modules_come_in_dependency_order(abi):
    names = [p.name.split(".ko")[0] for p in initramfs.module_paths(abi)]
    assert names.index("virtio_ring") < names.index("virtio_pci")
    assert names.index("9pnet") < names.index("9pnet_virtio") < names.index("9p")
    assert len(names) == len(set(names))


def test_archive_lists_with_cpio_and_is_cached(abi):
    path = initramfs.build(abi)
    assert initramfs.build(abi) == path  # second call: same cached file
    cat = "zcat" if path.suffix == ".gz" else "cat"
    listing = subprocess.run(f"{cat} {path} | cpio -t --quiet", shell=True, capture_output=True,
                             text=True, check=True).stdout.split()
    for entry in ("init", "bin/busybox", "lib/modules/order", "lib/modules/virtio_pci.ko"):
        assert entry in listing


def test_kernel_image_is_pvh_vmlinux_when_supported(abi):
    image = kernel.boot_image(abi)
    if kernel.supports_pvh(abi):
        assert image.read_bytes()[:4] == b"\x7fELF"
    else:
        assert image == host.kernel_image(abi)
