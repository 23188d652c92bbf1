"""Every notebook under book/ is checked with the portable comparison of tests/nbcheck.py."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))

import nbcheck  # noqa: E402,F401  (importing it installs the comparison into nbval)
