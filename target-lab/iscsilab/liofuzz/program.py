"""A fuzz case as a program of steps, and its file format (the reproducer).

A program is what the fuzzer sends, in order, over one or more TCP connections; the executor
runs it the same way every time, so a case, its minimized form and a saved finding are the same
kind of object. Values that only the target knows at run time (the StatSN it expects back, the
TSIH it gave the session, the TTT of its last R2T) are named in a step's `fix` list and patched
in by the executor just before sending, so a program replays against a freshly booted target.

File format, one step a line (`#` starts a comment line; blank lines ignored):

    iscsilab-liofuzz 1              first non-comment line: magic and version
    connect C                       a new TCP connection numbered C
    send C HEX [fix=F1,F2]          bytes on connection C, header fields F patched first
    recv C SECONDS                  read what comes for up to SECONDS (stops early when quiet)
    close C                         close connection C
    sleep SECONDS

Fix names: exp_stat_sn, tsih, ttt (of the connection's last R2T), r2t (its TTT and buffer
offset). Errors name the file, the line and what was expected (ProgramError).
"""
from __future__ import annotations

from dataclasses import dataclass, field

MAGIC = "iscsilab-liofuzz"
VERSION = 1
FIXES = ("exp_stat_sn", "tsih", "ttt", "r2t")
KINDS = ("connect", "send", "recv", "close", "sleep")
MAX_CONN = 64


class ProgramError(ValueError):
    """A reproducer file (or text) that is not a program: says where and what was expected."""


@dataclass(frozen=True)
class Step:
    kind: str
    conn: int = 0
    data: bytes = b""               # send
    seconds: float = 0.0            # recv, sleep
    fix: tuple[str, ...] = ()       # send
    note: str = ""                  # what the generator meant (kept as a comment, not parsed)

    def line(self) -> str:
        if self.kind == "send":
            text = f"send {self.conn} {self.data.hex()}"
            return text + (f" fix={','.join(self.fix)}" if self.fix else "")
        if self.kind == "recv":
            return f"recv {self.conn} {self.seconds:g}"
        if self.kind == "sleep":
            return f"sleep {self.seconds:g}"
        return f"{self.kind} {self.conn}"


def connect(c: int = 0) -> Step:
    return Step("connect", c)


def send(c: int, data: bytes, fix=(), note: str = "") -> Step:
    return Step("send", c, bytes(data), fix=tuple(fix), note=note)


def recv(c: int, seconds: float) -> Step:
    return Step("recv", c, seconds=seconds)


def close(c: int) -> Step:
    return Step("close", c)


@dataclass
class Program:
    steps: list[Step] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)   # header lines (finding, seed, log)

    def sends(self) -> list[int]:
        return [i for i, s in enumerate(self.steps) if s.kind == "send"]


def dumps(prog: Program) -> str:
    lines = [f"# {c}" if c else "#" for c in prog.comments]
    lines.append(f"{MAGIC} {VERSION}")
    for s in prog.steps:
        if s.note:
            lines.append(f"# {s.note}")
        lines.append(s.line())
    return "\n".join(lines) + "\n"


def _number(text: str, what: str, where: str, lo: float, hi: float, integer: bool):
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise ProgramError(f"{where}: expected {what}, got {text[:40]!r}") from None
    if not lo <= value <= hi or value != value:
        raise ProgramError(f"{where}: {what} {text[:40]!r} is outside {lo:g}..{hi:g}")
    return value


def loads(text: str, source: str = "<program>") -> Program:
    """The program in `text`; ProgramError("FILE:LINE: ...") on anything else."""
    prog = Program()
    seen_magic = False
    for n, raw in enumerate(text.split("\n"), 1):
        where = f"{source}:{n}"
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if not seen_magic:
                prog.comments.append(line[1:].strip())
            continue
        words = line.split()
        if not seen_magic:
            if words != [MAGIC, str(VERSION)]:
                raise ProgramError(f"{where}: expected '{MAGIC} {VERSION}' first, "
                                   f"got {line[:40]!r}")
            seen_magic = True
            continue
        kind, args = words[0], words[1:]
        if kind not in KINDS:
            raise ProgramError(f"{where}: expected one of {', '.join(KINDS)}, got {kind[:40]!r}")
        want = {"connect": (1, 1), "close": (1, 1), "recv": (2, 2), "sleep": (1, 1),
                "send": (2, 3)}[kind]
        if not want[0] <= len(args) <= want[1]:
            raise ProgramError(f"{where}: {kind} takes {want[0]}"
                               f"{'' if want[0] == want[1] else f'-{want[1]}'} arguments, "
                               f"got {len(args)}")
        if kind == "sleep":
            prog.steps.append(Step("sleep", seconds=_number(args[0], "seconds", where, 0, 600,
                                                            False)))
            continue
        c = _number(args[0], "a connection number", where, 0, MAX_CONN - 1, True)
        if kind == "recv":
            prog.steps.append(recv(c, _number(args[1], "seconds", where, 0, 600, False)))
        elif kind == "send":
            try:
                data = bytes.fromhex(args[1])
            except ValueError:
                raise ProgramError(f"{where}: expected the bytes to send as hex, got "
                                   f"{args[1][:40]!r}") from None
            fix: tuple[str, ...] = ()
            if len(args) == 3:
                key, sep, names = args[2].partition("=")
                if key != "fix" or not sep:
                    raise ProgramError(f"{where}: expected fix=NAME[,NAME], got {args[2][:40]!r}")
                fix = tuple(names.split(","))
                bad = [f for f in fix if f not in FIXES]
                if bad:
                    raise ProgramError(f"{where}: unknown fix {bad[0][:40]!r} (expected one of "
                                       f"{', '.join(FIXES)})")
            prog.steps.append(send(c, data, fix))
        else:
            prog.steps.append(Step(kind, c))
    if not seen_magic:
        raise ProgramError(f"{source}: empty: expected '{MAGIC} {VERSION}' and steps")
    return prog


def load(path) -> Program:
    """The program in a file; FILE.gz is read through gzip (long histories compress well)."""
    import gzip
    try:
        if str(path).endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8") as f:
                text = f.read()
        else:
            with open(path, encoding="utf-8") as f:
                text = f.read()
    except UnicodeDecodeError as e:
        raise ProgramError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except (gzip.BadGzipFile, EOFError) as e:
        raise ProgramError(f"{path}: not a gzip file ({e})") from None
    return loads(text, str(path))


def save(prog: Program, path) -> None:
    """Writes the program; FILE.gz is written through gzip."""
    if str(path).endswith(".gz"):
        import gzip
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(dumps(prog))
        return
    with open(path, "w", encoding="utf-8") as f:
        f.write(dumps(prog))
