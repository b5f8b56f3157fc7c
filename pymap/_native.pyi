# Typing stub for the cffi-generated extension module (built by build_ext.py).
from typing import Any

ffi: Any
lib: Any
