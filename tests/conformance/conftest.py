"""Conformance suite setup: import path, and saving the run's fidelity figures.

The session's figures go to fidelity.results_dir() (under .toolchains/),
never into the checkout; `python tests/conformance/fidelity.py --write`
folds them into docs/fidelity.* and README.md.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fidelity  # noqa: E402


def pytest_sessionfinish(session, exitstatus):
    if fidelity.STATS:
        fidelity.save_results()
