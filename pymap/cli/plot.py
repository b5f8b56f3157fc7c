"""PNG plots for ``pymap grow`` and ``pymap scenario`` (matplotlib, Agg).

The figures are drawn with matplotlib's object API on an Agg canvas: no
pyplot state, no display needed.
"""
from __future__ import annotations

import math
import os
from typing import Any, Sequence

from ._common import CLIError

MiB = 1 << 20


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _check_path(path: str) -> None:
    if not path.lower().endswith(".png"):
        raise CLIError(f"--plot {path!r}: the plot is a PNG file", "give a file name ending in .png")
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise CLIError(f"--plot {path!r}: the directory {d} does not exist")


def _save(fig: Any, path: str) -> None:
    try:
        fig.savefig(path, format="png")
    except OSError as e:
        raise CLIError(f"cannot write the plot to {path!r}: {e.strerror or e}") from None


def plot_grow(path: str, t: Any, go: str, n: int, hint: int, events: Sequence[Any], samples: Sequence[Any]) -> None:
    """Bytes live and allocated, B and overflow buckets over the inserts; grows shaded."""
    _check_path(path)
    if samples and hasattr(samples[0], "capacity"):
        return _plot_grow_swiss(path, t, go, n, hint, events, samples)
    pts = sorted({s.inserts: s for s in samples}.items())
    xs = [k for k, _ in pts]
    st = [s for _, s in pts]
    fig = _figure(10, 6.5)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    top.plot(xs, [s.bytes / MiB for s in st], label="map bytes live", color="tab:blue")
    top.plot(xs, [s.allocated / MiB for s in st], label="bytes allocated (cumulative)", color="tab:orange")
    top.set_ylabel("MiB")
    top.set_title(f"map[{t.key}]{t.elem}: {n:,} inserts{f', hint {hint:,}' if hint else ''} "
                  f"(Go {go}, classic map, pymap model)")
    bottom.step(xs, [s.B for s in st], where="post", label="B (log2 buckets)", color="tab:green")
    bottom.set_ylabel("B")
    ovf = bottom.twinx()
    ovf.plot(xs, [s.noverflow for s in st], label="overflow buckets (noverflow)", color="tab:red", alpha=0.7)
    ovf.set_ylabel("overflow buckets")
    # grows: shade from the insert that starts one to the one that finishes its evacuation
    start = None
    for e in events:
        if e.kind in ("grow", "same-size grow") and e.state.growing:
            start = e
        elif e.kind == "evacuated" and start is not None:
            for ax in (top, bottom):
                ax.axvspan(start.insert, e.insert, color="grey" if start.kind == "grow" else "purple",
                           alpha=0.15, lw=0)
            start = None
        if e.kind == "same-size grow":
            top.axvline(e.insert, color="purple", lw=0.8, ls="--")
    top.legend(loc="upper left")
    h1, l1 = bottom.get_legend_handles_labels()
    h2, l2 = ovf.get_legend_handles_labels()
    bottom.legend(h1 + h2, l1 + l2, loc="lower right")
    bottom.set_xlabel("inserts (grey: evacuation in progress; purple: same-size grow)")
    _save(fig, path)


def _plot_grow_swiss(path: str, t: Any, go: str, n: int, hint: int, events: Sequence[Any],
                     samples: Sequence[Any]) -> None:
    """Bytes live and allocated (top); slots and tables (bottom); the events as lines."""
    pts = sorted({s.inserts: s for s in samples}.items())
    xs = [k for k, _ in pts]
    st = [s for _, s in pts]
    fig = _figure(10, 6.5)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    top.plot(xs, [s.bytes / MiB for s in st], label="map bytes live", color="tab:blue")
    top.plot(xs, [s.allocated / MiB for s in st], label="bytes allocated (cumulative)", color="tab:orange")
    top.set_ylabel("MiB")
    top.set_title(f"map[{t.key}]{t.elem}: {n:,} inserts{f', hint {hint:,}' if hint else ''} "
                  f"(Go {go}, Swiss-table map, pymap model)")
    log = max((s.capacity for s in st), default=0) > 4096

    def pos(v: int) -> float:
        return v if v > 0 or not log else math.nan   # a log axis has no 0

    bottom.step(xs, [pos(s.capacity) for s in st], where="post", label="slots (all tables)", color="tab:green")
    bottom.step(xs, [pos(s.len) for s in st], where="post", label="entries", color="tab:blue", alpha=0.6)
    bottom.set_ylabel("slots, entries" + (" (log)" if log else ""))
    if log:
        bottom.set_yscale("log")
    tabs = bottom.twinx()
    tabs.step(xs, [s.tables for s in st], where="post", label="tables", color="tab:purple", alpha=0.8)
    tabs.set_ylabel("tables")
    style = {"small -> table": ("black", "-"), "doubling": ("grey", "-"), "directory": ("red", "--")}
    for e in events:
        if e.kind in style:
            c, ls = style[e.kind]
            top.axvline(e.insert, color=c, lw=0.7, ls=ls, alpha=0.6)
    splits = [e.insert for e in events if e.kind == "split"]
    if splits:
        top.plot(splits, [0] * len(splits), "|", color="tab:purple", ms=8, label="splits")
    top.legend(loc="upper left")
    h1, l1 = bottom.get_legend_handles_labels()
    h2, l2 = tabs.get_legend_handles_labels()
    bottom.legend(h1 + h2, l1 + l2, loc="lower right")
    bottom.set_xlabel("inserts (grey: table doubling; red dashed: directory doubling; purple ticks: splits)")
    _save(fig, path)


