"""Time every notebook of the book and check the budget: each ≤ 60 s, the whole book ≤ 10 min.

    .venv/bin/python benchmarks/time_notebooks.py [--jobs 2] [notebooks ...]
    .venv/bin/python benchmarks/time_notebooks.py --jobs 2 --write
    .venv/bin/python benchmarks/time_notebooks.py --render

Executes the notebooks (both editions) in fresh kernels, ``--jobs`` at a time, without writing them
back, and prints a table of execution times and the total wall time.  Exit status 1 if a notebook
fails or a budget is exceeded.  Timings depend on the machine: the budgets are for the 2-core CI
machine, where the book runs with --jobs 2.

``--write`` times the whole book and records the times, with when and where they were measured,
in book/_data/notebook_times.json (nothing is written if a notebook fails), then renders the table
for the instructors' guide.  ``--render`` only renders: it rewrites book/_data/notebook_times.ko.md
and notebook_times.en.md from the JSON file, which the guide's pages include.  Both files are
generated: edit neither by hand (tests/test_instructors.py checks that they match).
"""

import argparse
import datetime
import importlib.metadata
import json
import os
import pathlib
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor

ROOT = pathlib.Path(__file__).resolve().parents[1]
PER_NOTEBOOK_S = 60
WHOLE_BOOK_S = 600
DATA = ROOT / "book" / "_data" / "notebook_times.json"
EDITIONS = ("ko", "en")


def fragment_path(lang):
    """The table for one edition's instructors' guide (book/{ko,en}/instructors.md include it)."""
    return DATA.with_name(f"notebook_times.{lang}.md")


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


# ---------------------------------------------------------------------------------------------
# Recording: what was measured, when and where

def _cpu_model():
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cpu_count():
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use, not the host's
    except AttributeError:
        return os.cpu_count()


def record(times, jobs, wall):
    """The JSON document for ``times`` ({repo-relative notebook path: seconds})."""
    return {
        "about": "Measured by benchmarks/time_notebooks.py --write; rendered by --render into "
                 "notebook_times.ko.md and notebook_times.en.md. Do not edit by hand.",
        "measured": {
            "date": datetime.date.today().isoformat(),
            "cpus": _cpu_count(),
            "cpu_model": _cpu_model(),
            "platform": f"{platform.system()} {platform.machine()}",
            "python": platform.python_version(),
            "torch": importlib.metadata.version("torch"),
            "jobs": jobs,
            "wall_seconds": round(wall, 1),
        },
        "notebooks": {name: {"seconds": round(s, 1)} for name, s in sorted(times.items())},
    }


