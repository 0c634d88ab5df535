"""LIO provisioning: the lab file, the host-side provisioner and the guest-side rtslib-fb operations."""
