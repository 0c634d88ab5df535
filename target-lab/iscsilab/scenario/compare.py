"""Side by side: the same scenario cells run with several initiator kinds (`iscsilab run
--initiator iscsi-lab,linux`), their measured intervals in one table and every difference in
behaviour listed (an expectation met by one kind and not the other, a step that failed for one
only, different outcomes).

Cells pair up by their id without the `initiator=` parameter; an expectation by its step index
and text, which are the same for every kind (steps that run for one kind only, `when:
{initiator: ...}`, have no partner and are shown with a dash for the other kind). With --repeat,
each figure is the median of the repeats with its range and count.
"""
from __future__ import annotations

import re
import statistics

# Two kinds' medians count as apart when they differ by more than both of these.
SLOWER_BY_S = 1.0
SLOWER_BY_SHARE = 0.25
WINDOW = re.compile(r" within \[[^\]]*\] s$")
_KIND = re.compile(r"(?:(?<=\[)|,)initiator=([^,\]]+)")


def split_id(cell: str) -> tuple[str, str | None]:
    """("nop-timeout[fault=freeze]", "linux") from "nop-timeout[fault=freeze,initiator=linux]"."""
    m = _KIND.search(cell)
    if not m:
        return cell, None
    base = (cell[:m.start()] + cell[m.end():]).replace("[,", "[").replace("[]", "")
    return base, m.group(1)


def spread(values: list[float]) -> str:
    if not values:
        return "never"
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.2f} s"
    return f"{med:.2f} s ({min(values):.2f}-{max(values):.2f}, n={len(values)})"


def collect(records: list[dict]) -> tuple[list[str], dict, dict]:
    """kinds in order; {base cell: {(index, text without its window): {kind: [(measured or
    None, passed), ...]}}} with per-cell outcomes and failures under the key ("outcome", "");
    and each expectation's window per kind, {(base, index, text): {kind: (lo, hi)}}."""
    kinds: list[str] = []
    table: dict[str, dict] = {}
    windows: dict[tuple, dict] = {}
    for rec in records:
        base, kind = split_id(rec["cell"])
        if kind is None:
            continue
        if kind not in kinds:
            kinds.append(kind)
        rows = table.setdefault(base, {})
        rows.setdefault(("outcome", ""), {}).setdefault(kind, []).append(
            (rec["outcome"], rec.get("failures") or []))
        for e in rec.get("expectations", []):
            if e.get("window") is None:
                continue
            # Paired without the window: a scenario may bound the same thing differently per
            # kind (its `when: {initiator: ...}` steps); the bounds are compared separately.
            rows.setdefault((e["index"], WINDOW.sub("", e["text"])), {}).setdefault(
                kind, []).append((e.get("measured"), e.get("passed")))
            windows.setdefault((base, e["index"], WINDOW.sub("", e["text"])), {})[kind] = \
                tuple(e["window"])
    return kinds, table, windows


def render(records: list[dict]) -> str:
    """The side-by-side table and the list of differences, as text for the terminal and the
    report directory."""
    kinds, table, windows = collect(records)
    if len(kinds) < 2:
        return ""
    head = ["cell / expectation"] + kinds
    lines: list[list[str]] = []
    differences: list[str] = []
    timing: list[str] = []
    for base in sorted(table):
        rows = table[base]
        outcomes = rows[("outcome", "")]
        lines.append([base] + [", ".join(o for o, _ in outcomes.get(k, [])) or "not run"
                               for k in kinds])
        got = {k: {o for o, _ in outcomes.get(k, [])} for k in kinds}
        if len({frozenset(v) for v in got.values()}) > 1:
            detail = "; ".join(f"{k}: {f[0][:160]}" for k in kinds
                               for o, f in outcomes.get(k, []) if f)
            differences.append(f"{base}: outcome " + ", ".join(
                f"{k} {'/'.join(sorted(v)) or 'not run'}" for k, v in got.items())
                + (f" ({detail})" if detail else ""))
        expectations = sorted(((k, v) for k, v in rows.items() if k[0] != "outcome"),
                              key=lambda kv: (step_order(kv[0][0]), kv[0][1]))
        for (index, text), by_kind in expectations:
            cells = []
            for k in kinds:
                runs = by_kind.get(k)
                if not runs:
                    cells.append("-")
                    continue
                measured = [m for m, _ in runs if m is not None]
                ok = sum(1 for _, p in runs if p)
                cells.append(spread(measured) + ("" if ok == len(runs) else f" [{len(runs) - ok} failed]"))
            lines.append([f"  {index}. {text}"] + cells)
            passed = {k: all(p for _, p in by_kind[k]) for k in kinds if k in by_kind}
            if len(set(passed.values())) > 1:
                differences.append(f"{base} step {index} ({text}): met by "
                                   + ", ".join(k for k, p in passed.items() if p)
                                   + "; not by " + ", ".join(k for k, p in passed.items() if not p))
            bounds = windows.get((base, index, text), {})
            if len(set(bounds.values())) > 1:
                differences.append(f"{base} step {index} ({text}): bounded differently, "
                                   + ", ".join(f"{k} [{lo:g}, {hi:g}] s"
                                               for k, (lo, hi) in bounds.items()))
            if len(passed) == 1:
                differences.append(f"{base} step {index} ({text}): written for "
                                   f"{next(iter(passed))} only (the scenario's `when:`)")
            medians = {k: statistics.median(m) for k in kinds
                       if (m := [x for x, _ in by_kind.get(k, []) if x is not None])}
            if len(medians) > 1:
                lo, hi = min(medians.values()), max(medians.values())
                if hi - lo > max(SLOWER_BY_S, SLOWER_BY_SHARE * lo):
                    slow = max(medians, key=medians.get)
                    timing.append(f"{base} step {index} ({text}): " + ", ".join(
                        f"{k} {v:.2f} s" for k, v in medians.items()) + f" ({slow} slower)")
    widths = [max(len(r[i]) for r in lines + [head]) for i in range(len(head))]
    out = ["  ".join(c.ljust(w) for c, w in zip(head, widths)),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in lines]
    out.append("")
    out.append(f"differences in behaviour ({len(differences)}):" if differences
               else "differences in behaviour: none")
    out += [f"  - {d}" for d in differences]
    out.append(f"intervals apart by more than {SLOWER_BY_S:g} s and {SLOWER_BY_SHARE:.0%} "
               f"(medians; {len(timing)}):" if timing else "intervals apart: none")
    out += [f"  - {t}" for t in timing]
    return "\n".join(out) + "\n"


def step_order(index: str) -> tuple:
    """Step indexes in run order: "6" before "10", "3.2" after "3"."""
    return tuple(int(p) if p.isdigit() else 0 for p in str(index).split("."))
