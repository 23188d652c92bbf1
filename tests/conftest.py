import importlib.util
import pathlib

import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_script(name):
    """A script of benchmarks/ (beside the package, not part of it), loaded from its file."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

# One CPU thread, as in the book: the test workers share the machine's cores with the notebook
# kernels that nbval runs, and oversubscribed threads make everything slower.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    # nl.setup() flushes denormals for the whole process; a later test in the same worker must
    # start from IEEE arithmetic (hypothesis refuses to draw subnormal floats otherwise)
    torch.set_flush_denormal(False)
    yield
