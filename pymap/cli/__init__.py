"""The ``pymap`` command: answers about Go map memory, with tables and plots.

    pymap layout KEY ELEM            how map[KEY]ELEM is laid out, bytes per entry
    pymap grow KEY ELEM --n N        the growth timeline of N inserts (--plot FILE.png)
    pymap scenario NAME              clear-vs-drop, churn, pool, pointer-values (or --file X.toml)
    pymap claims                     common claims about Go's classic map and the GC, checked live
    pymap demo                       the short demonstration ``python -m pymap`` used to print

Every answer names the Go version it models (--go, default pymap.DEFAULT_GO,
the newest release; Go 1.24 and later run the Swiss-table map, older
versions and the "-noswiss" rows the classic map; claims keeps to a classic
version until claims about the Swiss map come in a later release).  Tables
are rich on a terminal and plain text when piped.  Errors go to stderr
with what to fix, and exit non-zero (2 for bad arguments, 1 when the model
stops).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Optional, Sequence

from .. import DEFAULT_GO, GO_VERSIONS, __version__
from ._common import (CLAIMS_GO, CLASSIC_VERSIONS, SWISS_VERSIONS, CLIError, Output, parse_bytes, parse_count,
                      parse_go, parse_gogc)

__all__ = ["main", "build_parser"]

_GO_HELP = (f"the Go version to model: {', '.join(GO_VERSIONS)} (default {DEFAULT_GO}; also spelled go1.27, "
            f"1.27.3, 1.25.5-noswissmap). Swiss-table map: {', '.join(SWISS_VERSIONS)}; classic map: "
            f"{', '.join(CLASSIC_VERSIONS)} (X-noswiss is Go X built with GOEXPERIMENT=noswissmap)")
_CLAIMS_GO_HELP = (f"the classic Go version to check the claims on: {', '.join(CLASSIC_VERSIONS)} (default "
                   f"{CLAIMS_GO}); claims about the Swiss map come with a later release")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:   # argparse's errors, with a pointer to --help
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n  hint: run '{self.prog} --help' for the arguments\n")


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
    lay.add_argument("key", metavar="KEY", help="the key type, in Go: int64, string, [16]byte, float64, struct{}, ...")
    lay.add_argument("elem", metavar="ELEM", help="the elem type, in Go (also *[N]byte)")
    lay.add_argument("--json", action="store_true", help="machine-readable output")

    grow = sub.add_parser("grow", parents=[common], help="the growth timeline of N inserts",
                          description="Insert N keys into make(map[KEY]ELEM, hint) and show, each at its exact "
                                      "insert, the growth events (Swiss: the small group, small -> table, table "
                                      "doublings, splits, directory doublings; classic: B changes, same-size "
                                      "grows, overflow buckets, evacuation progress) and the bytes live and "
                                      "allocated.")
    grow.add_argument("key", metavar="KEY", help="the key type, in Go")
    grow.add_argument("elem", metavar="ELEM", help="the elem type, in Go")
    grow.add_argument("--n", required=True, metavar="N", help="keys to insert (1000000, 1e6, 1M)")
    grow.add_argument("--hint", metavar="H", help="make(map[K]V, H) (default: no hint)")
    grow.add_argument("--plot", metavar="FILE.png", help="also draw the timeline to a PNG")
    grow.add_argument("--all", action="store_true",
                      help="Swiss versions: a row for every table split (by default runs of splits share a row "
                           "when there are many events)")
    grow.add_argument("--json", action="store_true", help="machine-readable output")

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

    cl = sub.add_parser("claims", parents=[common_args(_CLAIMS_GO_HELP)],
                        help="common claims about Go's classic map and the GC, checked live",
                        description="Run the model for each of a list of common claims about Go maps and the "
                                    "GC, and show its verdict with the numbers behind it. The claims are checked "
                                    f"on the classic map (default Go {CLAIMS_GO}); claims about the Swiss map "
                                    "come with a later release.")
    cl.add_argument("--n", metavar="N", help="entries in the maps the claims fill (default 100000)")
    cl.add_argument("--json", action="store_true", help="machine-readable output")

    demo = sub.add_parser("demo", parents=[common], help="a short demonstration of a map's life",
                          description="Make a map[int64]int64, fill it past several growth points, delete half, "
                                      "clear it, runtime.GC(), m = nil, runtime.GC(), printing the map and heap "
                                      "at each step.")
    demo.add_argument("--n", type=int, default=2000, metavar="N", help="entries to insert (default 2000)")
    return p


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
        if args.n < 0:
            raise CLIError(f"--n must be >= 0, not {args.n}")
        return command(args, out)
    raise CLIError(f"unknown command {cmd!r}")   # pragma: no cover


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``pymap`` with `argv` (default: sys.argv[1:]); returns the exit status."""
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
        out = Output(mode="plain" if args.plain else "auto")
        return _run(args, out)
    except CLIError as e:
        sys.stdout.flush()
        msg = f"{prog}: error: {e}"
        if e.hint:
            msg += f"\n  hint: {e.hint}"
        print(msg, file=sys.stderr)
        return e.code
    except BrokenPipeError:   # `pymap ... | head`
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 0
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except MemoryError as e:
        print(f"{prog}: error: the model ran out of memory: {e}\n  hint: try a smaller --n (or --hint)", file=sys.stderr)
        return 1
