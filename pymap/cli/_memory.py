"""The model's own memory for a command's run: estimated before it starts,
bounded while it runs.

``pymap grow string int64 --n 1e12`` would need over 100 TiB of memory in
the C core (the model keeps every entry, as Go does).  Before a command
fills maps it calls :func:`check_fits` with the maps it will fill and how
many entries each holds at most; a run whose estimate passes what the
machine has free (``MemAvailable``) or a Runtime's budget for the model's
memory (``Runtime.model_memory``) is refused with exit status 2 and an
``--n`` that fits.  The Runtimes the commands make (:func:`new_runtime`)
get a budget no larger than what the machine has free, so a run the
estimate let through still stops with MemoryError (exit status 1, saying
how far it got: :class:`RunOutOfMemory`) before the machine swaps.

Bytes per entry are measured, not assumed: :func:`bytes_per_entry` fills a
map of the same type on the same version with up to PROBE_KEYS keys (the
keys the command would insert, at most PROBE_BYTES of model memory) and
takes the largest ``rt.model_bytes / len(m)`` over the fill's last
doubling of len, which covers one whole growth cycle: a grow holds the
old and the new arrays at once, and a table that just split holds twice
the groups its entries need.  That is multiplied by ALLOCATOR_SLACK for
what malloc keeps beside the C core's objects (resident memory measured
1.0-1.2x model_bytes for int64, string and pointer maps of 1e6 entries).
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from .. import MapType, Runtime
from .._native import lib
from .._types import parse_kind
from ._common import CLIError, fmt_bytes

PROBE_KEYS = 2048          #: keys in the measuring fill (a whole growth cycle: len 1024 -> 2048)
PROBE_BYTES = 64 << 20     #: the measuring fill holds at most this much model memory
ALLOCATOR_SLACK = 1.25     #: resident memory per byte of model_bytes, with a margin


def available_memory() -> Optional[int]:
    """Bytes the machine can give a new run without swapping (Linux:
    MemAvailable from /proc/meminfo; else the free physical pages), or None
    when the system does not say."""
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


@functools.lru_cache(maxsize=None)
def default_budget() -> int:
    """A Runtime's default model_memory (pymap's default follows the machine's memory)."""
    return Runtime(seed=1).model_memory


def run_budget() -> int:
    """model_memory for the Runtimes a command makes: the default, or what the machine has free if that is less."""
    avail = available_memory()
    return default_budget() if avail is None else max(1, min(default_budget(), avail))


def new_runtime(go: str, seed: int = 1, **kw: Any) -> Runtime:
    """A Runtime for a command's run, with model_memory from :func:`run_budget`."""
    return Runtime(go=go, seed=seed, model_memory=run_budget(), **kw)


class RunOutOfMemory(MemoryError):
    """The model ran out of memory part way through a run; `done` says how
    far the run got ("1,234 of 1,000,000 inserts")."""

    def __init__(self, error: MemoryError, done: str) -> None:
        super().__init__(str(error) or type(error).__name__)
        self.done = done


def _floor(t: MapType) -> float:
    """Bytes per entry no fill of t can go below: its share of a full group
    or bucket, plus the objects an entry points to (indirect keys and elems
    over 128 B, the new([N]byte) of a *[N]byte elem)."""
    per = max(t.group_size, t.bucket_size) / 8
    per += t.key_size if t.indirect_key else 0
    per += t.elem_size if t.indirect_elem else 0
    e = parse_kind(t.elem)
    if e.code == lib.PM_KIND_PTRBYTES:
        per += e.size
    return max(per, 1.0)


@functools.lru_cache(maxsize=64)
def bytes_per_entry(key: str, elem: str, go: str) -> float:
    """The model's memory per entry of map[key]elem on `go`, an upper bound
    for fills of any size (measured: see the module docstring)."""
    from .grow import Inserter
    t = MapType(key, elem)
    ins = Inserter(t)
    floor = _floor(t)
    k = int(min(PROBE_KEYS, ins.max_keys, PROBE_BYTES // floor))
    if k < 2:   # an entry is bigger than the probe: its objects are what it costs
        return floor * ALLOCATOR_SLACK
    rt = Runtime(go=go, seed=1)
    m = rt.make_map(t)
    use_range = ins.use_range(k)
    step = max(1, k // 128)
    worst = floor
    try:
        for a in range(0, k, step):
            ins.insert(m, a, min(k, a + step), use_range)
            if 2 * len(m) >= k:
                worst = max(worst, rt.model_bytes / len(m))
    except MemoryError:   # the machine or the budget cannot hold even the probe
        pass
    finally:
        m.drop()
    return worst * ALLOCATOR_SLACK


@dataclass(frozen=True)
class Fill:
    """A map a run fills: its type, the most entries it holds at once, and
    how many such maps exist at once, each in its own Runtime (grow's
    leader and trailer).  The fills of one check share a Runtime."""

    key: str
    elem: str
    entries: int
    copies: int = 1


def _round_down(n: float) -> int:
    """A count a person would type, at most n: 1e8, 5e7, 3,000."""
    if n < 1:
        return 0
    k = len(str(int(n))) - 1
    return int(str(int(n))[0]) * 10 ** k


def spell_count(n: int) -> str:
    """100000000 -> "1e8", 50000000 -> "5e7", 3000 -> "3000" (for hints)."""
    if n >= 10_000 and n == _round_down(n):
        k = len(str(n)) - 1
        return f"{n // 10 ** k}e{k}"
    return str(n)


def check_fits(fills: Sequence[Fill], go: str, what: str, n: int, option: str = "--n",
               hint: Optional[str] = None) -> None:
    """Refuse (CLIError, exit 2) a run whose maps cannot fit: `what` is the
    argument that asks for them ("--n 1e12"), `n` its value, from which the
    hint scales an `option` value that fits (or `hint`, when given)."""
    per = {(f.key, f.elem): bytes_per_entry(f.key, f.elem, go) for f in fills}
    per_runtime = sum(f.entries * per[f.key, f.elem] for f in fills)
    total = sum(f.entries * f.copies * per[f.key, f.elem] for f in fills)
    avail, budget = available_memory(), default_budget()
    scale = budget / per_runtime if per_runtime > budget else 1.0
    reason = f"pymap's budget for the model's memory (Runtime.model_memory) is {fmt_bytes(budget)}"
    if avail is not None and total > avail and avail / total < scale:
        scale = avail / total
        reason = f"this machine has {fmt_bytes(avail)} available"
    if scale >= 1.0:
        return
    biggest = max(fills, key=lambda f: f.entries * f.copies * per[f.key, f.elem])
    each = f"{fmt_bytes(per[biggest.key, biggest.elem])} per entry of map[{biggest.key}]{biggest.elem}"
    if hint is None:
        fit = _round_down(n * scale * 0.9)
        hint = (f"try {option} {spell_count(fit)}" if fit >= 1 else
                f"one entry of map[{biggest.key}]{biggest.elem} is already too big: use smaller key and elem types")
    raise CLIError(f"{what} needs about {fmt_bytes(total)} of model memory ({each}, measured on Go {go}); "
                   f"{reason}", hint)
