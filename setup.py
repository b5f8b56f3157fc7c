# The one thing pyproject.toml cannot say: cffi's build hook (python-cffi/cffi#55).
# Each build variant (PYMAP_DEBUG, PYMAP_SANITIZE) gets its own build directory:
# setuptools skips an extension whose built file looks up to date, so a shared
# build/ would hand a debug or sanitizer build to the next install.
import os

from setuptools import setup

variant = "-".join(f for f in ("debug", "sanitize") if os.environ.get(f"PYMAP_{f.upper()}") == "1") or "release"
setup(cffi_modules=["build_ext.py:ffibuilder"], options={"build": {"build_base": f"build/{variant}"}})
