"""The LBA region an I/O job covers, from the scenario's job spec: shared by our initiator's
worker and the Linux initiator guest's jobs (stdlib only: the guest imports it too)."""
from __future__ import annotations


def job_region(spec: dict, blocks: int, block_size: int, what: str) -> tuple[int, int]:
    """(first LBA, LBA count): `first_lba` + `lba_count`, or `size` bytes, or the rest of the
    LU; `slice: [k, n]` takes the k-th of n equal parts (one per session). Raises ValueError
    naming `what` (the LUN or device) when the region does not fit."""
    first = spec.get("first_lba", 0)
    count = spec.get("lba_count") or (spec["size"] // block_size if "size" in spec
                                      else blocks - first)
    if "slice" in spec:
        k, n = spec["slice"]
        part = count // n
        first, count = first + k * part, (part if k < n - 1 else count - k * part)
    if count <= 0 or first + count > blocks:
        raise ValueError(f"LBAs [{first}, {first + count}) are past the end of {what} "
                         f"({blocks} blocks of {block_size} bytes)")
    return first, count
