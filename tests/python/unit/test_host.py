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


def test_rootless_state_and_cache_are_per_user():
    import subprocess
    from pathlib import Path
    code = "from iscsilab import host; print(host.RUNTIME_ROOT); print(host.CACHE_ROOT)"
    proc = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", code],
        capture_output=True, text=True, cwd="/",
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent",
             "PYTHONPATH": str(Path(host.__file__).resolve().parents[1])})
    assert proc.stdout.split() == ["/tmp/iscsilab-65534", "/var/tmp/iscsilab-cache-65534"], proc.stderr


def test_rootless_refuses_a_runtime_dir_someone_else_owns(monkeypatch, tmp_path):
    import os
    planted = tmp_path / "planted"
    planted.mkdir()
    os.chown(planted, 65534, 65534)
    monkeypatch.setattr(host, "rootless", lambda: True)
    with pytest.raises(LabError, match="belongs to uid 65534, not to you"):
        host.private_dir(planted)
