"""Conformance suite setup: import path, and the fidelity matrix at session end."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fidelity  # noqa: E402


def pytest_sessionfinish(session, exitstatus):
    # Only a run that replayed traces on every available version updates the matrix.
    if fidelity.STATS and all(s["traces"] for s in fidelity.STATS.values()):
        fidelity.write_matrix()
