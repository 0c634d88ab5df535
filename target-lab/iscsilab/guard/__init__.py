"""The single-session (split-brain) guard: a patched LIO module (kmod) or nftables (nft)."""
