"""The integrity map: every write a scenario issued, per LUN and LBA, and the check of what the
LUN holds against it.

Written blocks carry their LBA and a write generation (the engine's block pattern:
initiator/workload/block_pattern.hpp), so a read-back block says which write put it there. For
each LBA the map keeps every write with its start and end (steady clock) and whether it was
acknowledged (GOOD status). A block may legitimately hold the data of any write that was not
certainly overwritten: one that no acknowledged write started after. So:
- acknowledged and then lost (the block is unwritten) -> "lost";
- holds an older write that an acknowledged later one replaced -> "stale";
- holds a write made for another LBA -> "misplaced";
- magic present but the header checksum or the fill is wrong -> "corrupt";
- holds a generation this scenario never wrote -> "foreign" (lost, in effect).
A write that failed (not acknowledged) may or may not have reached the medium; both outcomes
pass, as long as nothing acknowledged after it is contradicted.
"""
from __future__ import annotations

from bisect import insort
from dataclasses import dataclass, field


def generation_text(gen: int) -> str:
    """writer:sequence, as the engine builds generations ((writer << 48) | sequence)."""
    return f"{gen >> 48}:{gen & ((1 << 48) - 1)}" if gen else "none"


@dataclass(order=True)
class Write:
    start_ns: int
    end_ns: int
    generation: int
    acked: bool


@dataclass
class Problem:
    lun: str
    lba: int
    kind: str                     # lost, stale, misplaced, corrupt, foreign
    expected: list[int]           # generations the block may hold
    found: int                    # generation found (0: none)
    found_lba: int | None = None

    def __str__(self) -> str:
        exp = " or ".join(generation_text(g) for g in self.expected) or "nothing"
        text = {"lost": f"acknowledged write lost: expected generation {exp}, found an unwritten block",
                "stale": f"stale block: expected generation {exp}, found {generation_text(self.found)} "
                         "(an older write)",
                "misplaced": f"misplaced block: holds generation {generation_text(self.found)} written "
                             f"for LBA {self.found_lba}, expected {exp}",
                "corrupt": f"corrupt block: header or data damaged (expected generation {exp}, "
                           f"header says {generation_text(self.found)})",
                "foreign": f"block from another run: expected generation {exp}, found "
                           f"{generation_text(self.found)}, which this scenario never wrote"}
        return f"{self.lun} LBA {self.lba}: {text[self.kind]}"


@dataclass
class LunMap:
    name: str                     # "iqn...:t0 lun 0"
    block_size: int
    writes: dict[int, list[Write]] = field(default_factory=dict)
    version: int = 0              # grows with every write recorded
    verified: int = -1            # the version the last complete read-back checked

    def add(self, lba: int, blocks: int, write: Write) -> None:
        for b in range(lba, lba + blocks):
            insort(self.writes.setdefault(b, []), write)
        self.version += 1

    def allowed(self, lba: int) -> tuple[list[int], bool]:
        """(generations the block may hold, whether it may still be unwritten)."""
        writes = self.writes.get(lba, [])
        acked = [w for w in writes if w.acked]
        latest_acked_start = max((w.start_ns for w in acked), default=None)
        # A write W is certainly replaced when an acknowledged write started after W ended.
        allowed = [w.generation for w in writes
                   if latest_acked_start is None or not latest_acked_start > w.end_ns]
        return allowed, not acked

    def check(self, lba: int, kind: str, found_lba: int, found_gen: int) -> Problem | None:
        allowed, may_be_unwritten = self.allowed(lba)
        if kind == "unwritten":
            return None if may_be_unwritten else Problem(self.name, lba, "lost", allowed, 0)
        if kind == "corrupt":
            return Problem(self.name, lba, "corrupt", allowed, found_gen, found_lba)
        if found_lba != lba:
            return Problem(self.name, lba, "misplaced", allowed, found_gen, found_lba)
        if found_gen in allowed:
            return None
        if may_be_unwritten and found_gen not in self.known():
            return None            # a block of an earlier scenario, never written by this one
        ours = found_gen in self.known()
        return Problem(self.name, lba, "stale" if ours else "foreign", allowed, found_gen)

    def known(self) -> set[int]:
        if not hasattr(self, "_known") or self._known_size != len(self.writes):
            self._known = {w.generation for ws in self.writes.values() for w in ws}
            self._known_size = len(self.writes)
        return self._known

    def ranges(self, gap: int = 0) -> list[tuple[int, int]]:
        """The written LBAs as [first, end) runs, for reading them back in few commands; runs
        closer than `gap` blocks are joined (reading a few unwritten blocks costs less than a
        command per run: random 4 KiB writes leave thousands of short runs)."""
        out: list[tuple[int, int]] = []
        for lba in sorted(self.writes):
            if out and lba - out[-1][1] <= gap:
                out[-1] = (out[-1][0], lba + 1)
            else:
                out.append((lba, lba + 1))
        return out


class IntegrityMap:
    """Writes per LUN (key: (target, lun)). Feed it the I/O jobs' completion records."""

    def __init__(self):
        self.luns: dict[tuple[str, int], LunMap] = {}
        self.acked = 0
        self.failed = 0

    def lun(self, target: str, lun: int, block_size: int) -> LunMap:
        key = (target, lun)
        if key not in self.luns:
            self.luns[key] = LunMap(f"{target.rsplit(':', 1)[-1]} LUN {lun}", block_size)
        return self.luns[key]

    def record(self, target: str, lun: int, block_size: int, records: list) -> None:
        """Completion records (write, lba, blocks, generation, start_ns, end_ns, ok, error)."""
        m = self.lun(target, lun, block_size)
        for write, lba, blocks, gen, start_ns, end_ns, ok, _err in records:
            if not write:
                continue
            m.add(lba, blocks, Write(start_ns, end_ns, gen, bool(ok)))
            if ok:
                self.acked += 1
            else:
                self.failed += 1

    def check_blocks(self, target: str, lun: int, first_lba: int, decoded: list) -> list[Problem]:
        """Problems among blocks read back from first_lba on: decoded = [[kind, lba, gen], ...]."""
        m = self.luns[(target, lun)]
        problems = []
        for i, (kind, found_lba, gen) in enumerate(decoded):
            lba = first_lba + i
            if lba not in m.writes:
                continue
            p = m.check(lba, kind, found_lba, gen)
            if p:
                problems.append(p)
        return problems