def load():
    return json.loads(DATA.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# Rendering: the table the instructors' guide shows, in each edition's language

def _duration(seconds, lang):
    s = round(seconds)
    m, s = divmod(s, 60)
    if lang == "ko":
        return f"{m}분 {s}초" if m else f"{s}초"
    return f"{m} min {s} s" if m else f"{s} s"


WORDS = {
    "ko": {
        "header": "| 장 | 한국어판 | 영어판 |",
        "total": "합계(하나씩 차례로 실행할 때)",
        "note": ("{date}에 {platform} 컴퓨터(CPU 코어 {cpus}개, {cpu_model}), Python {python}, "
                 "PyTorch {torch}로 측정했습니다. 노트북 {n}개를 한 번에 {jobs}개씩 새 커널에서 "
                 "실행했고, 모두 끝나기까지 걸린 시간은 {wall}였습니다."),
    },
    "en": {
        "header": "| Chapter | Korean edition | English edition |",
        "total": "Total (run one after another)",
        "note": ("Measured on {date} on a {platform} machine ({cpus} CPU cores, {cpu_model}) "
                 "with Python {python} and PyTorch {torch}. The {n} notebooks ran in fresh "
                 "kernels, {jobs} at a time, and all of them finished in {wall}."),
    },
}


def render(data, lang):
    """The Markdown (MyST) fragment for ``lang``: one row per chapter, both editions' times."""
    words = WORDS[lang]
    times = {name: entry["seconds"] for name, entry in data["notebooks"].items()}
    chapters = sorted({pathlib.PurePosixPath(name).stem for name in times})
    cell = lambda edition, stem: (_duration(times[f"book/{edition}/{stem}.ipynb"], lang)
                                  if f"book/{edition}/{stem}.ipynb" in times else "—")
    lines = ["% Generated by benchmarks/time_notebooks.py from notebook_times.json: do not edit.",
             "", words["header"], "|:---|---:|---:|"]
    for stem in chapters:
        lines.append(f"| {{doc}}`/book/{lang}/{stem}` | {cell('ko', stem)} | {cell('en', stem)} |")
    totals = [_duration(sum(s for n, s in times.items() if n.startswith(f"book/{e}/")), lang)
              for e in EDITIONS]
    lines.append(f"| {words['total']} | {totals[0]} | {totals[1]} |")
    m = data["measured"]
    lines += ["", words["note"].format(
        date=m["date"], platform=m["platform"], cpus=m["cpus"], cpu_model=m["cpu_model"],
        python=m["python"], torch=m["torch"], n=len(times), jobs=m["jobs"],
        wall=_duration(m["wall_seconds"], lang)), ""]
    return "\n".join(lines)


def write_fragments(data):
    for lang in EDITIONS:
        fragment_path(lang).write_text(render(data, lang), encoding="utf-8")
        print(f"wrote {fragment_path(lang).relative_to(ROOT)}")


# ---------------------------------------------------------------------------------------------

PLANNED_CHAPTERS = 11   # BOOK_GUIDE §3


def projection(times, jobs):
    """What the notebook passes of ``make test`` take, now and with every planned chapter.

    ``make test`` runs each notebook once: the Korean edition ``jobs`` at a time, the English one
    alone (it has two threads). Scaled by chapters, assuming later chapters cost what these do.
    """
    per_edition = {e: [s for n, s in times.items() if n.startswith(f"book/{e}/")] for e in EDITIONS}
    if not all(per_edition.values()):
        return "(projection needs notebooks of both editions)"
    chapters = max(len(v) for v in per_edition.values())
    now = sum(per_edition["ko"]) / jobs + sum(per_edition["en"])
    later = now * PLANNED_CHAPTERS / chapters
    return (f"make test's notebook passes (Korean {jobs} at a time, English one at a time): "
            f"about {now:.0f} s now for {chapters} chapters; about {later:.0f} s projected for "
            f"{PLANNED_CHAPTERS} chapters ({2 * PLANNED_CHAPTERS} notebooks) at the same cost per "
            f"chapter. The rest of make test (library tests, strict build, browser) comes on top.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--write", action="store_true",
                        help=f"record the times in {DATA.relative_to(ROOT)} and render the tables")
    parser.add_argument("--render", action="store_true",
                        help="only render the tables from the recorded times (runs nothing)")
    parser.add_argument("notebooks", nargs="*")
    args = parser.parse_args(argv)
    if args.render:
        if args.write or args.notebooks:
            parser.error("--render runs nothing: give it no notebooks and no --write")
        write_fragments(load())
        return 0
    if args.write and args.notebooks:
        parser.error("--write records the whole book: give it no list of notebooks")
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
    print(projection({pathlib.Path(p).resolve().relative_to(ROOT).as_posix(): s
                      for p, s, _ in results}, args.jobs))
    if args.write:
        if any(error for _, _, error in results):
            print(f"not written: a notebook failed, so {DATA.relative_to(ROOT)} is left as it was")
        else:
            times = {pathlib.Path(p).resolve().relative_to(ROOT).as_posix(): s
                     for p, s, _ in results}
            DATA.parent.mkdir(exist_ok=True)
            DATA.write_text(json.dumps(record(times, args.jobs, wall), ensure_ascii=False,
                                       indent=2) + "\n", encoding="utf-8")
            print(f"wrote {DATA.relative_to(ROOT)}")
            write_fragments(load())
    return 1 if problems or wall > WHOLE_BOOK_S else 0


if __name__ == "__main__":
    sys.exit(main())
