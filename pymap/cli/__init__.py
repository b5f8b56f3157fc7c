"""The ``pymap`` command: answers about Go map memory, with tables and plots.

    pymap layout KEY ELEM            how map[KEY]ELEM is laid out, bytes per entry
    pymap grow KEY ELEM --n N        the growth timeline of N inserts (--plot FILE.png)
                                     (KEY ELEM may also be spelled map[KEY]ELEM, one argument)
    pymap scenario NAME              clear-vs-drop, churn, pool, pointer-values (or --file X.toml)
    pymap claims                     common claims about Go's classic map and the GC, checked live
    pymap demo                       the short demonstration ``python -m pymap`` used to print

Every answer names the Go version it models (--go, default pymap.DEFAULT_GO,
the newest release; Go 1.24 and later run the Swiss-table map, older
versions and the "-noswiss" rows the classic map; claims keeps to a classic
version until claims about the Swiss map come in a later release).  Tables
are rich on a terminal and plain text when piped.  Errors go to stderr
with what to fix, and exit non-zero (2 for bad arguments, 1 when the model
stops or the output cannot be written); a run that cannot fit in the
machine's memory is refused before it starts (see _memory.py).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Optional, Sequence

from .. import DEFAULT_GO, GO_VERSIONS, __version__
from ._common import (CLAIMS_GO, CLASSIC_VERSIONS, SWISS_VERSIONS, CLIError, GuardedStdout, Output, StdoutError,
                      parse_bytes, parse_count, parse_go, parse_gogc, safe_text)
from ._memory import RunOutOfMemory

__all__ = ["main", "build_parser", "subcommands"]

_GO_HELP = (f"the Go version to model: {', '.join(GO_VERSIONS)} (default {DEFAULT_GO}; also spelled go1.27, "
            f"1.27.3, 1.25.5-noswissmap). Swiss-table map: {', '.join(SWISS_VERSIONS)}; classic map: "
            f"{', '.join(CLASSIC_VERSIONS)} (X-noswiss is Go X built with GOEXPERIMENT=noswissmap)")
_CLAIMS_GO_HELP = (f"the classic Go version to check the claims on: {', '.join(CLASSIC_VERSIONS)} (default "
                   f"{CLAIMS_GO}); claims about the Swiss map come with a later release")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:   # argparse's errors, with a pointer to --help
        self.print_usage(sys.stderr)
        self.exit(2, safe_text(f"{self.prog}: error: {message}\n  hint: run '{self.prog} --help' for the "
                               "arguments\n", sys.stderr))


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="pymap", description="Answers about Go's maps (the Swiss-table map of Go 1.24+ and the "
                "classic map) and the Go heap around them, computed by pymap's C model of the runtime.",
                epilog="Each command has its own --help. Docs: docs/cli/ in the pymap repository.",
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"pymap {__version__} (models Go {', '.join(GO_VERSIONS)})")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def common_args(go_help: str) -> argparse.ArgumentParser:
        c = argparse.ArgumentParser(add_help=False)
        c.add_argument("--go", metavar="V", help=go_help)
        c.add_argument("--seed", type=int, metavar="S",
                       help="the model's random seed (default 1, so runs repeat exactly)")
        c.add_argument("--plain", action="store_true", help="plain-text tables even on a terminal")
        return c

    common = common_args(_GO_HELP)

    lay = sub.add_parser("layout", parents=[common], help="group or bucket layout, header size, bytes per entry",
                         description="How map[KEY]ELEM is laid out. Swiss versions: the group (control word, "
                                     "slots of {key; elem}, padding), the Map header and table, the 7/8 load "
                                     "limit and bytes per slot and entry (measured), beside the classic bucket "
                                     "of the same types. Classic versions: the bucket's fields and offsets, slot "
                                     "sizes, indirect keys/elems, hmap and mapextra sizes, the load factor and "
                                     "bytes per entry (measured). Both: when a small map lives on the stack.")
    lay.add_argument("key", metavar="KEY", help="the key type, in Go: int64, string, [16]byte, float64, struct{}, "
                     "...; or the whole map type, map[KEY]ELEM, without ELEM")
    lay.add_argument("elem", metavar="ELEM", nargs="?", help="the elem type, in Go (also *[N]byte)")
    lay.add_argument("--json", action="store_true", help="machine-readable output")
    lay.set_defaults(size_options=())

    grow = sub.add_parser("grow", parents=[common], help="the growth timeline of N inserts",
                          description="Insert N keys into make(map[KEY]ELEM, hint) and show, each at its exact "
                                      "insert, the growth events (Swiss: the small group, small -> table, table "
                                      "doublings, splits, directory doublings; classic: B changes, same-size "
                                      "grows, overflow buckets, evacuation progress) and the bytes live and "
                                      "allocated.")
    grow.add_argument("key", metavar="KEY", help="the key type, in Go; or the whole map type, map[KEY]ELEM, without "
                      "ELEM")
    grow.add_argument("elem", metavar="ELEM", nargs="?", help="the elem type, in Go")
    grow.add_argument("--n", required=True, metavar="N", help="keys to insert (1000000, 1e6, 1M)")
    grow.add_argument("--hint", metavar="H", help="make(map[K]V, H) (default: no hint)")
    grow.add_argument("--plot", metavar="FILE.png", help="also draw the timeline to a PNG")
    grow.add_argument("--all", action="store_true",
                      help="Swiss versions: a row for every table split (by default runs of splits share a row "
                           "when there are many events)")
    grow.add_argument("--json", action="store_true", help="machine-readable output")
    grow.set_defaults(size_options=("--n", "--hint"))   # what main's out-of-memory hint may name

    from .scenario import BUILTINS
    sc = sub.add_parser("scenario", parents=[common], help="run a built-in or user scenario: gctrace, MemStats",
                        description="Run a scenario in the model's C scenario runner and print, per step, the "
                                    "map's state, MemStats and the gctrace lines. Built in: "
                                    + "; ".join(f"{b.name}: {b.title}" for b in BUILTINS.values()) + ".")
    sc.add_argument("name", nargs="?", metavar="NAME", help=f"one of {', '.join(BUILTINS)}")
    sc.add_argument("--file", metavar="SCENARIO.toml", help="run a scenario file instead (docs/cli/scenario.md)")
    sc.add_argument("--list", action="store_true", help="list the built-in scenarios")
    sc.add_argument("--n", metavar="N", help="the scenario's size (each scenario's default is in --list)")
    sc.add_argument("--gogc", metavar="G", help="GOGC: a percentage, or off (default 100)")
    sc.add_argument("--memlimit", metavar="M", help="GOMEMLIMIT: bytes with an optional unit, 64MiB, 1GiB (default off)")
    sc.add_argument("--window", metavar="W", help="churn: keys kept in the sliding window (default n/100)")
    sc.add_argument("--size", metavar="N", help="pointer-values: N of the *[N]byte values (default 1024)")
    sc.add_argument("--plot", metavar="FILE.png", help="draw HeapAlloc, HeapInuse and NextGC over the steps")
    sc.add_argument("--json", action="store_true", help="machine-readable output (with a schema version)")
    sc.add_argument("--prometheus", action="store_true",
                    help="the final MemStats in the Prometheus text format, with the Go client's metric names")
    sc.set_defaults(size_options=("--n",))

    cl = sub.add_parser("claims", parents=[common_args(_CLAIMS_GO_HELP)],
                        help="common claims about Go's classic map and the GC, checked live",
                        description="Run the model for each of a list of common claims about Go maps and the "
                                    "GC, and show its verdict with the numbers behind it. The claims are checked "
                                    f"on the classic map (default Go {CLAIMS_GO}); claims about the Swiss map "
                                    "come with a later release.")
    cl.add_argument("--n", metavar="N", help="entries in the maps the claims fill (default 100000)")
    cl.add_argument("--json", action="store_true", help="machine-readable output")
    cl.set_defaults(size_options=("--n",))

    demo = sub.add_parser("demo", parents=[common], help="a short demonstration of a map's life",
                          description="Make a map[int64]int64, fill it past several growth points, delete half, "
                                      "clear it, runtime.GC(), m = nil, runtime.GC(), printing the map and heap "
                                      "at each step.")
    demo.add_argument("--n", default="2000", metavar="N", help="entries to insert (default 2000)")
    demo.set_defaults(size_options=("--n",))
    return p


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommands of a parser from :func:`build_parser`, by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _run(args: argparse.Namespace, out: Output) -> int:
    if args.go is not None:
        args.go = parse_go(args.go)
    cmd = args.command
    if cmd == "layout":
        from .layout import command
        return command(args, out)
    if cmd == "grow":
        from .grow import command
        return command(args, out)
    if cmd == "scenario":
        from .scenario import command
        args.n_text = args.n
        args.n = parse_count(args.n, "--n", 1) if args.n is not None else None
        args.gogc_given = args.gogc is not None
        args.gogc = parse_gogc(args.gogc) if args.gogc is not None else 100
        args.memlimit_given = args.memlimit is not None
        args.memlimit = parse_bytes(args.memlimit) if args.memlimit is not None else None
        args.window = parse_count(args.window, "--window", 1) if args.window is not None else None
        args.size = parse_count(args.size, "--size", 1) if args.size is not None else None
        return command(args, out)
    if cmd == "claims":
        from .claims import command
        return command(args, out)
    if cmd == "demo":
        from .demo import command
        args.n_text = args.n
        args.n = parse_count(args.n, "--n", 0)
        return command(args, out)
    raise CLIError(f"unknown command {cmd!r}")   # pragma: no cover


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``pymap`` with `argv` (default: sys.argv[1:]); returns the exit status.

    While it runs, sys.stdout is a :class:`GuardedStdout`, so a failed write
    of the output (a full disk, a closed pipe) is told apart from the
    model's errors; the output is flushed before main returns, so that no
    write is left to fail at the interpreter's exit."""
    real = sys.stdout
    sys.stdout = GuardedStdout(real)
    try:
        rc = _main(argv)
        sys.stdout.flush()
        return rc
    except StdoutError as e:
        _silence(real)
        if isinstance(e.error, BrokenPipeError):   # `pymap ... | head`: the reader has what it wanted
            return 0
        _complain(f"pymap: error: cannot write the output to stdout: {e.error.strerror or e.error}")
        return 1
    finally:
        sys.stdout = real


