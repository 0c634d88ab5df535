"""The guest agent's channel: JSON lines as in iscsilab.rpc (shared with the initiator worker),
on the virtio-serial port named PORT_NAME."""
from __future__ import annotations

from ..rpc import decode, encode  # noqa: F401  (the agent's wire format)

PORT_NAME = "iscsilab.agent"
