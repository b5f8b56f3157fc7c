"""Conformance suite setup: import path, and the fidelity matrix at session end."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fidelity  # noqa: E402


def pytest_sessionfinish(session, exitstatus):
    if fidelity.STATS:
        fidelity.write_matrix()
