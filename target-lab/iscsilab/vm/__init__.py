"""The VM layer: initramfs, QEMU process, QMP client and the console's kernel-oops scanner."""
