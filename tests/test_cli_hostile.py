"""The ``pymap`` command never prints a traceback for user input (#13, the CLI class).

``test_hostile_arguments`` drives every subcommand, discovered from the
argparse parser (a new subcommand is covered without editing this file),
with generated bad arguments (random text, huge, negative, fractional and
non-finite numbers, unknown type spellings, odd unicode, undecodable bytes,
empty strings) and bad files (non-UTF-8 bytes, deep nesting, truncated or
corrupted scenarios, directories, missing paths, devices), in process, and
checks that each run ends with exit status 0, 1 or 2, no traceback, and a
non-empty last line on stderr when it fails.  The tests after it are the
regressions for the defects found by hand, each of which failed before the
fix.

The generated runs stay small: the machine is made to look as if it had
MACHINE_BYTES available (pymap.cli._memory.available_memory), so any run
bigger than that is refused up front or stops with MemoryError, as the
command would on a small machine, and the counts generated are either small
or hostile (huge, negative, not whole).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any, Optional
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import pymap
from pymap.cli import _memory, build_parser, main, subcommands

MACHINE_BYTES = 32 << 20     #: what the machine seems to have free during the generated runs
ARGUMENT_EXAMPLES = 120      #: generated attacks on the arguments per run
FILE_EXAMPLES = 80           #: generated attacks with files per run
ATTACKS: dict[str, int] = {"tried": 0, "files": 0}


def run(*argv: str) -> tuple[int, str, str]:
    """main(argv) in process, with stdout and stderr as in a real process
    writing to a pipe (UTF-8; stdout strict, stderr backslashreplace)."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace")
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                rc = main(list(argv))
            except SystemExit as e:   # main returns its status; a SystemExit escaping it is reported too
                rc = e.code if isinstance(e.code, int) else 2
            out.flush()
            err.flush()
    finally:
        text = out.buffer.getvalue().decode("utf-8"), err.buffer.getvalue().decode("utf-8")
    return rc, text[0], text[1]


def assert_clean(rc: Any, err: str, argv: Any) -> None:
    assert rc in (0, 1, 2), (argv, rc, err)
    assert "Traceback" not in err, (argv, err)
    if rc != 0:
        lines = err.splitlines()
        assert lines and lines[-1].strip(), (argv, err)
        errors = [line for line in lines if ": error: " in line]
        assert len(errors) == 1, (argv, err)      # one line says what was wrong (a hint may follow)


# ---- what to attack with -------------------------------------------------------------------

PARSER = build_parser()
COMMANDS = subcommands(PARSER)


def _actions(p: argparse.ArgumentParser) -> tuple[list[argparse.Action], list[argparse.Action]]:
    """A subcommand's positionals and options (not --help)."""
    pos = [a for a in p._actions if not a.option_strings]
    opts = [a for a in p._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]
    return pos, opts


TYPES = ["int64", "int8", "uint16", "string", "float64", "complex128", "bool", "struct{}", "pointer", "[16]byte",
         "[0]byte", "*[64]byte", "[16777216]byte", "*[16777216]byte", "[16777217]byte", "[010]byte", "[0x10]byte",
         "[1_0]byte", "[٤]byte", "[𝟠]byte", "[-1]byte", "[]byte", "[" + "9" * 5000 + "]byte", "[1<<40]byte",
         "any", "interface{}", "chan int", "func()", "int", "map[string]int64", "map[[4]byte]int64",
         "map[string]map[string]int64", "map[", "map[]int64", "map[string]", "map[[4]byte", "map [string] int64",
         "map[string]*[1024]byte", "[16]uint8", "*int", "struct{ x int }"]
WORDS = ["clear-vs-drop", "churn", "pool", "pointer-values", "nope", "off", "OFF", "none", "max", "64MiB", "1GiB",
         "1.5KiB", "-1MiB", "1e3MiB", "9" * 400, "9" * 400 + "GiB", "go1.27", "1.27.3", "1.23", "1.24-noswiss",
         "1.26-noswiss", "1.25.5-noswissmap", "1.28", "2.0", "go", "n", "n/0", "--", "-", "-h", "--n", "--go"]
