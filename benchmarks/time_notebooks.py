"""Time every notebook of the book and check the budget: each ≤ 60 s, the whole book ≤ 10 min.

    .venv/bin/python benchmarks/time_notebooks.py [--jobs 2] [notebooks ...]

Executes the notebooks (both editions) in fresh kernels, ``--jobs`` at a time, without writing them
back, and prints a table of execution times and the total wall time.  Exit status 1 if a notebook
fails or a budget is exceeded.  Timings depend on the machine: the budgets are for the 2-core CI
machine, where the book runs with --jobs 2.
"""

import argparse
import pathlib
import sys
import time
from concurrent.futures import ProcessPoolExecutor

ROOT = pathlib.Path(__file__).resolve().parents[1]
PER_NOTEBOOK_S = 60
WHOLE_BOOK_S = 600


def run_one(path):
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(pathlib.Path(path).parent)}}).execute()
        error = None
    except Exception as exc:  # report, don't stop the others
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1][:120]}"
    return path, time.perf_counter() - start, error


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("notebooks", nargs="*")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(str(p) for p in ROOT.glob("book/*/*.ipynb"))
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run_one, paths))
    wall = time.perf_counter() - start
    problems = []
    print(f"{'notebook':40s} {'seconds':>8s}  status")
    for path, seconds, error in results:
        name = str(pathlib.Path(path).resolve().relative_to(ROOT))
        status = error or ("over budget" if seconds > PER_NOTEBOOK_S else "ok")
        if status != "ok":
            problems.append(name)
        print(f"{name:40s} {seconds:8.1f}  {status}")
    print(f"{'total wall time (' + str(args.jobs) + ' at a time)':40s} {wall:8.1f}  "
          f"{'ok' if wall <= WHOLE_BOOK_S else 'over budget'}")
    print(f"budgets: each notebook ≤ {PER_NOTEBOOK_S} s, the whole book ≤ {WHOLE_BOOK_S} s")
    return 1 if problems or wall > WHOLE_BOOK_S else 0


if __name__ == "__main__":
    sys.exit(main())
