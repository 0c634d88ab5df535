"""The guard module's build inputs: version agreement of the kernel packages, the cache key, the
Kbuild file, the patch against the installed source, and the nftables fallback's ruleset."""
from __future__ import annotations

import subprocess

import pytest

from iscsilab import host
from iscsilab.errors import LabError
from iscsilab.guard import kmod, nft

ABI = "6.1.0-56-amd64"


def fake_versions(monkeypatch, image="6.1.192-2", headers="6.1.192-2", source="6.1.192-2"):
    table = {f"linux-image-{ABI}": image, f"linux-headers-{ABI}": headers, "linux-source-6.1": source}
    monkeypatch.setattr(kmod, "_dpkg_version", lambda pkg: table.get(pkg))


def test_missing_source_names_the_packages_to_install(monkeypatch):
    fake_versions(monkeypatch, source=None, headers=None)
    with pytest.raises(LabError) as e:
        kmod.find_sources(ABI)
    assert (f"apt-get install -y linux-headers-{ABI}=6.1.192-2 linux-source-6.1=6.1.192-2"
            in str(e.value))


def test_versions_that_disagree_are_refused_with_what_to_install(monkeypatch):
    fake_versions(monkeypatch, source="6.1.190-1")
    with pytest.raises(LabError) as e:
        kmod.find_sources(ABI)
    msg = str(e.value)
    assert "disagree" in msg and "linux-source-6.1 6.1.190-1" in msg
    assert "linux-source-6.1=6.1.192-2" in msg


def test_kernel_not_from_debian_is_refused(monkeypatch):
    fake_versions(monkeypatch, image=None)
    with pytest.raises(LabError, match="not an installed Debian package"):
        kmod.find_sources(ABI)


def test_the_cache_key_names_kernel_version_and_patch(monkeypatch, tmp_path):
    monkeypatch.setattr(host, "cache_root", lambda: tmp_path)
    src = kmod.KernelSources(ABI, "6.1.192-2", tmp_path, tmp_path / "src.tar.xz")
    path = kmod.cached_module(src)
    assert path == tmp_path / "guard" / f"{ABI}-6.1.192-2-{kmod.patch_digest()}" / "iscsi_target_mod.ko"
    assert len(kmod.patch_digest()) == 12


def test_kbuild_lists_the_makefile_objects_and_puts_our_headers_first(tmp_path):
    makefile = tmp_path / "Makefile"
    makefile.write_text("iscsi_target_mod-y +=\t\tiscsi_target_parameters.o \\\n"
                        "\t\t\t\tiscsi_target_guard.o\n\nobj-$(CONFIG_ISCSI_TARGET) += x.o\n")
    kbuild = kmod._kbuild(makefile)
    assert "iscsi_target_mod-y := iscsi_target_parameters.o iscsi_target_guard.o\n" in kbuild
    assert "NOSTDINC_FLAGS += -I$(src)/../../../include" in kbuild
    makefile.write_text("iscsi_target_mod-y += iscsi_target_parameters.o\n")
    with pytest.raises(LabError, match="does not list iscsi_target_guard.o"):
        kmod._kbuild(makefile)


def test_patch_carries_the_gpl_and_applies_to_the_installed_source(tmp_path):
    text = kmod.PATCH.read_text()
    assert text.startswith("SPDX-License-Identifier: GPL-2.0")
    try:
        src = kmod.find_sources()
    except LabError as exc:
        pytest.fail(f"kernel sources for the guard are not installed (ci/setup installs them): {exc}")
    top = src.tarball.name[:-len(".tar.xz")]
    subprocess.run(["tar", "-xf", str(src.tarball), "--strip-components=1",
                    *[f"{top}/{d}" for d in kmod.SOURCE_DIRS]], cwd=tmp_path, check=True)
    out = subprocess.run(["patch", "-p1", "--dry-run", "--batch", "-i", str(kmod.PATCH)],
                         cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "FAILED" not in out.stdout and "fuzz" not in out.stdout.lower()


def test_nft_ruleset_limits_each_portal():
    text = nft.ruleset([("10.77.0.2", 3260), ("10.77.1.2", 3260), ("10.77.0.2", 3260)])
    rules = [l.strip() for l in text.splitlines() if "ct count" in l]
    assert rules == [
        "ip daddr 10.77.0.2 tcp dport 3260 ct state new ct count over 1 counter reject with tcp reset",
        "ip daddr 10.77.1.2 tcp dport 3260 ct state new ct count over 1 counter reject with tcp reset",
    ]
    assert text.startswith(f"table inet {nft.TABLE}\ndelete table inet {nft.TABLE}\n")
    with pytest.raises(LabError):
        nft.ruleset([("10.77.0.2", 3260)], limit=0)


def test_nft_ruleset_is_accepted_by_nft():
    """`nft --check` parses and validates the ruleset against this kernel without loading it."""
    proc = subprocess.run(["nft", "--check", "-f", "-"], input=nft.ruleset([("10.77.0.2", 3260)]),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
