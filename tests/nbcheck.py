"""Portable output comparison for nbval: the book's notebooks checked the same way on any CPU.

nbval re-runs a notebook and compares each cell's new outputs with the stored ones, character for
character. Floating-point results differ between CPUs (Intel/AMD, AVX2/AVX-512, Arm), thread counts
and GPUs, and short training runs amplify the difference, so a character-for-character comparison
only holds on the authors' kind of machine. This module replaces nbval's comparison of text outputs
(``IPyNbCell.compare_outputs``) with one that

- compares all text that is not a number **exactly** (a changed word, label or line fails);
- compares numbers **numerically**: by default a number printed with decimals may differ from the
  stored one by one unit in its last printed digit (0.956 against 0.957, or -0.000 against 0.000:
  a rounding difference, which is all that deterministic arithmetic on another CPU can produce),
  and an integer (a seed, a count, a step) must be equal;
- lets a cell whose numbers come from training declare, in its metadata, how far they may move:

      "nbcheck": {"abs": 0.02, "rel": 0, "why": "test accuracy; spread over 5 seeds is 0.012"}
      "nbcheck": {"abs": 0.02, "integers": {"abs": 60}, "why": "..."}

  A number passes if ``|new - stored| <= abs + rel * |stored| + one unit of its last digit``;
  ``integers`` (optional) gives separate ``abs``/``rel`` for numbers printed without a decimal
  point (steps, counts). The tolerance is chosen from the run-to-run spread over seeds, which the
  chapter shows, and its reason is written in ``why`` (required).

Everything else nbval does is unchanged: cells run in order in one kernel, an exception fails the
cell (so a false ``nl.claim`` fails), images and widget ids are not compared, and
``--nbval-sanitize-with`` still applies. Claims are checked strictly on every machine.

It is loaded by ``book/conftest.py`` for every notebook under ``book/``, so the README's
``python -m pytest --nbval ... book/en/03_batch_norm.ipynb`` uses it; elsewhere, ``-p nbcheck`` with
``tests/`` on ``PYTHONPATH`` does.
"""

import math
import re
from collections import defaultdict

from nbval.plugin import IPyNbCell, transform_streams_for_comparison

# a number as printed: optional sign (ASCII or Unicode minus), digits with an optional fraction,
# an optional exponent; "1,797" reads as two numbers on both sides, which is harmless
NUMBER = re.compile(r"[-+\u2212]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def _value(token):
    return float(token.replace("\u2212", "-"))


def _last_digit_unit(token):
    """One unit in the last printed digit: 0.001 for "0.956", 1 for "350", 1e-6 for "1.5e-05"."""
    t = token.lstrip("+-\u2212")
    mantissa, _, exponent = t.replace("E", "e").partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


class Tolerance:
    """How far a cell's printed numbers may move (see the module docstring)."""

    def __init__(self, spec=None):
        spec = dict(spec or {})
        if spec and not str(spec.get("why", "")).strip():
            raise ValueError("an nbcheck tolerance needs a 'why' (the seed spread it is based on)")
        self.abs, self.rel = float(spec.get("abs", 0)), float(spec.get("rel", 0))
        ints = spec.get("integers", {})
        self.int_abs, self.int_rel = float(ints.get("abs", self.abs)), float(ints.get("rel", self.rel))
        for v in (self.abs, self.rel, self.int_abs, self.int_rel):
            if not (v >= 0 and math.isfinite(v)):
                raise ValueError(f"nbcheck tolerances must be finite and ≥ 0, got {spec!r}")

    def allows(self, stored, new):
        a, b = _value(stored), _value(new)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        integer = not re.search(r"[.eE]", stored)
        abs_, rel = (self.int_abs, self.int_rel) if integer else (self.abs, self.rel)
        # a rounded decimal may differ in its last digit; an integer (a seed, a count, a step) is
        # exact unless the cell declares otherwise
        unit = 0.0 if integer else max(_last_digit_unit(stored), _last_digit_unit(new))
        return abs(a - b) <= abs_ + rel * abs(a) + unit * (1 + 1e-9)


def split_numbers(text):
    """``text`` as (the text with every number replaced by a marker, the list of numbers)."""
    return NUMBER.sub("\x00", text), NUMBER.findall(text)


def texts_match(stored, new, tolerance):
    """None if ``new`` matches ``stored`` under ``tolerance``, else a one-line reason."""
    if stored == new:
        return None
    frame_a, nums_a = split_numbers(stored)
    frame_b, nums_b = split_numbers(new)
    if frame_a != frame_b or len(nums_a) != len(nums_b):
        return "the text differs (not only its numbers)"
    for a, b in zip(nums_a, nums_b):
        if not tolerance.allows(a, b):
            return f"stored {a}, now {b}: outside the tolerance"
    return None


def _flatten(outputs, cell, skip):
    """nbval's view of a cell's outputs: MIME type or field → list of sanitized values."""
    flat = defaultdict(list)
    for out in transform_streams_for_comparison(outputs):
        for key, value in out.items():
            if key in skip:
                continue
            if key == "data":
                for mime, v in value.items():
                    if mime not in skip:
                        flat[mime].append(cell.sanitize(v))
            else:
                flat[key].append(cell.sanitize(value))
    return flat


def compare_outputs(self, test, ref, skip_compare=None):
    """Drop-in for nbval's ``IPyNbCell.compare_outputs`` (same arguments and return value)."""
    skip = skip_compare or self.parent.skip_compare
    tolerance = Tolerance(self.cell.metadata.get("nbcheck"))
    stored, new = _flatten(ref, self, skip), _flatten(test, self, skip)
    self.comparison_traceback = []
    if set(stored) != set(new):
        self.comparison_traceback.append(
            f"output fields differ: stored {sorted(stored)}, now {sorted(new)}")
        return False
    for key in stored:
        if len(stored[key]) != len(new[key]):
            self.comparison_traceback.append(
                f"{key}: {len(stored[key])} stored outputs, {len(new[key])} now")
            return False
        for a, b in zip(stored[key], new[key]):
            reason = texts_match(a, b, tolerance) if isinstance(a, str) and isinstance(b, str) \
                else (None if a == b else "the value differs")
            if reason:
                self.comparison_traceback += [f"{key}: {reason}", "stored:", str(a), "now:", str(b)]
                return False
    return True


IPyNbCell.compare_outputs = compare_outputs