NUMBERS = ["", " ", "0", "-0", "1", "-1", "16", "64", "1e30", "-1e30", "1e308", "1e400", "1e-5", "0.5", "1.5k",
           "1,5", "1_000", "__", "k", "1k", "2M", "1g", "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "∞",
           str(10**25), "10**25", "2**63", str(2**63), str(2**63 - 1), str(2**64), "99999999999999999999999",
           "1e12", "1e15", "0x10", "0b1", "٣", "１２", "𝟠", "\u200b1", "1\u00a0000", "9" * 5000]
ODD = ["\udcff", "\udc80abc", "é", "\u202e", "🗺", "\t", "\n", "a\nb", "\x7f", "ß" * 50]

_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")   # what argv can hold
random_text = st.text(_chars, max_size=24) | st.text(st.sampled_from("0123456789eE.-+_,kKmMgG[]*"), max_size=12)
hostile_numbers = (st.sampled_from(NUMBERS)
                   | st.integers(-10**30, -1).map(str)
                   | st.integers(0, 1000).map(str)                    # small: a run that may succeed
                   | st.integers(10**12, 10**40).map(str)             # far past any machine
                   | st.floats(allow_nan=True, allow_infinity=True).filter(lambda f: not 1000 < abs(f) < 1e12)
                   .map(repr))
hostile_values = hostile_numbers | st.sampled_from(TYPES + WORDS + ODD) | hostile_numbers | random_text


def _scenario_text(stop: str = "64") -> str:
    return ('title = "t"\nn = 64\ngogc = 100\n[[step]]\nop = "make"\nkey = "int64"\nelem = "int64"\n'
            f'[[step]]\nop = "insert_range"\nstop = {stop}\n[[step]]\nop = "repeat"\ncount = 3\n'
            'body = [{op = "delete_range", stop = 8}, {op = "gc"}]\n[[step]]\nop = "clear"\n')


def _nested_repeat(depth: int) -> str:
    body = '{op = "gc"}'
    for _ in range(depth):
        body = f'{{op = "repeat", count = 1, body = [{body}]}}'
    return f"[[step]]\nops = [{body}]\n"


FIXED_FILES = {
    "non-utf8": b'title = "\xff\xfe"\n[[step]]\nop = "gc"\n',
    "latin1": 'title = "caf\xe9"\n[[step]]\nop = "gc"\n'.encode("latin-1"),
    "bom": b"\xef\xbb\xbf" + _scenario_text().encode(),
    "deep-arrays": ("a = " + "[" * 400 + "]" * 400).encode(),
    "deep-tables": ("a = " + "{a = " * 400 + "1" + "}" * 400).encode(),
    "deep-repeat": _nested_repeat(100).encode(),
    "empty": b"",
    "nul": b"\x00" * 64,
    "huge-range": _scenario_text("1000000000000").encode(),
    "huge-count": _scenario_text().replace("count = 3", "count = 4611686018427387904").encode(),
    "huge-gogc": _scenario_text().replace("gogc = 100", "gogc = 99999999999999999999999").encode(),
    "huge-n": _scenario_text('"n"').replace("n = 64", "n = 99999999999999999999999").encode(),
    "n-digits": _scenario_text('"' + "9" * 5000 + '*n"').encode(),
    "unknown-op": b'[[step]]\nop = "fill"\n',
    "no-map": b'[[step]]\nop = "insert_range"\nstop = 10\n',
    "huge-hint": _scenario_text().replace('elem = "int64"\n', 'elem = "int64"\nhint = 10000000\n').encode(),
    "hint-past-int": _scenario_text().replace('elem = "int64"\n', 'elem = "int64"\nhint = 99999999999999999999999\n')
    .encode(),
    "valid": _scenario_text().encode(),
}


def _fifo(tmp: Path) -> Path:
    p = tmp / "fifo.toml"
    if not p.exists():
        os.mkfifo(p)
    return p


