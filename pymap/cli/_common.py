"""Argument parsing and output shared by every ``pymap`` subcommand.

Tables go through :class:`Output`: rich tables when stdout is a terminal,
aligned plain text when it is piped (or with ``--plain``).  Progress bars
go to stderr, only when stderr is a terminal.
"""
from __future__ import annotations

import contextlib
import math
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional, Sequence, TextIO

from .. import DEFAULT_GO, GO_VERSIONS, version_facts, version_impl  # noqa: F401  (DEFAULT_GO: re-exported)

#: The version ``pymap claims`` checks by default.  Claims (and comparisons
#: between versions) about the Swiss map come with a later pymap release, so
#: claims keeps to the classic map for now.
CLAIMS_GO = "1.23"

#: The classic map set beside a Swiss layout: the newest classic row of the
#: version table (its position in GO_VERSIONS, not a comparison of names).
CLASSIC_REF = [v for v in GO_VERSIONS if version_impl(v) == "classic"][-1]

CLASSIC_VERSIONS = tuple(v for v in GO_VERSIONS if version_impl(v) == "classic")
SWISS_VERSIONS = tuple(v for v in GO_VERSIONS if version_impl(v) == "swiss")


def has_clear_builtin(go: str) -> bool:
    """The version has clear(m) (from the version table); before 1.21 the
    range-delete idiom compiles to the same mapclear."""
    return version_facts(go).clear_builtin


def is_swiss(go: str) -> bool:
    return version_impl(go) == "swiss"


def impl_label(go: str) -> str:
    """How headings name the map a version runs."""
    return "Swiss-table map" if is_swiss(go) else "classic hmap/bmap map"


class CLIError(Exception):
    """A problem the user can fix; printed as ``pymap <cmd>: error: ...``, exit 2."""

    def __init__(self, message: str, hint: str = "", code: int = 2) -> None:
        super().__init__(message)
        self.hint = hint
        self.code = code


# ---- argument types ---------------------------------------------------------------

