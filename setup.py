# The one thing pyproject.toml cannot say: cffi's build hook (python-cffi/cffi#55).
from setuptools import setup

setup(cffi_modules=["build_ext.py:ffibuilder"])
