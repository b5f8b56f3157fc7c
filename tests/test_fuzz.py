"""The fuzz harness (tests/fuzz/fuzz_map.py) on its seed corpus and on random
inputs, without atheris: every input must run clean against the reference
model and the consistency checker.  Coverage-guided runs: see the README."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).parent / "fuzz"
sys.path.insert(0, str(FUZZ))
import fuzz_map  # noqa: E402

CORPUS = sorted((FUZZ / "corpus").iterdir())


def test_corpus_is_there():
    assert len(CORPUS) >= 20


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_seed_corpus(path):
    fuzz_map.one_input(path.read_bytes())


@pytest.mark.parametrize("seed", range(4))
def test_random_inputs(seed):
    for data in fuzz_map.random_inputs(50, seed):
        fuzz_map.one_input(data)
