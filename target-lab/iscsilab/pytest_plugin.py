"""pytest fixtures for tests against real LIO: `lab` (one lab per session), `lab_config`
(override it in a conftest.py to describe your own lab) and `libiscsi` (libiscsi's tools run
in the lab's namespace).

    def test_lun_is_64mib(lab, libiscsi):
        assert libiscsi.capacity(lab.portal(), lab.portals()[0].target) == 64 << 20

Register with `pytest_plugins = ["iscsilab.pytest_plugin"]` in a conftest.py. One lab per
session keeps a test run to one boot (~10-25 s under TCG); tests that change the lab undo
their changes. Without root the lab runs in a user + network namespace of its own (net.py);
where that is impossible the fixture fails the test with what to do instead of erroring.
"""
from __future__ import annotations

import pytest

from .errors import LabError
from .peers.libiscsi import LibIscsi
from .provision.config import LabConfig, default_config, load_config


def pytest_addoption(parser):
    group = parser.getgroup("iscsilab")
    group.addoption("--lab-file", help="lab YAML for the `lab` fixture (default: lab_config fixture)")
    group.addoption("--lab-accel", default="tcg", choices=("tcg", "kvm"))
    group.addoption("--lab-attach", metavar="NAME",
                    help="use the running lab NAME (from `iscsilab lab up --name NAME`) instead of "
                         "booting one: a fast edit-test loop; the lab must match the tests' lab file")


@pytest.fixture(scope="session")
def lab_config(request) -> LabConfig:
    path = request.config.getoption("--lab-file")
    return load_config(path) if path else default_config()


@pytest.fixture(scope="session")
def lab(request, lab_config):
    from .lab import Lab
    attach = request.config.getoption("--lab-attach")
    if attach:
        yield Lab.attach(attach)
        return
    instance = Lab(lab_config, accel=request.config.getoption("--lab-accel"))
    try:
        instance.up()
    except LabError as exc:
        pytest.fail(f"lab did not come up: {exc}", pytrace=False)
    instance.console.mark()
    yield instance
    findings = instance.console.new_findings()
    instance.down()
    if findings:
        # Surfaced, not failed: the test that caused it has already passed or failed.
        print("\n*** iscsilab: the guest kernel reported problems during the session:")
        for finding in findings:
            print(finding)


@pytest.fixture(scope="session")
def libiscsi(lab) -> LibIscsi:
    return LibIscsi(lab)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test that used the lab gets the guest's console tail and any kernel findings
    attached to its report: the first thing to look at when LIO misbehaves."""
    outcome = yield
    report = outcome.get_result()
    lab_instance = getattr(item, "funcargs", {}).get("lab")
    if report.when == "call" and report.failed and lab_instance is not None:
        findings = lab_instance.console.findings()
        report.sections.append(("guest console (last 30 lines)", lab_instance.console.tail(30)))
        if findings:
            report.sections.append(("guest kernel findings", "\n\n".join(map(str, findings[-3:]))))
