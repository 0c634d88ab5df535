"""Plots of a run, made with matplotlib (Debian's python3-matplotlib, Agg backend, no display).

timeline(): one cell on one time axis: I/O completions per 100 ms (failed ones in red), faults as
shaded spans, the initiators' events as marks on one lane per session, each expectation's window
as a band with the measured moment on it, and the steps along the bottom.
sweeps(): for a matrix over a numeric setting, each measured interval against the setting, the
median with min-max error bars over repeats.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

EVENT_COLORS = {"login": "#2a7", "recovery_ended": "#2a7", "conn_error": "#c22",
                "nop_timeout": "#c22", "recovery_started": "#e80", "replacement_timeout": "#a0a",
                "login_failed": "#c60", "logout": "#777", "capacity_changed": "#06c",
                "luns_changed": "#06c", "async_event": "#06c", "tmf_timeout": "#a0a",
                "reject": "#c22", "rescan": "#06c"}
FAULT_COLORS = ["#f4cccc", "#d9e8fb", "#fce5cd", "#d9ead3", "#ead1dc", "#fff2cc"]


def timeline(record: dict, path: Path) -> None:
    duration = max(record.get("duration", 1.0), 1.0)
    lanes = sorted({(e["initiator"], e["session"]) for e in record.get("events", [])})
    fig, (ax_io, ax_ev, ax_exp) = plt.subplots(
        3, 1, figsize=(12, 6.5), sharex=True,
        gridspec_kw={"height_ratios": [3, max(1, len(lanes)) * 0.6 + 0.6, 1.6]})
    fig.suptitle(f"{record['cell']} — {record['outcome']}", fontsize=11,
                 color="#070" if record["outcome"] == "passed" else "#b00")

    # I/O completions per 100 ms, per job; failed completions stacked in red.
    bucket = 0.1
    n = int(duration / bucket) + 1
    ymax = 1
    for job, data in sorted(record.get("io", {}).items()):
        ok = [0] * n
        bad = [0] * n
        for t, good, *_ in data.get("completions", []):
            i = min(n - 1, max(0, int(t / bucket)))
            (ok if good else bad)[i] += 1
        xs = [i * bucket for i in range(n)]
        ax_io.step(xs, ok, where="post", label=f"{job} ok", linewidth=1)
        if any(bad):
            ax_io.bar(xs, bad, width=bucket, align="edge", color="#c22", label=f"{job} failed")
        ymax = max(ymax, max(ok), max(bad))
    ax_io.set_ylabel("completions\nper 100 ms")
    ax_io.set_ylim(0, ymax * 1.15)

    # Faults: shaded spans on every panel.
    for k, f in enumerate(record.get("faults", [])):
        end = f["off"] if f.get("off") is not None else duration
        color = FAULT_COLORS[k % len(FAULT_COLORS)]
        for ax in (ax_io, ax_ev, ax_exp):
            ax.axvspan(f["on"], end, color=color, alpha=0.6, linewidth=0)
        label = f["kind"] + (f" {f['nic']}" if f.get("nic") else "")
        ax_io.text(f["on"], ymax * 1.05, label, fontsize=8, va="bottom")

    # Events, a lane per initiator session.
    for y, lane in enumerate(lanes):
        last_t, level = -1e9, 0
        for e in sorted(record["events"], key=lambda e: e["t"]):
            if (e["initiator"], e["session"]) != lane or e["type"] == "state_change":
                continue
            color = EVENT_COLORS.get(e["type"], "#555")
            ax_ev.plot([e["t"]], [y], marker="|", markersize=14, color=color)
            text = e["type"]
            if e["type"] == "conn_error" and e.get("conn_error_name"):
                text = e["conn_error_name"].removeprefix("ISCSI_ERR_")
            # Events close together (a NOP timeout, its conn_error, recovery_started) get
            # their labels stacked instead of printed over each other.
            level = level + 1 if e["t"] - last_t < duration * 0.05 else 0
            last_t = e["t"]
            ax_ev.annotate(text, (e["t"], y), xytext=(2, 4 + 9 * (level % 4)),
                           textcoords="offset points", fontsize=7, color=color)
    ax_ev.set_yticks(range(len(lanes)))
    ax_ev.set_yticklabels([f"{i} {s}" for i, s in lanes], fontsize=8)
    ax_ev.set_ylim(-0.7, max(1, len(lanes)) - 0.2)
    ax_ev.set_ylabel("events")

    # Expectations: the window as a band, the measured moment as a dot; steps at the bottom.
    exps = record.get("expectations", [])
    for y, e in enumerate(exps):
        lo, hi = e["window"]
        ax_exp.barh(y, hi - lo, left=e["anchor"] + lo, height=0.5, color="#cfe2f3", edgecolor="#69c")
        if e.get("measured") is not None:
            ax_exp.plot([e["anchor"] + e["measured"]], [y], "o",
                        color="#070" if e["passed"] else "#b00")
        # The name at the band's left end: a band often runs past the plot's right edge.
        ax_exp.text(e["anchor"] + lo, y + 0.3, e.get("label") or f"{e['index']} {e['subject']}",
                    fontsize=7, va="bottom")
    for s in record.get("steps", []):
        ax_exp.axvline(s["start"], color="#bbb", linewidth=0.5)
        ax_exp.text(s["start"], -0.9, s["index"], fontsize=6, color="#777", ha="center")
    ax_exp.set_yticks([])
    ax_exp.set_ylim(-1.2, max(1, len(exps)) + 0.2)
    ax_exp.set_ylabel("expected")
    ax_exp.set_xlabel("seconds since the scenario started")
    ax_exp.set_xlim(0, duration * 1.02)
    if record.get("io"):
        ax_io.legend(fontsize=7, loc="upper right")
    fig.subplots_adjust(left=0.11, right=0.97, top=0.93, bottom=0.08, hspace=0.12)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def numeric(v) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, dict):
        for key in ("value", "x"):
            if isinstance(v.get(key), (int, float)):
                return float(v[key])
    return None


def sweeps(runs, out: Path) -> list[Path]:
    """One figure per scenario whose matrix has a numeric parameter: each expectation's measured
    time against that parameter (median, min-max bars over repeats and the other parameters'
    cells drawn as separate series)."""
    made = []
    by_scenario = defaultdict(list)
    for r in runs:
        if r.cell.params:
            by_scenario[r.cell.scenario].append(r)
    for scenario, rs in by_scenario.items():
        params = list(rs[0].cell.params)
        for p in params:
            xs = {numeric(r.cell.params[p]) for r in rs}
            if None in xs or len(xs) < 2:
                continue
            others = [q for q in params if q != p]
            series = defaultdict(lambda: defaultdict(list))   # (expectation, other values) -> x -> [y]
            formula = {}
            for r in rs:
                x = numeric(r.cell.params[p])
                other = ", ".join(f"{q}={r.cell.params[q] if not isinstance(r.cell.params[q], dict) else r.cell.params[q].get('name')}"
                                  for q in others)
                labelled = any(e.get("label") for e in r.record.get("expectations", []))
                for e in r.record.get("expectations", []):
                    # With labels in the file, the labelled intervals are the ones meant.
                    if e.get("measured") is None or (labelled and not e.get("label")):
                        continue
                    name = e.get("label") or f"{e['index']} {e['subject']}"
                    series[(name, other)][x].append(e["measured"])
                v = r.cell.params[p]
                if isinstance(v, dict) and isinstance(v.get("formula"), (int, float)):
                    formula[x] = v["formula"]
            if not series:
                continue
            fig, ax = plt.subplots(figsize=(9, 5))
            for (name, other), points in sorted(series.items()):
                xs_sorted = sorted(points)
                med = [statistics.median(points[x]) for x in xs_sorted]
                lo = [m - min(points[x]) for m, x in zip(med, xs_sorted)]
                hi = [max(points[x]) - m for m, x in zip(med, xs_sorted)]
                ax.errorbar(xs_sorted, med, yerr=[lo, hi], marker="o", capsize=4,
                            label=name + (f" ({other})" if other else ""))
            if formula:
                # On top: a measurement that follows it exactly would hide it otherwise.
                fx = sorted(formula)
                ax.plot(fx, [formula[x] for x in fx], "k--", linewidth=2.5, alpha=0.6, zorder=10,
                        label="formula")
            names = {numeric(r.cell.params[p]): r.cell.params[p].get("name") for r in rs
                     if isinstance(r.cell.params[p], dict) and r.cell.params[p].get("name")}
            if names:
                ticks = sorted(names)
                ax.set_xticks(ticks, [f"{x:g}\n{names[x]}" for x in ticks], fontsize=8)
            ax.set_xlabel(p)
            ax.set_ylabel("measured (s): median, min-max over runs")
            ax.set_title(f"{scenario}: measured against {p}")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
            fig.tight_layout()
            path = out / f"sweep-{scenario}-{p}.png"
            fig.savefig(path, dpi=100)
            plt.close(fig)
            made.append(path)
    return made


KIND_COLORS = {"iscsi-lab": "#1f77b4", "linux": "#d62728"}


def kinds(records: list[dict], path: Path) -> Path | None:
    """The side-by-side table as a figure: one row per measured expectation of each cell, each
    kind's median with its min-max over repeats, so intervals of both initiators read off one
    axis. None when fewer than two kinds ran."""
    from .compare import collect, step_order
    names, table, _ = collect(records)
    if len(names) < 2:
        return None
    rows = []
    for base in sorted(table):
        exps = sorted((k for k in table[base] if k[0] != "outcome"),
                      key=lambda k: (step_order(k[0]), k[1]))
        for index, text in exps:
            by_kind = table[base][(index, text)]
            if any(m is not None for runs in by_kind.values() for m, _ in runs):
                rows.append((f"{base}  {index}. {text[:60]}", by_kind))
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(12, 0.38 * len(rows) + 1.6))
    for i, (_, by_kind) in enumerate(rows):
        for j, kind in enumerate(names):
            values = [m for m, _ in by_kind.get(kind, []) if m is not None]
            if not values:
                continue
            y = i + (j - (len(names) - 1) / 2) * 0.25
            med = statistics.median(values)
            ax.errorbar([med], [y], xerr=[[med - min(values)], [max(values) - med]], fmt="o",
                        color=KIND_COLORS.get(kind), capsize=3, markersize=5,
                        label=kind if i == 0 or kind not in ax.get_legend_handles_labels()[1] else None)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("measured after the expectation's anchor (s): median, min-max over repeats")
    ax.set_title("the same scenarios, each initiator kind")
    ax.grid(axis="x", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    seen = dict(zip(labels, handles))
    ax.legend(seen.values(), seen.keys(), fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
