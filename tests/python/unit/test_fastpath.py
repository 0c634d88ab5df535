"""The boot-time provisioning script (no VM): valid shell, rtslib-fb's layout, portals last."""
import subprocess
from pathlib import Path

from iscsilab.provision.config import load_config
from iscsilab.provision.fastpath import script, supported

LAB = Path(__file__).resolve().parents[1] / "lab" / "lab.yaml"
IPS = {"nic0": "10.77.0.2", "nic1": "10.77.1.2"}


def test_script_is_valid_sh_and_covers_every_object():
    config = load_config(LAB)
    assert supported(config)
    text = script(config, IPS)
    subprocess.run(["sh", "-n"], input=text, text=True, check=True)
    for bs, plugin in (("t0-block", "iblock"), ("t0-fileio", "fileio"), ("t0-ramdisk", "rd_mcp"),
                       ("t2-pscsi", "pscsi")):
        assert f"/core/{plugin}_" in text and f"/{bs}" in text
    assert "put $C/iscsi/discovery_auth/enforce_discovery_auth 1" in text
    assert "acls/iqn.2026-11.org.example:mutual/auth/password_mutual" in text


def test_portals_come_after_everything_else():
    lines = script(load_config(LAB), IPS).splitlines()
    first_portal = next(i for i, l in enumerate(lines) if "/np/" in l)
    assert all("/np/" in l for l in lines[first_portal:])
    assert any(l.endswith("/enable 1") and "tpgt_" in l for l in lines[:first_portal])
