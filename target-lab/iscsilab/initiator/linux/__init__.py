"""The Linux kernel initiator (open-iscsi's iscsid and iscsiadm) in a second QEMU guest of the
lab: `guest.LinuxInitiatorGuest` on the host, `guest_ops` (the agent's handlers) in the guest."""