def _draw_variant(ax: Any, r: Any, legend: bool, tick_ax: Any = None) -> None:
    xs = list(range(len(r.samples)))
    ms = [s.memstats for s in r.samples]
    ax.plot(xs, [m.heap_alloc / MiB for m in ms], label="HeapAlloc", color="tab:blue", marker=".", ms=3)
    ax.plot(xs, [m.heap_inuse / MiB for m in ms], label="HeapInuse", color="tab:green", ls="--")
    goal = [m.next_gc / MiB if m.next_gc < (1 << 62) else math.nan for m in ms]
    ax.plot(xs, goal, label="NextGC (goal)", color="tab:orange", ls=":")
    first = True
    for i in range(1, len(ms)):
        d = ms[i].num_gc - ms[i - 1].num_gc
        if d > 0:
            forced = ms[i].num_forced_gc > ms[i - 1].num_forced_gc
            ax.axvline(i, color="red" if forced else "grey", lw=1.2 if forced else 0.8, alpha=0.7,
                       label=("GC cycle (red: runtime.GC())" if first else None))
            first = False
            if d > 1:
                ax.annotate(f"{d}", (i, 0), xytext=(2, 2), textcoords="offset points", fontsize=7, color="grey")
    # each step's tick is at its last op (the state the table shows); labels alternate
    # between two rows (major and minor ticks) so that adjacent one-op steps stay legible
    ticks = [row.last_sample for row in r.rows]
    tags = [row.tag for row in r.rows]
    tx = tick_ax if tick_ax is not None else ax
    tx.set_xticks(ticks[0::2], tags[0::2], rotation=30, ha="right", fontsize=7)
    tx.set_xticks(ticks[1::2], tags[1::2], minor=True, rotation=30, ha="right", fontsize=7)
    tx.tick_params(axis="x", which="minor", pad=16, length=8)
    ax.set_title(r.variant.name, fontsize=9)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(fontsize=7, loc="upper left")


def _draw_map(ax: Any, r: Any) -> None:
    """The map the steps act on: overflow buckets, and B on a second axis
    (Swiss: slots, and tables on a second axis)."""
    xs = list(range(len(r.samples)))
    if r.rows and r.rows[0].map.get("impl") == "swiss":
        live = [s.live for s in r.samples]
        ax.step(xs, [s.capacity if ok else math.nan for s, ok in zip(r.samples, live)], where="post",
                color="tab:green", label="slots (all tables)")
        ax.plot(xs, [s.count if ok else math.nan for s, ok in zip(r.samples, live)], color="tab:blue",
                alpha=0.6, label="entries")
        ax.set_ylabel("slots, entries")
        b = ax.twinx()
        b.step(xs, [s.ntables if ok else math.nan for s, ok in zip(r.samples, live)], where="post",
               color="tab:purple", label="tables")
        b.set_ylabel("tables")
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = b.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper left")
        ax.grid(alpha=0.3)
        ax.set_title("the map", fontsize=9)
        return
    live = [s.live for s in r.samples]
    ax.plot(xs, [s.noverflow if ok else math.nan for s, ok in zip(r.samples, live)], color="tab:red",
            label="overflow buckets (noverflow)")
    ax.set_ylabel("overflow buckets")
    b = ax.twinx()
    b.step(xs, [s.B if ok else math.nan for s, ok in zip(r.samples, live)], where="post", color="tab:green",
           label="B (log2 buckets)")
    b.set_ylabel("B")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = b.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    ax.set_title("the map", fontsize=9)


def plot_scenario(path: str, title: str, cfg: Any, results: Sequence[Any]) -> None:
    """HeapAlloc, HeapInuse and NextGC after every op of each variant, GC cycles marked."""
    _check_path(path)
    k = len(results)
    cols = 1
    low = None
    if k == 1:
        fig = _figure(11, 7.5)
        top, low = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.4])
        axes = [top]
        _draw_map(low, results[0])
    else:
        cols = 2 if k % 2 == 0 else 3
        rows = math.ceil(k / cols)
        fig = _figure(5.2 * cols, 3.4 * rows + 0.6)
        grid = fig.subplots(rows, cols, sharey=True, squeeze=False)
        axes = [ax for row in grid for ax in row]
        for ax in axes[k:]:
            ax.set_visible(False)
    for i, (ax, r) in enumerate(zip(axes, results)):
        _draw_variant(ax, r, legend=(i == 0), tick_ax=low if k == 1 else None)
        if i % cols == 0:
            ax.set_ylabel("MiB")
    fig.suptitle(f"{title} - Go {cfg.go}, n={cfg.n:,}, GOGC={'off' if cfg.gogc is None else cfg.gogc}"
                 f"{'' if cfg.memory_limit is None else f', GOMEMLIMIT={cfg.memory_limit / MiB:g} MiB'} "
                 f"(pymap model)", fontsize=11)
    _save(fig, path)
