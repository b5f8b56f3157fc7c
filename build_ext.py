"""cffi builder for pymap's C core (out-of-line API mode).

Run by setuptools through setup.py's ``cffi_modules``; lives outside the
``pymap`` package so it never ships in the wheel.  Paths are relative to
this file's directory, as setuptools requires.

Environment switches:
  PYMAP_DEBUG=1     run the consistency checker after every mutation
  PYMAP_WERROR=1    compile with -Werror (CI)
  PYMAP_SANITIZE=1  compile with -fsanitize=address,undefined
"""
import os
import re
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
os.chdir(HERE)  # sources must be relative paths

VERSION = re.search(r'^version\s*=\s*"([^"]+)"', (HERE / "pyproject.toml").read_text(), re.M).group(1)
# The C core, by layer (csrc/pymap.h): the shared runtime, the generic map
# layer, and the two map implementations.
SOURCES = sorted(str(p.relative_to(HERE)) for layer in ("runtime", "map", "classic", "swiss")
                 for p in (HERE / "csrc" / layer).glob("*.c"))

# -flto lets the hot path inline across files (hash.c, alloc.c, map.c);
# hidden visibility keeps internal calls off the PLT (only PyInit is exported).
cflags = ["-std=c11", "-pthread", "-O2", "-flto", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"]
ldflags = ["-flto", "-O2", "-pthread"]
macros = [("PYMAP_VERSION", '"%s"' % VERSION)]
if os.environ.get("PYMAP_WERROR") == "1":
    cflags.append("-Werror")
if os.environ.get("PYMAP_DEBUG") == "1":
    macros.append(("PYMAP_DEBUG", "1"))
if os.environ.get("PYMAP_SANITIZE") == "1":
    cflags += ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1", "-g"]
    ldflags += ["-fsanitize=address,undefined"]

ffibuilder = FFI()
ffibuilder.cdef((HERE / "csrc" / "pymap_api.h").read_text())
ffibuilder.cdef('extern "Python" uint64_t pm_py_rand(void *ctx, int purpose, int *err);')
ffibuilder.set_source(
    "pymap._native",
    '#include "pymap.h"\n',
    sources=SOURCES,
    include_dirs=["csrc"],
    define_macros=macros,
    extra_compile_args=cflags,
    extra_link_args=ldflags,
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
