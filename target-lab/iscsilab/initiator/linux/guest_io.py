"""I/O jobs in the Linux initiator guest (agent handlers, run inside the VM): the same jobs as
our initiator's IoJob (workload/io_job.hpp), done with O_DIRECT reads and writes on the kernel's
SCSI disk (or a dm-multipath map), so the scenario runner's integrity check and timings read
them the same way.

- Blocks carry the engine's self-describing pattern (workload/block_pattern.hpp). It is encoded
  and decoded by the compiled module itself (iscsilab._core, loaded by path from the build tree:
  the guest sees the host's root over 9p), not by a second implementation in Python.
- queue_depth threads each keep one command in flight (pread/pwrite release the GIL; a command
  stuck in a FAILED session blocks its thread in the kernel until replacement_timeout).
- Sequential jobs walk the region in blocks_per_io chunks and wrap; random jobs pick a chunk
  with a generator seeded by `seed`, never one that is in flight (two writes to one block at
  once would leave either generation, and the integrity check could not say which is right).
- A write's generation is (writer_id << 48) | sequence. Records are the engine's tuples:
  (write, lba, blocks, generation, start_ns, end_ns, ok, error), on the guest's
  CLOCK_MONOTONIC (the host shifts them onto its own).
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import mmap
import os
import random
import sys
import threading
import time

from ..region import job_region

_core = None
# After a failed command its thread waits this long before the next one: a session past
# replacement_timeout fails every command at once, and the job would otherwise fill the records
# with thousands of failures a second.
FAILED_PAUSE = 0.1


def _load_core(path: str):
    global _core
    # pybind11 registers the module's types once per process: a second copy under another name
    # would fail, so one already imported (the host's tests) is used as is.
    _core = _core or sys.modules.get("iscsilab._core") or sys.modules.get("_core")
    if _core is None:
        loader = importlib.machinery.ExtensionFileLoader("_core", path)
        spec = importlib.util.spec_from_file_location("_core", path, loader=loader)
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        _core = module
    return _core


def _read_sys(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def geometry(dev: str) -> tuple[int, int]:
    """(block size, blocks) of a block device, from sysfs, found by its device number:
    /dev/mapper/NAME is a node of its own or a link to ../dm-N depending on who made it first
    (device-mapper or udev), so its name says nothing."""
    rdev = os.stat(dev).st_rdev
    sysdir = f"/sys/dev/block/{os.major(rdev)}:{os.minor(rdev)}"
    bs = int(_read_sys(f"{sysdir}/queue/logical_block_size"))
    return bs, int(_read_sys(f"{sysdir}/size")) * 512 // bs


class Job:
    def __init__(self, dev: str, spec: dict, block_size: int, first: int, count: int):
        self.dev = dev
        self.op = spec["op"]
        self.bs = block_size
        self.first, self.count = first, count
        self.per_io = max(1, min(spec.get("io_size", 4096) // block_size, count))
        self.queue_depth = max(1, spec.get("queue_depth", 1))
        self.random = spec.get("random", False)
        self.rng = random.Random(spec.get("seed", 1))
        self.max_ios = spec.get("max_ios", 0)
        if spec.get("one_pass"):
            self.max_ios = -(-count // self.per_io)
        self.deadline = time.monotonic() + spec["seconds"] if spec.get("seconds") else None
        self.writer = spec.get("writer_id", 1) << 48
        self.read_percent = spec.get("read_percent", 50)
        self.lock = threading.Lock()
        self.records: list[list] = []
        self.flights: dict[int, list] = {}   # thread index -> (handle, write, lba, blocks, gen, start)
        self.busy: set[int] = set()          # chunks in flight
        self.started = self.sequence = self.next_chunk = 0
        self.summary = {"started": 0, "completed_ok": 0, "failed": 0, "reads": 0, "writes": 0,
                        "bytes_read": 0, "bytes_written": 0, "in_flight": 0, "ua_retries": 0,
                        "unit_attentions": [], "first_start_ns": 0, "last_end_ns": 0,
                        "end_reason": "", "done": False}
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(self.queue_depth)]
        for t in self.threads:
            t.start()

    # -- choosing the next command (under the lock)
    def _next(self, index: int):
        if self.stopping.is_set():
            return self._end("stopped")
        if self.max_ios and self.started >= self.max_ios:
            return self._end("max_ios reached")
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return self._end("seconds elapsed")
        chunks = -(-self.count // self.per_io)
        if self.random:
            free = chunks - len(self.busy)
            if free <= 0:
                return None
            chunk = self.rng.randrange(chunks)
            while chunk in self.busy:
                chunk = (chunk + 1) % chunks
        else:
            chunk = self.next_chunk
            self.next_chunk = (self.next_chunk + 1) % chunks
            if chunk in self.busy:         # a wrap onto a command still in flight: wait for it
                return None
        lba = self.first + chunk * self.per_io
        blocks = min(self.per_io, self.first + self.count - lba)
        write = self.op == "write" or (self.op == "mixed"
                                       and self.rng.randrange(100) >= self.read_percent)
        generation = 0
        if write:
            self.sequence += 1
            generation = self.writer | self.sequence
        self.started += 1
        self.summary["started"] = self.started
        self.busy.add(chunk)
        start = time.monotonic_ns()
        if not self.summary["first_start_ns"]:
            self.summary["first_start_ns"] = start
        self.flights[index] = [self.started, write, lba, blocks, generation, start]
        return chunk, write, lba, blocks, generation, start

    def _end(self, reason: str):
        if not self.summary["end_reason"]:
            self.summary["end_reason"] = reason
        return False

    def _run(self, index: int) -> None:
        flags = os.O_RDWR | os.O_DIRECT if self.op != "read" else os.O_RDONLY | os.O_DIRECT
        try:
            fd = os.open(self.dev, flags)
        except OSError as exc:
            with self.lock:
                self._end(f"cannot open {self.dev}: {exc}")
            return
        buf = mmap.mmap(-1, self.per_io * self.bs)    # page-aligned, as O_DIRECT needs
        try:
            while True:
                with self.lock:
                    got = self._next(index)
                if got is False:
                    return
                if got is None:
                    time.sleep(0.001)
                    continue
                chunk, write, lba, blocks, generation, start = got
                length = blocks * self.bs
                error = ""
                try:
                    if write:
                        buf[:length] = _core.encode_blocks(lba, blocks, self.bs, generation)
                        done = os.pwritev(fd, [memoryview(buf)[:length]], lba * self.bs)
                    else:
                        done = os.preadv(fd, [memoryview(buf)[:length]], lba * self.bs)
                    if done != length:
                        error = f"short {'write' if write else 'read'}: {done} of {length} bytes"
                except OSError as exc:
                    error = f"{'write' if write else 'read'}: [Errno {exc.errno}] {exc.strerror}"
                end = time.monotonic_ns()
                with self.lock:
                    self.busy.discard(chunk)
                    self.flights.pop(index, None)
                    s = self.summary
                    s["writes" if write else "reads"] += 1
                    if error:
                        s["failed"] += 1
                    else:
                        s["completed_ok"] += 1
                        s["bytes_written" if write else "bytes_read"] += length
                    s["last_end_ns"] = end
                    self.records.append([write, lba, blocks, generation, start, end, not error,
                                         error])
                if error:       # a failed device answers at once: do not spin on it
                    time.sleep(FAILED_PAUSE)
        finally:
            buf.close()
            os.close(fd)

    def done(self) -> bool:
        return not any(t.is_alive() for t in self.threads)


_jobs: dict[str, Job] = {}


def io_start(args):
    """Starts job `job` on device `dev` ({op, io_size, queue_depth, random, seed, first_lba,
    lba_count, size, slice, max_ios, one_pass, seconds, writer_id, read_percent}, as the
    engine's worker takes them); `core` is the path of the compiled module."""
    _load_core(args["core"])
    spec, dev = args["spec"], args["dev"]
    bs, blocks = geometry(dev)
    first, count = job_region(spec, blocks, bs, dev)
    old = _jobs.get(args["job"])
    if old is not None and not old.done():
        raise RuntimeError(f"job {args['job']} is still running")
    job = Job(dev, spec, bs, first, count)
    _jobs[args["job"]] = job
    return {"block_size": bs, "first_lba": first, "lba_count": count,
            "blocks_per_io": job.per_io, "capacity_blocks": blocks}


def io_drain(args):
    job = _jobs[args["job"]]
    with job.lock:
        out, job.records = job.records, []
    return out


def io_stop(args):
    _jobs[args["job"]].stopping.set()
    return None


def io_wait(args):
    job = _jobs[args["job"]]
    deadline = time.monotonic() + args.get("seconds", 0)
    for t in job.threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return job.done()


def io_in_flight(args):
    job = _jobs[args["job"]]
    with job.lock:
        return [list(f) for f in job.flights.values()]


def io_summary(args):
    job = _jobs[args["job"]]
    with job.lock:
        s = dict(job.summary, in_flight=len(job.flights), done=job.done())
    return s


def read_decode(args):
    """Reads `blocks` blocks at `lba` of `dev` with O_DIRECT and decodes each block's pattern
    header: [[kind, lba it names, generation], ...] for the host's integrity check."""
    core = _load_core(args["core"])
    dev, lba, blocks = args["dev"], args["lba"], args["blocks"]
    bs, _ = geometry(dev)
    buf = mmap.mmap(-1, blocks * bs)
    fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
    try:
        got = os.preadv(fd, [buf], lba * bs)
    finally:
        os.close(fd)
    if got != blocks * bs:
        raise OSError(f"short read of {dev} at LBA {lba}: {got} of {blocks * bs} bytes")
    out = [list(b) for b in core.decode_blocks(bytes(buf), bs)]
    buf.close()
    return out


def clock(args):
    """The guest's CLOCK_MONOTONIC (ns), for the host to place its records on its own clock."""
    return time.monotonic_ns()


def overhead(args):
    """What the guest itself adds to an interval measured through it: how late a 50 ms sleep
    wakes up (timer slack under TCG; median and worst of `samples`), and the guest's CPU
    counters (/proc/stat: busy and total jiffies) for the host to take the busy share between
    two calls."""
    late = []
    for _ in range(args.get("samples", 20)):
        t0 = time.monotonic()
        time.sleep(0.05)
        late.append(time.monotonic() - t0 - 0.05)
    late.sort()
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    idle = cpu[3] + cpu[4]
    return {"sleep_late_median_ms": late[len(late) // 2] * 1e3, "sleep_late_max_ms": late[-1] * 1e3,
            "cpu_busy": sum(cpu) - idle, "cpu_total": sum(cpu)}


HANDLERS = {"io_start": io_start, "overhead": overhead, "io_drain": io_drain, "io_stop": io_stop, "io_wait": io_wait,
            "io_in_flight": io_in_flight, "io_summary": io_summary, "read_decode": read_decode,
            "clock": clock}
