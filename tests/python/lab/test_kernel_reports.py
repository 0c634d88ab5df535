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
# The thawed writer still has its file open for a moment: umount is retried until it is gone
# (for up to 60 s), not tried once after a fixed pause.
UNDO = """
fsfreeze -u /tmp/hung
echo 120 > /proc/sys/kernel/hung_task_timeout_secs
i=0
until umount /tmp/hung 2>/dev/null; do
  i=$((i + 1)); [ $i -le 600 ] || { umount /tmp/hung; exit 1; }
  sleep 0.1
done
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
        # khungtaskd reports a task blocked for 2..4 s (hung_task_timeout_secs 2); the rest is
        # slack for a TCG guest on a loaded machine.
        found = wait_for(lab, "hung_task", 60)
    finally:
        undone = lab.agent.call("run", argv=["sh", "-c", UNDO], timeout=120)
    assert found, lab.console.tail(30)
    assert undone["rc"] == 0, undone["stderr"]
    assert "blocked for more than" in found[0].line
    assert "Call Trace" in found[0].excerpt or "echo" in found[0].excerpt or "sh" in found[0].excerpt
    lab.console.mark()  # provoked on purpose: not a problem of the session


def test_detector_catches_a_real_call_trace(lab):
    lab.console.mark()
    lab.agent.call("run", argv=["sh", "-c", "echo 1 > /proc/sys/kernel/sysrq; echo l > /proc/sysrq-trigger"])
    found = wait_for(lab, "call_trace", 60)  # printed at once; slack for a loaded TCG guest
    assert found, lab.console.tail(30)
    lab.console.mark()
