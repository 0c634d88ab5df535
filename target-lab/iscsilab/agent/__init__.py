"""The guest agent (runs inside the VM) and its host client: JSON lines over virtio-serial."""
