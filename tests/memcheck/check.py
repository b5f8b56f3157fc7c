"""Run tests/memcheck/workload.py under valgrind memcheck and fail on any
error or definite leak whose stack passes through pymap's C core.
The workload covers both map implementations (classic and Swiss-table).

CPython and the dynamic loader have findings of their own (module objects
never freed at exit, glibc's strncmp reading past strings); they are
counted and reported, not judged.  Usage: python tests/memcheck/check.py
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
# With debug info a frame names its file without the directory ("(heap.c:771)"),
# so frames in the core are recognised by csrc's file names (runtime/, map/,
# classic/ and swiss/ alike) as well as by the cffi wrappers (pymap._native.c)
# and the shared object (_native*.so).
CSRC = sorted({p.name for p in (HERE.parents[1] / "csrc").rglob("*.c")})
CORE_FRAME = re.compile(r"\((?:%s):\d+\)|csrc/|_native" % "|".join(map(re.escape, CSRC)))


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "memcheck.log"
        env = dict(os.environ, PYTHONMALLOC="malloc", OPENBLAS_NUM_THREADS="1")
        cmd = ["valgrind", "--tool=memcheck", "--leak-check=full", "--num-callers=40",
               f"--log-file={log}", sys.executable, str(HERE / "workload.py")]
        proc = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True)
        text = log.read_text()
    if proc.returncode != 0 or "workload done" not in proc.stdout:
        print(proc.stdout, proc.stderr, text[-5000:], sep="\n")
        print("memcheck: the workload did not complete")
        return 1
    records = re.split(r"\n==\d+== \n", text)
    ours = lambda r: bool(CORE_FRAME.search(r)) and "PyInit__native" not in r  # noqa: E731
    errors = [r for r in records if re.search(r"Invalid (read|write)|uninitialised|Conditional jump|Invalid free", r)]
    leaks = [r for r in records if "definitely lost" in r]
    bad = [r for r in errors + leaks if ours(r)]
    possibly = [r for r in records if "possibly lost" in r and ours(r)]
    summary = re.search(r"ERROR SUMMARY: .*", text)
    print(f"memcheck: {len(errors)} error records and {len(leaks)} definite-leak records in the process, "
          f"{len(bad)} involving pymap's C core ({summary.group(0) if summary else 'no summary'}); "
          f"{len(possibly)} possibly-lost records through the core (not judged)")
    for r in bad[:5]:
        print(r)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
