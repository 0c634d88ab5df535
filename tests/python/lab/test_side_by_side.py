"""Two labs side by side: same guest addresses, each in its own namespace, booted at the same
time by two `iscsilab lab up` commands (so they also race on the shared kernel and initramfs
cache). Changing one must not touch the other; taking one down must leave the other whole and
nothing of the first behind. Boots two VMs at once, before the session lab (see conftest.py).
"""
import subprocess
from pathlib import Path

import pytest

from iscsilab import net, state
from iscsilab.host import runtime_dir
from iscsilab.lab import Lab

from test_00_lifecycle import CLI, _cmdline, cli, nothing_left

pytestmark = pytest.mark.own_labs

LABS = {
    "sbs-a": ("iqn.2026-11.org.example:sbs-a", "64MiB"),
    "sbs-b": ("iqn.2026-11.org.example:sbs-b", "32MiB"),
}


def lab_file(tmp_path: Path, name: str) -> Path:
    iqn, size = LABS[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"""lab:
  nics: 2
  targets:
    - name: {iqn}
      tpgs:
        - tag: 1
          portals: [nic0, nic1]
          attributes: {{authentication: 0, generate_node_acls: 1, demo_mode_write_protect: 0}}
          luns:
            - {{lun: 0, backstore: {{type: block, size: {size}, name: {name}-block}}}}
""")
    return path


def ls(name: str, ip: str = "10.77.0.2") -> subprocess.CompletedProcess:
    return cli("lab", "exec", "--name", name, "--", "iscsi-ls", "-s", f"iscsi://{ip}", timeout=60)


def capacity(name: str) -> int:
    iqn, _ = LABS[name]
    proc = cli("lab", "exec", "--name", name, "--", "iscsi-readcapacity16",
               f"iscsi://10.77.0.2/{iqn}/0", timeout=60)
    assert proc.returncode == 0, proc.stderr
    return int(next(l for l in proc.stdout.splitlines() if l.startswith("Total size:")).split(":")[1])


def qemu_pids(name: str) -> list[int]:
    marker = f"/{name}/".encode()
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
            and b"qemu-system" in _cmdline(p.name) and marker in _cmdline(p.name)]


def test_two_labs_side_by_side(tmp_path):
    ups = {name: subprocess.Popen([CLI, "lab", "up", str(lab_file(tmp_path, name)), "--name", name],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
           for name in LABS}
    try:
        for name, proc in ups.items():
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, f"{name}: {err}"
            assert "10.77.0.2:3260" in out and LABS[name][0] in out

        # Both up at once, each in its own namespace with the same addresses, each seeing only
        # its own target from there.
        assert {"iscsilab-sbs-a", "iscsilab-sbs-b"} <= set(net.namespaces())
        for name, (iqn, _) in LABS.items():
            other_iqn = next(i for n, (i, _) in LABS.items() if n != name)
            for ip in ("10.77.0.2", "10.77.1.2"):
                out = ls(name, ip)
                assert out.returncode == 0, out.stderr
                assert f"Target:{iqn}" in out.stdout and other_iqn not in out.stdout
        assert capacity("sbs-a") == 64 << 20 and capacity("sbs-b") == 32 << 20

        # Provisioning one leaves the other alone: grow a's LUN, add a LUN to a.
        a = Lab.attach("sbs-a")
        a.provisioner.resize("sbs-a-block", 96 << 20)
        assert capacity("sbs-a") == 96 << 20
        assert capacity("sbs-b") == 32 << 20
        assert "Lun:1" not in ls("sbs-b").stdout

        # a goes down: nothing of it is left, b still answers from its namespace.
        qemu_a = qemu_pids("sbs-a")
        assert qemu_a
        down = cli("lab", "down", "--name", "sbs-a")
        assert down.returncode == 0, down.stderr
        assert nothing_left("sbs-a") and not qemu_pids("sbs-a")
        assert not any(Path(f"/proc/{p}").exists() and b"qemu" in _cmdline(p) for p in qemu_a)
        # Its taps lived in its namespace, which is gone; none leaked into the host's.
        host_links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        assert not any(l.split(":")[1].strip().startswith("tap") for l in host_links.splitlines())
        assert [d.name for d, _ in state.running() if d.name.startswith("sbs-")] == ["sbs-b"]
        b_links = cli("lab", "exec", "--name", "sbs-b", "--", "ip", "-o", "link").stdout
        assert "tap0" in b_links and "tap1" in b_links
        out = ls("sbs-b")
        assert out.returncode == 0 and "Target:iqn.2026-11.org.example:sbs-b" in out.stdout
        assert capacity("sbs-b") == 32 << 20

        down = cli("lab", "down", "--name", "sbs-b")
        assert down.returncode == 0, down.stderr
        assert nothing_left("sbs-b") and not qemu_pids("sbs-b")
    finally:
        for name, proc in ups.items():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
            if runtime_dir(name).exists():
                cli("lab", "down", "--name", name)
