"""Host checks that turn into one-line errors (no VM)."""
import pytest

from iscsilab import host
from iscsilab.errors import LabError


def test_this_machine_has_what_ci_setup_installs():
    assert host.missing_packages() == []


def test_unknown_kernel_is_named(monkeypatch):
    monkeypatch.setenv("ISCSILAB_KERNEL", "9.9.9-nonexistent")
    with pytest.raises(LabError, match="9.9.9-nonexistent.*does not exist"):
        host.kernel_abi()


def test_kernel_without_modules_is_named(tmp_path):
    boot, modules = tmp_path / "boot", tmp_path / "modules"
    boot.mkdir()
    (modules / "6.1.0-1-amd64").mkdir(parents=True)
    (boot / "vmlinuz-6.1.0-2-amd64").write_bytes(b"")
    with pytest.raises(LabError, match=r"6\.1\.0-2-amd64 .* no matching modules .*found: 6\.1\.0-1-amd64"):
        host.kernel_abi(boot, modules)
    (modules / "6.1.0-2-amd64").mkdir()
    (modules / "6.1.0-2-amd64" / "modules.dep").write_text("")
    assert host.kernel_abi(boot, modules) == "6.1.0-2-amd64"