@st.composite
def scenario_files(draw: Any, tmp: Path) -> str:
    """A path to a bad file (or to none)."""
    kind = draw(st.sampled_from(["fixed"] * 4 + ["truncated", "corrupt", "bytes", "dir", "missing", "device"]))
    if kind == "dir":
        return str(tmp)
    if kind == "missing":
        return str(tmp / "no-such-dir" / "x.toml")
    if kind == "device":
        return draw(st.sampled_from(["/dev/null", "/dev/zero", "/proc/self/status", str(_fifo(tmp))]))
    good = _scenario_text().encode()
    if kind == "fixed":
        data = FIXED_FILES[draw(st.sampled_from(sorted(FIXED_FILES)))]
    elif kind == "truncated":
        data = good[: draw(st.integers(0, len(good) - 1))]
    elif kind == "corrupt":
        i = draw(st.integers(0, len(good) - 1))
        data = good[:i] + draw(st.binary(min_size=1, max_size=4)) + good[i + 1:]
    else:
        data = draw(st.binary(max_size=200))
    ATTACKS["files"] += 1
    path = tmp / f"s{ATTACKS['files']}.toml"
    path.write_bytes(data)
    return str(path)


def plot_paths(tmp: Path) -> st.SearchStrategy[str]:
    (tmp / "a-dir.png").mkdir(exist_ok=True)
    return st.sampled_from([str(tmp / "no-such-dir" / "p.png"), str(tmp / "a-dir.png"), str(tmp / "p.jpg"),
                            "/proc/p.png", "", ".png", str(tmp / "\udcff.png"), str(tmp / "ok.png")])


#: Plausible values by metavar, so that an attack gets past the first
#: argument to the ones after it (a metavar not listed gets hostile values only).
PLAUSIBLE = {"KEY": ["int64", "string", "[16]byte", "float64", "struct{}", "map[string]int64", "map[[4]byte]int64"],
             "ELEM": ["int64", "string", "*[64]byte", "bool", "[200]byte"],
             "NAME": ["clear-vs-drop", "churn", "pool", "pointer-values"],
             "N": ["64", "100", "1k", "2e2"], "H": ["0", "9", "64"], "V": ["1.27", "1.23", "1.24", "go1.25.5"],
             "S": ["1", "42"], "G": ["100", "off", "0"], "M": ["64MiB", "off", "1048576"], "W": ["8", "16"]}


def _value(draw: Any, a: argparse.Action, tmp: Path, plausible: bool) -> str:
    meta = str(a.metavar or "")
    if meta.endswith(".toml"):
        return draw(scenario_files(tmp)) if not plausible else str(_valid_file(tmp))
    if meta.endswith(".png"):
        return draw(plot_paths(tmp))
    if plausible and meta in PLAUSIBLE:
        return draw(st.sampled_from(PLAUSIBLE[meta]))
    return draw(hostile_values)


def _valid_file(tmp: Path) -> Path:
    p = tmp / "valid.toml"
    if not p.exists():
        p.write_text(_scenario_text())
    return p


def _file_options(cmd: str) -> list[argparse.Action]:
    """The options of a subcommand that name a file (their metavar has an extension: SCENARIO.toml, FILE.png)."""
    return [a for a in _actions(COMMANDS[cmd])[1] if "." in str(a.metavar or "")]