def _silence(stream: Any) -> None:
    """Point the stream's file descriptor at /dev/null, so that the bytes
    still in its buffer go there when Python flushes it at exit (the
    recipe of the Python docs for SIGPIPE)."""
    try:
        fd = stream.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except (OSError, ValueError, AttributeError):   # not a file (an in-process capture): nothing is flushed at exit
        pass


def _complain(msg: str) -> None:
    """One error message on stderr, escaped to what stderr can encode."""
    try:
        sys.stdout.flush()
    except StdoutError:
        pass
    try:
        print(safe_text(msg, sys.stderr), file=sys.stderr)
    except OSError:   # stderr itself is gone: the exit status still says it
        pass


def _memory_hint(args: argparse.Namespace) -> str:
    """What to try after the model ran out of memory: only options the subcommand has."""
    opts = tuple(getattr(args, "size_options", ()))
    if opts:
        return f"try a smaller {' or '.join(opts)}"
    return ("this command measures a map of the type given, and its entries are too big for the memory the "
            "model may use (the machine's available memory, or the Runtime's model_memory)")


def _main(argv: Optional[Sequence[str]]) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        # `python -m pymap --go 1.23 --n 3000`: the demo's spelling before the subcommands
        argv = ["demo"] + argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 2
    if args.command is None:
        parser.print_help()
        return 0
    prog = f"pymap {args.command}"
    try:
        _check_values(subcommands(parser)[args.command], args)
        out = Output(mode="plain" if args.plain else "auto")
        return _run(args, out)
    except CLIError as e:
        msg = f"{prog}: error: {_one_line(str(e))}"
        if e.hint:
            msg += f"\n  hint: {_one_line(e.hint)}"
        _complain(msg)
        return e.code
    except KeyboardInterrupt:
        _complain(f"{prog}: interrupted")
        return 130
    except MemoryError as e:
        where = f" after {e.done}" if isinstance(e, RunOutOfMemory) else ""
        detail = _one_line(str(e)) or "the model could not allocate memory"
        _complain(f"{prog}: error: the model ran out of memory{where}: {detail}\n  hint: {_memory_hint(args)}")
        return 1


def _check_values(sub: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Every option of one value got a string: argparse stores a list for
    ``--go=--`` (it drops the "--" and keeps what is left)."""
    for a in sub._actions:
        if a.option_strings and a.nargs is None and isinstance(getattr(args, a.dest, None), list):
            raise CLIError(f"{'/'.join(a.option_strings)} needs a value", f"write {a.option_strings[-1]} "
                           f"{a.metavar or 'VALUE'}")


def _one_line(text: str) -> str:
    """A message for one line of stderr (a file's or the model's text may hold newlines)."""
    return " ".join(text.split("\n")).strip()
