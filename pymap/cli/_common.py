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
from fractions import Fraction
from typing import Any, Iterator, Optional, Sequence, TextIO

from .. import DEFAULT_GO, GO_VERSIONS, version_facts, version_impl  # noqa: F401  (DEFAULT_GO: re-exported)
from .._heap import check_gogc

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

#: Go's int on 64-bit platforms: make's hint and GOMEMLIMIT are ints.
GO_INT_MAX = (1 << 63) - 1

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
    """A count: 1000000, 1_000_000, 1,000,000, 1e6, 100k, 2M (ASCII digits)."""
    s = text.strip().replace("_", "").replace(",", "")
    mult = 1
    if s[-1:].lower() in ("k", "m", "g"):
        mult = {"k": 10**3, "m": 10**6, "g": 10**9}[s[-1].lower()]
        s = s[:-1]
    f = math.nan
    if s.isascii():
        try:
            f = float(s)
        except ValueError:
            pass
    if not math.isfinite(f) or f * mult != int(f * mult):
        raise CLIError(f"{what} {_clip(text)!r} is not a whole number", "write it as 100000, 100_000, 1e5 or 100k")
    n = int(f * mult) if "e" in s.lower() or "." in s else int(s) * mult
    if n < minimum:
        raise CLIError(f"{what} must be at least {minimum}, not {_clip(str(n))}")
    return n


def parse_hint(text: str) -> int:
    """A make hint: a count >= 0 that fits Go's int (make panics beyond it)."""
    n = parse_count(text, "--hint", 0)
    if n > GO_INT_MAX:
        raise CLIError(f"--hint {_clip(text)!r} is larger than Go's int (at most {GO_INT_MAX:,}): make(map[K]V, hint) "
                       "panics with 'size out of range'", "give a hint of at most the entries you will insert")
    return n


def parse_bytes(text: str, what: str = "--memlimit") -> Optional[int]:
    """A byte size in GOMEMLIMIT's spelling (64MiB, 1GiB, 512KiB, 1048576) or "off"."""
    s = text.strip().replace("_", "")
    if s.lower() in ("off", "none", "max", "unlimited"):
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([A-Za-z]*)", s, re.ASCII)
    if not m or m.group(2).lower() not in _UNITS:
        raise CLIError(f"{what} {_clip(text)!r} is not a size",
                       "write bytes with an optional unit: 67108864, 64MiB, 1GiB, 512KiB (or off)")
    n = Fraction(m.group(1)) * _UNITS[m.group(2).lower()]   # exact: no float rounding, no overflow
    if n.denominator != 1:
        raise CLIError(f"{what} {_clip(text)!r} is not a whole number of bytes")
    if n > GO_INT_MAX:
        raise CLIError(f"{what} {_clip(text)!r} is too large (at most 2^63-1 bytes)")
    return int(n)


def parse_gogc(text: str) -> Optional[int]:
    """GOGC: a percentage >= 0 in the range the runtime takes (pymap.Runtime's gogc), or "off"."""
    s = text.strip().lower()
    if s == "off":
        return None
    hint = "GOGC is a percentage like 100 or 50, or off"
    if not re.fullmatch(r"[+-]?\d+", s, re.ASCII):
        raise CLIError(f"--gogc {text!r} is not a number", hint)
    out_of_range = CLIError(f"--gogc {_clip(text)!r} is out of range", "GOGC is a percentage from 0 to 2^63-1 "
                            "(default 100), or off")
    if len(s.lstrip("+-").lstrip("0")) > 19:   # not a Go int (and too long to convert quickly)
        raise out_of_range
    v = int(s)
    if v < 0:
        raise CLIError(f"--gogc must be >= 0 or off, not {v}", hint)
    try:
        check_gogc(v)
    except (TypeError, ValueError, OverflowError):
        raise out_of_range from None
    return v


def _clip(text: str, width: int = 40) -> str:
    """An argument for a message: a 5000-digit one is shown by its ends."""
    return text if len(text) <= width else f"{text[:20]}...{text[-10:]} ({len(text):,} characters)"


def split_map_type(key: str, elem: Optional[str]) -> tuple[str, str]:
    """KEY and ELEM from the command line: two arguments (``string int64``)
    or Go's spelling of the whole type in one (``map[string]int64``,
    ``map[[4]byte]int64``): the key ends at the bracket that closes
    ``map[``."""
    m = re.match(r"\s*map\s*\[", key)
    if m is None:
        if elem is None:
            raise CLIError(f"the elem type is missing after the key type {key!r}",
                           "give KEY ELEM (string int64) or the map type in one argument (map[string]int64)")
        return key, elem
    if elem is not None:
        raise CLIError(f"{key!r} is a whole map type, and {elem!r} another elem type",
                       "give KEY ELEM (string int64) or map[KEY]ELEM, not both")
    depth = 1
    for j in range(m.end(), len(key)):
        depth += {"[": 1, "]": -1}.get(key[j], 0)
        if depth == 0:
            break
    else:
        raise CLIError(f"the map type {key!r} has no ] closing its key type", "write it as map[KEY]ELEM")
    k, v = key[m.end():j].strip(), key[j + 1:].strip()
    if not k or not v:
        raise CLIError(f"the map type {key!r} has no {'key' if not k else 'elem'} type",
                       "write it as map[KEY]ELEM, e.g. map[string]int64")
    return k, v


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
    for unit, size in (("EiB", 1 << 60), ("PiB", 1 << 50), ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20),
                       ("KiB", 1 << 10)):
        if a >= size:
            return f"{n / size:.2f} {unit}"
    return f"{int(n)} B"


def fmt_limit(v: Optional[int]) -> str:
    return "off" if v is None else fmt_bytes(v)


def fmt_gogc(v: Optional[int]) -> str:
    return "off" if v is None else str(v)


# ---- the streams ------------------------------------------------------------------

class StdoutError(Exception):
    """Writing the command's output failed: `error` is the OSError (ENOSPC
    on a full disk or /dev/full, EPIPE when the reader of a pipe is gone)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


def safe_text(text: str, stream: Any) -> str:
    """`text` with what `stream`'s encoding cannot hold (the surrogates of a
    file name's undecodable bytes) as backslash escapes."""
    enc = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(enc)
        return text
    except (UnicodeEncodeError, LookupError):
        return text.encode(enc if enc.lower() != "ascii" else "ascii", "backslashreplace").decode(enc, "replace")


class GuardedStdout:
    """sys.stdout while a command runs: a write or flush that fails raises
    :class:`StdoutError` (so that main can tell the output's errors from the
    model's), and text the stream cannot encode is written escaped."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            try:
                return self._stream.write(text)
            except UnicodeEncodeError:
                return self._stream.write(safe_text(text, self._stream))
        except OSError as e:
            raise StdoutError(e) from None

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as e:
            raise StdoutError(e) from None

    def __getattr__(self, name: str) -> Any:   # isatty, fileno, encoding, ...: the stream's own
        return getattr(self._stream, name)


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