@st.composite
def attacks(draw: Any, tmp: Path, file_mode: bool) -> list[str]:
    """argv for one subcommand with one target argument (a positional or an
    option, in file mode one that names a file) given a hostile value, and
    the others plausible (now and then hostile too, or left out), in any
    order."""
    if file_mode:   # (command, option) pairs, an input file three times as often as an output file
        pairs = [(c, a) for c in sorted(COMMANDS) for a in _file_options(c)
                 for _ in range(3 if str(a.metavar).endswith(".toml") else 1)]
        cmd, target = draw(st.sampled_from(pairs))
    else:
        cmd = draw(st.sampled_from(sorted(COMMANDS)))
    pos, opts = _actions(COMMANDS[cmd])
    if not file_mode:
        target = draw(st.sampled_from(pos + [a for a in opts if a.nargs != 0]))
    argv = [cmd]
    if any("--n" in a.option_strings for a in opts):
        argv += ["--n", "64"]      # a small default run; a generated --n later in argv wins
    for a in pos:
        if a.nargs == "?" and a.metavar == "NAME" and str(target.metavar or "").endswith(".toml"):
            continue               # scenario NAME or --file
        if a is target or draw(st.integers(0, 9)) > 0:   # sometimes left out
            argv.append(_value(draw, a, tmp, plausible=a is not target and draw(st.integers(0, 4)) > 0))
    others = [a for a in opts if a is not target]
    chosen = draw(st.lists(st.sampled_from(others), max_size=3)) if others else []
    if target in opts:
        chosen.insert(draw(st.integers(0, len(chosen))), target)
    for a in chosen:
        name = draw(st.sampled_from(a.option_strings))
        if a.nargs == 0:
            argv.append(name)
            continue
        value = _value(draw, a, tmp, plausible=a is not target and draw(st.integers(0, 4)) > 0)
        argv += [name, value] if draw(st.booleans()) else [f"{name}={value}"]
    if draw(st.integers(0, 19)) == 0:
        argv.append(draw(hostile_values))      # one argument too many
    return argv


# ---- the generator -------------------------------------------------------------------------

