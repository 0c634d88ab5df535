"""The console scanner against reports the guest's real kernel prints.

No safe way to make Debian's kernel WARN() on purpose was found (no lkdtm module), so:
- a real hung-task report is provoked (a writer blocked on a frozen ext4, then thawed), and
- a real stack dump with "Call Trace:" (sysrq 'l').
The WARNING/BUG/Oops patterns are tested on recorded console text in
tests/python/unit/test_console_scanner.py.
"""
import time

HUNG = """
set -e
modprobe ext4
truncate -s 16M /tmp/hung.img
mkfs.ext4 -q -F /tmp/hung.img
mkdir -p /tmp/hung
mount -o loop /tmp/hung.img /tmp/hung
echo 2 > /proc/sys/kernel/hung_task_timeout_secs
fsfreeze -f /tmp/hung
setsid sh -c 'echo x > /tmp/hung/f' </dev/null >/dev/null 2>&1 &
"""
UNDO = """
fsfreeze -u /tmp/hung
sleep 0.5
echo 120 > /proc/sys/kernel/hung_task_timeout_secs
umount /tmp/hung
rm -f /tmp/hung.img
"""


def wait_for(lab, kind, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [f for f in lab.console.new_findings() if f.kind == kind]
        if found:
            return found
        time.sleep(0.5)
    return []


def test_detector_catches_a_real_hung_task_report(lab):
    lab.console.mark()
    result = lab.agent.call("run", argv=["sh", "-c", HUNG], timeout=120)
    assert result["rc"] == 0, result["stderr"]
    try:
        found = wait_for(lab, "hung_task", 60)
    finally:
        lab.agent.call("run", argv=["sh", "-c", UNDO], timeout=60)
    assert found, lab.console.tail(30)
    assert "blocked for more than" in found[0].line
    assert "Call Trace" in found[0].excerpt or "echo" in found[0].excerpt or "sh" in found[0].excerpt
    lab.console.mark()  # provoked on purpose: not a problem of the session


def test_detector_catches_a_real_call_trace(lab):
    lab.console.mark()
    lab.agent.call("run", argv=["sh", "-c", "echo 1 > /proc/sys/kernel/sysrq; echo l > /proc/sysrq-trigger"])
    found = wait_for(lab, "call_trace", 20)
    assert found, lab.console.tail(30)
    lab.console.mark()