_UNITS = {"": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
          "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}


def parse_go(text: str) -> str:
    """A --go value: one of GO_VERSIONS, also spelled "go1.27", "1.27.3" or
    "1.25.5-noswissmap" (a patch release is its minor version's row)."""
    v = text.strip().lower()
    if v.startswith("go"):
        v = v[2:]
    if v in GO_VERSIONS:
        return v
    m = re.fullmatch(r"(1\.\d+)(?:\.\d+)?(?:rc\d+)?(?:[-,+]?(?:goexperiment=)?(noswiss)(?:map)?)?", v)
    if m:
        name = m.group(1) + ("-noswiss" if m.group(2) else "")
        if name in GO_VERSIONS:
            return name
        if m.group(2) and m.group(1) in GO_VERSIONS:
            raise CLIError(f"Go {m.group(1)} has no GOEXPERIMENT=noswissmap in pymap's version table",
                           f"classic versions: {', '.join(CLASSIC_VERSIONS)}; Swiss: {', '.join(SWISS_VERSIONS)}")
    raise CLIError(f"unknown Go version {text!r}", f"--go takes one of {', '.join(GO_VERSIONS)}")


def parse_count(text: str, what: str = "--n", minimum: int = 0) -> int:
    """A count: 1000000, 1_000_000, 1,000,000, 1e6, 100k, 2M."""
    s = text.strip().replace("_", "").replace(",", "")
    mult = 1
    if s[-1:].lower() in ("k", "m", "g"):
        mult = {"k": 10**3, "m": 10**6, "g": 10**9}[s[-1].lower()]
        s = s[:-1]
    try:
        f = float(s)
    except ValueError:
        f = math.nan
    if not math.isfinite(f) or f * mult != int(f * mult):
        raise CLIError(f"{what} {text!r} is not a whole number", "write it as 100000, 100_000, 1e5 or 100k")
    n = int(f * mult) if "e" in s.lower() or "." in s else int(s) * mult
    if n < minimum:
        raise CLIError(f"{what} must be at least {minimum}, not {n}")
    return n


def parse_bytes(text: str, what: str = "--memlimit") -> Optional[int]:
    """A byte size in GOMEMLIMIT's spelling (64MiB, 1GiB, 512KiB, 1048576) or "off"."""
    s = text.strip().replace("_", "")
    if s.lower() in ("off", "none", "max", "unlimited"):
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([A-Za-z]*)", s)
    if not m or m.group(2).lower() not in _UNITS:
        raise CLIError(f"{what} {text!r} is not a size",
                       "write bytes with an optional unit: 67108864, 64MiB, 1GiB, 512KiB (or off)")
    n = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if n != int(n):
        raise CLIError(f"{what} {text!r} is not a whole number of bytes")
    if n >= 1 << 63:
        raise CLIError(f"{what} {text!r} is too large (at most 2^63-1 bytes)")
    return int(n)


def parse_gogc(text: str) -> Optional[int]:
    """GOGC: a percentage >= 0, or "off"."""
    s = text.strip().lower()
    if s == "off":
        return None
    try:
        v = int(s)
    except ValueError:
        raise CLIError(f"--gogc {text!r} is not a number", "GOGC is a percentage like 100 or 50, or off") from None
    if v < 0:
        raise CLIError(f"--gogc must be >= 0 or off, not {v}", "GOGC is a percentage like 100 or 50, or off")
    return v


# ---- formatting ------------------------------------------------------------------

def fmt_int(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def fmt_bytes(n: Optional[float]) -> str:
    """1,234,567 B -> "1.18 MiB" (for prose; tables print exact bytes)."""
    if n is None:
        return "none"
    a = abs(n)
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if a >= size:
            return f"{n / size:.2f} {unit}"
    return f"{int(n)} B"


def fmt_limit(v: Optional[int]) -> str:
    return "off" if v is None else fmt_bytes(v)


def fmt_gogc(v: Optional[int]) -> str:
    return "off" if v is None else str(v)


# ---- tables and output ---------------------------------------------------------------

@dataclass
class Table:
    """A table rendered by :class:`Output`.  Columns whose name starts with
    "<" are left-aligned (the "<" is dropped); the others right-aligned."""

    columns: Sequence[str]
    title: str = ""
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    styles: dict[int, dict[str, str]] = field(default_factory=dict)   #: column -> cell text -> rich style

    def add(self, *cells: Any) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"row has {len(cells)} cells, table has {len(self.columns)} columns")
        self.rows.append([fmt_int(c) for c in cells])

    @property
    def names(self) -> list[str]:
        return [c.lstrip("<") for c in self.columns]

    def plain(self) -> str:
        names = self.names
        left = [c.startswith("<") for c in self.columns]
        widths = [max([len(n)] + [len(line) for r in self.rows for line in r[i].splitlines() or [""]])
                  for i, n in enumerate(names)]
        out = []
        if self.title:
            out.append(self.title)

        def line(cells: Sequence[str]) -> str:
            parts = [c.ljust(w) if lf else c.rjust(w) for c, w, lf in zip(cells, widths, left)]
            return "  ".join(parts).rstrip()

        out.append(line(names))
        out.append("  ".join("-" * w for w in widths))
        for r in self.rows:
            split = [c.splitlines() or [""] for c in r]
            for k in range(max(len(s) for s in split)):
                out.append(line([s[k] if k < len(s) else "" for s in split]))
        out.extend(self.notes)
        return "\n".join(out)


class Output:
    """Where a command writes: rich on a terminal, plain text otherwise."""

    def __init__(self, stream: Optional[TextIO] = None, mode: str = "auto") -> None:
        self.stream = stream if stream is not None else sys.stdout
        if mode == "auto":
            isatty = getattr(self.stream, "isatty", lambda: False)()
            mode = "rich" if isatty and os.environ.get("TERM") != "dumb" else "plain"
        self.rich = mode == "rich"
        self._console: Any = None
        if self.rich:
            from rich.console import Console
            self._console = Console(file=self.stream, highlight=False, soft_wrap=False)

    def print(self, text: str = "") -> None:
        if self.rich:
            from rich.markup import escape
            self._console.print(escape(text))
        else:
            self.stream.write(text + "\n")

    def para(self, text: str, width: int = 100) -> None:
        """Prose: wrapped at `width` in plain text, at the terminal's width by rich."""
        if self.rich:
            self.print(text)
        else:
            import textwrap
            self.stream.write(textwrap.fill(text, width, break_on_hyphens=False) + "\n")

    def heading(self, text: str) -> None:
        if self.rich:
            from rich.markup import escape
            self._console.print(f"[bold]{escape(text)}[/bold]")
        else:
            self.stream.write(text + "\n")

    def table(self, t: Table) -> None:
        if not self.rich:
            notes, t.notes = t.notes, []
            self.stream.write(t.plain() + "\n")
            t.notes = notes
            for n in notes:
                self.para(n)
            return
        from rich import box
        from rich.table import Table as RichTable
        from rich.text import Text
        rt = RichTable(title=Text(t.title, style="bold") if t.title else None, title_justify="left",
                       box=box.SIMPLE_HEAD,
                       header_style="bold", pad_edge=False)
        for c in t.columns:
            rt.add_column(c.lstrip("<"), justify="left" if c.startswith("<") else "right",
                          overflow="fold")
        for r in t.rows:
            rt.add_row(*(Text(c, style=t.styles.get(i, {}).get(c, "")) for i, c in enumerate(r)))
        self._console.print(rt)
        for n in t.notes:
            self.para(n)


class _NoProgress:
    def advance(self, n: float = 1) -> None:
        pass

    def update(self, completed: float) -> None:
        pass

    def describe(self, text: str) -> None:
        pass


class _RichProgress:
    def __init__(self, progress: Any, task: Any) -> None:
        self._p, self._t = progress, task

    def advance(self, n: float = 1) -> None:
        self._p.advance(self._t, n)

    def update(self, completed: float) -> None:
        self._p.update(self._t, completed=completed)

    def describe(self, text: str) -> None:
        from rich.markup import escape
        self._p.update(self._t, description=escape(text))


@contextlib.contextmanager
def progress(total: float, description: str, enabled: bool = True) -> Iterator[Any]:
    """A progress bar on stderr when it is a terminal; otherwise nothing."""
    if not enabled or not sys.stderr.isatty() or os.environ.get("TERM") == "dumb":
        yield _NoProgress()
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as p:
        from rich.markup import escape
        yield _RichProgress(p, p.add_task(escape(description), total=total))
