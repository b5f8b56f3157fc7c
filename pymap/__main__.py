"""``python -m pymap``: the ``pymap`` command (see pymap/cli/).

``python -m pymap demo`` prints the short demonstration this module used to
print; ``python -m pymap --go 1.23 --n 3000`` (the old spelling) still does.
"""
from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
