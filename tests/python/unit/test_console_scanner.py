"""The console scanner on recorded console text (no VM). The real-kernel check is in
tests/python/lab/test_kernel_reports.py; these cover the patterns WARN/BUG/Oops print, which a
test cannot trigger safely in the guest's kernel."""
from pathlib import Path

from iscsilab.vm.console import ConsoleLog, scan_text

# Shapes copied from real 6.1 kernel reports (addresses shortened).
RECORDED_WARN = """\
[   12.000000] iSCSI/iqn.2026-11.org.example:host0: Unsupported SCSI Opcode 0xa3
[   13.481213] ------------[ cut here ]------------
[   13.481510] WARNING: CPU: 0 PID: 311 at drivers/target/target_core_transport.c:3118 transport_generic_free_cmd+0x1a2/0x1d0 [target_core_mod]
[   13.482001] Modules linked in: iscsi_target_mod target_core_iblock target_core_mod
[   13.482900] Call Trace:
[   13.483001]  <TASK>
[   13.483100]  iscsit_release_commands_from_conn+0x7c/0x1a0 [iscsi_target_mod]
"""
RECORDED_OOPS = """\
[   20.100000] BUG: kernel NULL pointer dereference, address: 0000000000000008
[   20.100100] #PF: supervisor read access in kernel mode
[   20.100200] Oops: 0000 [#1] PREEMPT SMP NOPTI
[   20.100300] CPU: 0 PID: 402 Comm: iscsi_trx Not tainted 6.1.0-56-amd64 #1 Debian 6.1.192-2
"""
RECORDED_HUNG = """\
[  250.000000] INFO: task kworker/0:1:55 blocked for more than 120 seconds.
[  250.000100]       Not tainted 6.1.0-56-amd64 #1 Debian 6.1.192-2
"""
CLEAN = """\
[    8.890078] db_root: cannot open: /etc/target
[   22.100812] rx_data returned 0, expecting 48.
[   22.118263] iSCSI Login negotiation failed.
[   23.000000] Warning: this is not a kernel WARNING line
"""


def test_scanner_on_recorded_warn_reports_one_finding_with_excerpt():
    found = scan_text(RECORDED_WARN)
    assert [f.kind for f in found] == ["warning"]  # its Call Trace belongs to the WARNING
    assert found[0].line_no == 3
    assert "transport_generic_free_cmd" in found[0].excerpt
    assert "Call Trace" in found[0].excerpt


def test_scanner_on_recorded_oops():
    kinds = [f.kind for f in scan_text(RECORDED_OOPS)]
    assert kinds == ["bug", "oops"]


def test_scanner_on_recorded_hung_task():
    assert [f.kind for f in scan_text(RECORDED_HUNG)] == ["hung_task"]


def test_scanner_ignores_ordinary_lio_noise():
    assert scan_text(CLEAN) == []


def test_console_log_reports_only_new_complete_lines(tmp_path):
    path = tmp_path / "console.log"
    path.write_text(RECORDED_WARN)
    log = ConsoleLog(path)
    assert len(log.findings()) == 1
    log.mark()
    assert log.new_findings() == []
    with path.open("a") as f:
        f.write(CLEAN + RECORDED_OOPS + "[   30.0] BUG: half a li")
    found = log.new_findings()
    assert [f.kind for f in found] == ["bug", "oops"]
    assert found[0].line_no == RECORDED_WARN.count("\n") + CLEAN.count("\n") + 1


def test_a_report_is_one_finding_from_cut_here_to_end_trace():
    # LIO 6.1, scenarios/findings/: two reports, each with a Call Trace 17 lines down.
    text = (Path(__file__).resolve().parents[3] / "scenarios" / "findings" /
            "lio-6.1-immediate-data-digest-erl0-refcount.log").read_text()
    found = scan_text(text)
    assert [f.kind for f in found] == ["warning", "warning"]
    assert "iscsit_release_cmd" in found[0].line and "end trace" in found[0].excerpt
    assert found[1].excerpt.startswith(next(l for l in text.splitlines() if "cut here" in l
                                            and text.index(l) > text.index(found[0].line)))
    assert "refcount_t: underflow" in found[1].excerpt and "iscsit_close_connection" in found[1].excerpt