def _drive(tmp: Path, file_mode: bool, examples: int) -> dict[str, Any]:
    """Run `examples` generated attacks; returns what was tried (and prints it)."""
    seen: dict[str, Any] = {"tried": 0, "by_command": {}, "exit": {}}

    @settings(max_examples=examples, deadline=30_000, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(attacks(tmp, file_mode))
    def attack(argv: list[str]) -> None:
        seen["tried"] += 1
        seen["by_command"][argv[0]] = seen["by_command"].get(argv[0], 0) + 1
        rc, _, err = run(*argv)
        seen["exit"][rc] = seen["exit"].get(rc, 0) + 1
        assert_clean(rc, err, argv)

    t0 = time.perf_counter()
    here = os.getcwd()
    os.chdir(tmp)                # a plot the generator names relatively lands here
    try:
        with mock.patch.object(_memory, "available_memory", return_value=MACHINE_BYTES):
            attack()
    finally:
        os.chdir(here)
    ATTACKS["tried"] += seen["tried"]
    print(f"\nhostile CLI {'file' if file_mode else 'argument'} attacks tried: {seen['tried']} in "
          f"{time.perf_counter() - t0:.1f} s; by command {seen['by_command']}; exit statuses {seen['exit']}")
    return seen


def test_hostile_arguments(tmp_path_factory: pytest.TempPathFactory) -> None:
    seen = _drive(tmp_path_factory.mktemp("hostile"), False, ARGUMENT_EXAMPLES)
    assert set(seen["by_command"]) == set(COMMANDS)      # every subcommand was attacked
    assert {0, 2} <= set(seen["exit"])


def test_hostile_files(tmp_path_factory: pytest.TempPathFactory) -> None:
    seen = _drive(tmp_path_factory.mktemp("hostile-files"), True, FILE_EXAMPLES)
    assert set(seen["by_command"]) == {c for c in COMMANDS if _file_options(c)}
    assert {0, 2} <= set(seen["exit"])


#: The exit status of each fixed bad file (a file the model runs but that stops it: 1).
FIXED_STATUS = {"no-map": 1, "huge-hint": 1, "valid": 0}


@pytest.mark.parametrize("name", sorted(FIXED_FILES))
def test_each_fixed_bad_file(tmp_path: Path, name: str) -> None:
    """Every file the generator draws from, once each, with the status it must end in."""
    p = tmp_path / f"{name}.toml"
    p.write_bytes(FIXED_FILES[name])
    with mock.patch.object(_memory, "available_memory", return_value=MACHINE_BYTES):
        rc, _, err = run("scenario", "--file", str(p))
    assert_clean(rc, err, name)
    assert rc == FIXED_STATUS.get(name, 2), err
    if name == "huge-hint":
        assert "make the file's ranges and hints smaller" in err and "--n" not in err


def test_top_level_arguments() -> None:
    """Before a subcommand: the old demo spelling, --version, junk."""
    for argv in ([], ["--version"], ["--go", "1.28"], ["--n", "1e30"], ["--bogus"], ["\udcff"], ["-"], ["--"],
                 ["--go", "1.23", "--n", "64"], ["help"], [""]):
        rc, _, err = run(*argv)
        assert_clean(rc, err, argv)


# ---- regressions ---------------------------------------------------------------------------

def _error(err: str) -> str:
    return next(line for line in err.splitlines() if ": error: " in line)


def test_non_utf8_scenario_file(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_bytes(b'title = "\xff\xfe"\n[[step]]\nop = "gc"\n')
    rc, _, err = run("scenario", "--file", str(p))
    assert_clean(rc, err, p)
    assert rc == 2 and "is not UTF-8 text: byte 0xff at offset 9" in _error(err)


@pytest.mark.parametrize("text,msg", [
    ("a = " + "[" * 400 + "]" * 400, "nests tables and arrays 401 deep"),
    ("a = " + "{a = " * 400 + "1" + "}" * 400, "nested too deeply to parse"),
    (_nested_repeat(100), "nests tables and arrays"),
])
def test_deeply_nested_toml(tmp_path: Path, text: str, msg: str) -> None:
    p = tmp_path / "deep.toml"
    p.write_text(text)
    rc, _, err = run("scenario", "--file", str(p))
    assert_clean(rc, err, p)
    assert rc == 2 and msg in _error(err)


def test_nesting_limit_admits_a_real_scenario(tmp_path: Path) -> None:
    p = tmp_path / "ok.toml"
    p.write_text(_nested_repeat(20))
    rc, out, err = run("scenario", "--file", str(p))
    assert rc == 0, err


@pytest.mark.parametrize("hint", ["1e30", str(2**63), "99999999999999999999999"])
def test_grow_hint_past_go_int(hint: str) -> None:
    rc, _, err = run("grow", "int64", "int64", "--n", "10", "--hint", hint)
    assert_clean(rc, err, hint)
    assert rc == 2 and "larger than Go's int" in _error(err)


def test_gogc_out_of_range(tmp_path: Path) -> None:
    rc, _, err = run("scenario", "churn", "--n", "1000", "--gogc", "99999999999999999999999")
    assert_clean(rc, err, "--gogc")
    assert rc == 2 and "--gogc '99999999999999999999999' is out of range" in _error(err)
    p = tmp_path / "g.toml"
    p.write_bytes(FIXED_FILES["huge-gogc"])
    rc, _, err = run("scenario", "--file", str(p))
    assert_clean(rc, err, p)
    assert rc == 2 and "gogc must be an integer in 0..2^63-1" in _error(err)


@pytest.mark.parametrize("argv", [
    ["scenario", "clear-vs-drop", "--n", "64", "--memlimit", "9" * 400],          # float overflow before
    ["scenario", "clear-vs-drop", "--n", "64", "--memlimit", "9" * 400 + "GiB"],
])
def test_memlimit_too_large(argv: list[str]) -> None:
    rc, _, err = run(*argv)
    assert_clean(rc, err, argv)
    assert rc == 2 and "is too large" in _error(err)


def test_n_expression_with_5000_digits(tmp_path: Path) -> None:
    p = tmp_path / "n.toml"
    p.write_bytes(FIXED_FILES["n-digits"])
    rc, _, err = run("scenario", "--file", str(p))
    assert_clean(rc, err, p)
    assert rc == 2


def test_counts_take_ascii_digits_only() -> None:
    rc, _, err = run("grow", "int64", "int64", "--n", "١٠٠")
    assert rc == 2 and "is not a whole number" in _error(err)


@pytest.mark.parametrize("argv,msg", [
    (["layout", "int64", "int64", "--go", "1.23"], None),
    (["--version"], None),
    (["scenario", "--list"], None),
])
def test_stdout_to_dev_full(argv: list[str], msg: Optional[str]) -> None:
    """A write that fails (ENOSPC), mid-run or in the flush at exit: one line, exit 1."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "pymap", *argv], stdout=full, stderr=subprocess.PIPE, text=True,
                           timeout=120)
    assert p.returncode == 1, p.stderr
    assert p.stderr.splitlines() == ["pymap: error: cannot write the output to stdout: No space left on device"]


def test_stdout_reader_gone() -> None:
    """`pymap ... | head`: the reader closes the pipe; the command stops quietly."""
    p = subprocess.Popen([sys.executable, "-m", "pymap", "grow", "int64", "int64", "--n", "200000", "--go", "1.23",
                          "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout is not None and p.stderr is not None
    p.stdout.read(10)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 0, err
    assert err == ""


def test_undecodable_file_name_in_the_output(tmp_path: Path) -> None:
    """A scenario file whose name has bytes that are not UTF-8 is echoed escaped."""
    name = os.fsdecode(b"s\xff.toml")
    (tmp_path / name).write_text(_scenario_text())
    rc, out, err = run("scenario", "--file", str(tmp_path / name))
    assert rc == 0, err
    assert "s\\udcff.toml" in out


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo"])
def test_scenario_file_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    """Before the fix /dev/zero was read until memory ran out, and a FIFO waited for a writer forever."""
    if kind == "fifo":
        path = str(tmp_path / "fifo.toml")
        os.mkfifo(path)
    elif not os.path.exists(kind):
        pytest.skip(f"no {kind}")
    else:
        path = kind
    # in a child with a timeout and (except under ASan, which reserves terabytes of address space) a
    # bounded address space, so that the old behaviour fails the test instead of filling the machine
    code = f"import sys; from pymap.cli import main; sys.exit(main(['scenario', '--file', {path!r}]))"
    if "libasan" not in os.environ.get("LD_PRELOAD", ""):
        code = f"import resource; resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30)); {code}"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, p.stderr
    assert "is not a regular file" in p.stderr and "Traceback" not in p.stderr


def test_layout_huge_elem_is_measured_within_memory() -> None:
    """layout int64 [16777216]byte ran out of memory with an empty message and a
    hint to use --n: its measuring fills are now sized to the memory they hold."""
    rc, out, err = run("layout", "int64", "[16777216]byte")
    assert rc == 0, err
    assert "not measured: layout fills at most" in out
    rc, out, err = run("layout", "int64", "[16777216]byte", "--go", "1.23", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["fill_limited"] and 0 <= d["measured_keys"] < 8192


def test_layout_out_of_memory_names_no_option_it_lacks() -> None:
    from pymap.cli import layout
    with mock.patch.object(layout, "fill_keys", lambda t, go, want: want), \
            mock.patch.object(_memory, "available_memory", return_value=64 << 20):
        rc, _, err = run("layout", "int64", "[16777216]byte")
    assert_clean(rc, err, "layout")
    assert rc == 1
    line = _error(err)
    assert re.search(r"ran out of memory(?: after [^:]+)?: \S", line)        # the model's message, not empty
    assert "--n" not in err and "--hint" not in err


@pytest.mark.parametrize("cmd", sorted(COMMANDS))
def test_out_of_memory_hint_names_only_the_commands_options(cmd: str) -> None:
    """Every subcommand: a MemoryError with an empty message still says what
    happened, and the hint names only options the subcommand has."""
    import importlib
    module = importlib.import_module(f"pymap.cli.{cmd}")
    _, opts = _actions(COMMANDS[cmd])
    names = {s for a in opts for s in a.option_strings}
    argv = {"layout": ["int64", "int64"], "grow": ["int64", "int64", "--n", "10"], "scenario": ["pool"]}.get(cmd, [])

    def fail(args: Any, out: Any) -> int:
        raise MemoryError()

    with mock.patch.object(module, "command", fail):
        rc, _, err = run(cmd, *argv)
    assert_clean(rc, err, cmd)
    assert rc == 1 and re.search(r"ran out of memory: \S", _error(err))
    assert set(re.findall(r"--[a-z-]+", err)) <= names


@pytest.mark.parametrize("one,two", [
    (["grow", "map[string]int64"], ["grow", "string", "int64"]),
    (["grow", "map[[4]byte]int64"], ["grow", "[4]byte", "int64"]),
    (["grow", "map[ int64 ] *[64]byte"], ["grow", "int64", "*[64]byte"]),
    (["layout", "map[string]int64"], ["layout", "string", "int64"]),
    (["layout", "map[[4]byte]int64"], ["layout", "[4]byte", "int64"]),
])
@pytest.mark.parametrize("go", ["1.27", "1.23"])
def test_map_type_in_one_argument(one: list[str], two: list[str], go: str) -> None:
    extra = ["--n", "300"] if one[0] == "grow" else []
    rc1, out1, err1 = run(*one, *extra, "--go", go, "--json")
    rc2, out2, err2 = run(*two, *extra, "--go", go, "--json")
    assert rc1 == rc2 == 0, err1 + err2
    assert json.loads(out1) == json.loads(out2)


@pytest.mark.parametrize("argv,msg", [
    (["layout", "map[string"], "has no ] closing its key type"),
    (["layout", "map[]int64"], "has no key type"),
    (["layout", "map[string]"], "has no elem type"),
    (["layout", "map[string]int64", "int64"], "is a whole map type"),
    (["grow", "map[[4]byte", "--n", "3"], "has no ] closing"),
    (["grow", "string", "--n", "3"], "the elem type is missing"),
])
def test_map_type_in_one_argument_errors(argv: list[str], msg: str) -> None:
    rc, _, err = run(*argv)
    assert_clean(rc, err, argv)
    assert rc == 2 and msg in _error(err)


# ---- the model's own memory ----------------------------------------------------------------------

_NEEDS = re.compile(r"needs about ([\d.]+) (B|KiB|MiB|GiB|TiB|PiB|EiB) of model memory")
_UNIT = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "PiB": 1 << 50, "EiB": 1 << 60}


@pytest.mark.parametrize("argv,option", [
    (["grow", "string", "int64", "--n", "1e12"], "--n"),
    (["grow", "int64", "int64", "--n", "1e12", "--go", "1.23"], "--n"),
    (["grow", "int64", "int64", "--n", "10", "--hint", "1e15"], "--hint"),
    (["scenario", "clear-vs-drop", "--n", "1e12"], "--n"),
    (["scenario", "churn", "--n", "1e15"], "--n"),
    (["scenario", "pointer-values", "--n", "1e7", "--size", "16777216"], "--n"),
    (["claims", "--n", "1e12"], "--n"),
    (["claims", "--n", str(2**64)], "--n"),        # an OverflowError traceback before (found by the generator)
    (["demo", "--n", str(10**12)], "--n"),
])
def test_big_runs_refused_up_front(argv: list[str], option: str) -> None:
    """`pymap grow string int64 --n 1e12` ran to 21 GB before it was stopped:
    now it is refused at once, with an estimate and an option value that fits."""
    t0 = time.perf_counter()
    rc, _, err = run(*argv)
    assert time.perf_counter() - t0 < 20
    assert_clean(rc, err, argv)
    assert rc == 2
    line = _error(err)
    m = _NEEDS.search(line)
    assert m, line
    assert "available" in line or "model_memory" in line
    need = float(m.group(1)) * _UNIT[m.group(2)]
    limit = min(_memory.available_memory() or need, _memory.default_budget())
    assert need > limit
    hint = re.search(rf"try {option} (\S+)", err)
    assert hint, err
    # the value suggested is smaller, and the same check lets it through
    from pymap.cli._common import parse_count
    i = argv.index(option) + 1
    assert parse_count(hint.group(1)) < parse_count(argv[i])
    assert _refusal(argv[:i] + [hint.group(1)] + argv[i + 1:]) is None


class _Stop(Exception):
    """Stops a command once its refusal check has run."""


def _refusal(argv: list[str]) -> Optional[BaseException]:
    """What the up-front check says of argv (the CLIError, or None when it
    lets the run through), without running it."""
    seen: list[Optional[BaseException]] = []

    def check_only(*a: Any, **kw: Any) -> None:
        try:
            _memory.check_fits(*a, **kw)
            seen.append(None)
        except Exception as e:
            seen.append(e)
        raise _Stop()

    import importlib
    modules = [importlib.import_module(f"pymap.cli.{m}") for m in ("grow", "scenario", "claims", "demo")]
    patches = [mock.patch.object(m, "check_fits", check_only) for m in modules]
    for p in patches:
        p.start()
    try:
        with pytest.raises(_Stop):
            run(*argv)
    finally:
        for p in patches:
            p.stop()
    assert len(seen) == 1
    return seen[0]


def test_scenario_file_with_a_huge_range(tmp_path: Path) -> None:
    p = tmp_path / "big.toml"
    p.write_bytes(FIXED_FILES["huge-range"])
    rc, _, err = run("scenario", "--file", str(p))
    assert_clean(rc, err, p)
    assert rc == 2 and "inserts 1,000,000,000,000 keys into map 0" in _error(err)
    assert "make the file's ranges smaller" in err


def test_estimate_bounds_the_real_run() -> None:
    """The estimate per entry is at least what the model holds, for a fill
    far larger than the one measured (10x PROBE_KEYS and more)."""
    for key, elem, go, n in (("int64", "int64", "1.27", 200_000), ("string", "int64", "1.27", 100_000),
                             ("int64", "int64", "1.23", 200_000), ("int64", "*[64]byte", "1.23", 50_000)):
        per = _memory.bytes_per_entry(key, elem, go)
        rt = pymap.Runtime(go=go, seed=1)
        m = rt.make_map(pymap.MapType(key, elem))
        peak = 0
        for a in range(0, n, n // 100):
            m.insert_range(a, a + n // 100)
            peak = max(peak, rt.model_bytes)
        assert peak <= per * n, (key, elem, go, peak / n, per)


@pytest.mark.parametrize("argv,budget", [
    (["grow", "int64", "int64", "--n", "200000"], 2 << 20),
    (["grow", "string", "int64", "--n", "200000", "--go", "1.23"], 2 << 20),
    (["demo", "--n", "20000"], 256 << 10),
    (["demo", "--n", "20000", "--go", "1.23"], 256 << 10),
])
def test_memory_error_mid_run_says_how_far(argv: list[str], budget: int) -> None:
    """A run the estimate lets through but the model's budget stops: exit 1,
    how many inserts took effect, a hint with the command's own options."""
    with mock.patch.object(_memory, "run_budget", return_value=budget):
        rc, _, err = run(*argv)
    assert_clean(rc, err, argv)
    assert rc == 1
    line = _error(err)
    n = int(argv[argv.index("--n") + 1])
    m = re.search(rf"ran out of memory after ([\d,]+) of {n:,} inserts: \S", line)
    assert m, line
    assert 0 < int(m.group(1).replace(",", "")) < n
    assert "hint: try a smaller --n" in err


def test_memory_error_mid_scenario() -> None:
    with mock.patch.object(_memory, "run_budget", return_value=2 << 20):
        rc, _, err = run("scenario", "pool", "--n", "200000")
    assert_clean(rc, err, "scenario")
    assert rc == 1 and "the model stopped in step" in _error(err) and "MemoryError" in _error(err)


@pytest.mark.parametrize("argv", [["claims", "--go=--"], ["scenario", "pool", "--gogc=--"],
                                  ["grow", "int64", "int64", "--n=--"]])
def test_option_value_of_double_dash(argv: list[str]) -> None:
    """argparse stores a list for --opt=-- (found by test_hostile_arguments)."""
    rc, _, err = run(*argv)
    assert_clean(rc, err, argv)
    assert rc == 2 and "needs a value" in _error(err)


def test_gogc_of_5000_digits() -> None:
    """int() refuses strings over 4,300 digits (found by test_hostile_arguments)."""
    rc, _, err = run("scenario", "pool", "--n", "64", "--gogc", "9" * 5000)
    assert_clean(rc, err, "--gogc")
    assert rc == 2 and "is out of range" in _error(err) and len(_error(err)) < 200
