"""Array lengths in type spellings are read as Go reads integer literals.

The judge is the real toolchain: a small Go program scans each generated
literal with go/scanner (is it one valid INT token?) and evaluates it with
strconv.ParseInt(lit, 0, 64), which follows the same literal grammar
(0x/0o/0b prefixes, legacy 0-octal, underscores between digits).  pymap's
MapType("[LIT]byte", ...) must accept exactly the literals Go accepts (up to
the modelled 2**24 bytes) with the same value, and refuse the others with
ValueError.  The literals are generated from the characters that matter
(digits, base letters, underscores, hex letters, Unicode digits), plus the
reproducers: [010]byte is [8]byte, [0x10]byte, [1_0]byte, [٤]byte.
"""
from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import goruntime  # noqa: E402

import pymap  # noqa: E402

GO_PROGRAM = r"""package main

import (
	"bufio"
	"fmt"
	"go/scanner"
	"go/token"
	"os"
	"strconv"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		lit := in.Text()
		src := []byte(lit)
		fset := token.NewFileSet()
		file := fset.AddFile("lit", fset.Base(), len(src))
		bad := false
		var s scanner.Scanner
		s.Init(file, src, func(token.Position, string) { bad = true }, 0)
		_, tok, text := s.Scan()
		_, next, _ := s.Scan()
		if bad || tok != token.INT || text != lit || (next != token.SEMICOLON && next != token.EOF) {
			fmt.Println("invalid")
			continue
		}
		v, err := strconv.ParseInt(lit, 0, 64)
		if err != nil {
			fmt.Println("huge")
			continue
		}
		fmt.Println("value", v)
	}
}
"""

ALPHABET = "0123456789_xXoObBaAfFeE\u0664\U0001d7e0"
FIXED = ["010", "0x10", "1_0", "\u0664", "\U0001d7e0", "08", "0", "00", "0_7", "0o17", "0O17", "0b101",
         "0B_1", "0x_1F", "1__0", "_10", "10_", "0x", "0b2", "0o8", "16777216", "16777217", "0x1000000",
         "077777777", "9" * 30, "0" * 40 + "1"]


def literals(n: int) -> list[str]:
    rng = random.Random(20261202)
    out = list(FIXED)
    while len(out) < n:
        k = rng.choice((1, 2, 3, 4, 5, 6, 8, 10))
        s = "".join(rng.choice(ALPHABET) for _ in range(k))
        if rng.random() < 0.4:   # steer toward valid prefixes
            s = rng.choice(("0x", "0o", "0b", "0", "1", "0X")) + s
        out.append(s)
    return out


def go_reads(lits: list[str], tmp: Path) -> list[tuple[str, int | None]]:
    go = goruntime.require(pymap.DEFAULT_GO)
    src = tmp / "lits.go"
    src.write_text(GO_PROGRAM)
    env = goruntime._go_env(go, pymap.DEFAULT_GO)
    out = subprocess.run([str(go), "run", str(src)], input="\n".join(lits) + "\n", capture_output=True,
                         text=True, env=env, timeout=300, check=True).stdout.splitlines()
    assert len(out) == len(lits)
    return [(w.split()[0], int(w.split()[1]) if w.startswith("value") else None) for w in out]


def pymap_reads(lit: str) -> tuple[str, int | None]:
    try:
        return "value", pymap.MapType(f"[{lit}]byte", "int64").key_size
    except ValueError as e:
        return ("huge" if "over 2**24" in str(e) else "invalid"), None


def test_array_lengths_as_go_reads_them(tmp_path):
    lits = literals(3000)
    attempts = mismatches = 0
    for lit, (kind, v) in zip(lits, go_reads(lits, tmp_path)):
        attempts += 1
        if kind == "value" and v > 1 << 24:
            kind, v = "huge", None      # valid Go, beyond what pymap models
        got = pymap_reads(lit)
        if kind == "huge":
            # A valid literal too large to model, or one whose digits run past
            # what pymap reads at all: refused either way, never a wrong size.
            assert got[0] in ("huge", "invalid") and got[1] is None, (lit, got)
            continue
        if got != (kind, v):
            mismatches += 1
        assert got == (kind, v), (lit, kind, v, got)
    assert attempts == 3000 and mismatches == 0
