"""The lab's exception types: one message a user can act on, no traceback needed at the edge."""


class LabError(Exception):
    """Something the user can fix (missing package, not root, bad lab file, lab not running)."""


class GuestGone(LabError):
    """The guest stopped answering: QEMU exited, the guest crashed, or it is frozen."""


class AgentError(LabError):
    """The guest agent ran a command and it failed inside the guest."""
