"""The instructors' guide: its table of notebook run times is measured and generated, never typed.

benchmarks/time_notebooks.py --write records measured times in book/_data/notebook_times.json and
renders the tables that book/{ko,en}/instructors.md include; --render re-renders them. These tests
fail when the data are stale (a notebook of the book has no measured time, or a timed notebook is
gone) or when a rendered table no longer equals what the renderer makes of the data.
"""

import datetime
import json

import pytest

from book_tools import EDITIONS, ROOT, toc_files
from conftest import load_script

time_notebooks = load_script("time_notebooks")

DATA = time_notebooks.DATA
FIX = "run `.venv/bin/python benchmarks/time_notebooks.py --jobs 2 --write`"


@pytest.fixture(scope="module")
def data():
    assert DATA.is_file(), f"{DATA.relative_to(ROOT)} is missing: {FIX}"
    return json.loads(DATA.read_text(encoding="utf-8"))


def toc_notebooks():
    _, files = toc_files()
    return {f"{f}.ipynb" for f in files if (ROOT / f"{f}.ipynb").is_file()}


def test_every_notebook_in_the_toc_has_a_measured_time(data):
    timed = set(data["notebooks"])
    missing = sorted(toc_notebooks() - timed)
    assert not missing, f"no measured time for {missing}: {FIX}"
    gone = sorted(timed - toc_notebooks())
    assert not gone, f"times recorded for notebooks no longer in the book: {gone}: {FIX}"
    for name, entry in data["notebooks"].items():
        assert entry["seconds"] > 0, name


def test_the_measurement_says_when_and_where(data):
    m = data["measured"]
    datetime.date.fromisoformat(m["date"])
    assert isinstance(m["cpus"], int) and m["cpus"] >= 1
    assert isinstance(m["jobs"], int) and m["jobs"] >= 1
    assert m["torch"] and m["python"] and m["platform"] and m["cpu_model"]
    assert m["wall_seconds"] > 0


@pytest.mark.parametrize("lang", EDITIONS)
def test_the_table_is_rendered_from_the_data(data, lang):
    fragment = time_notebooks.fragment_path(lang)
    assert fragment.is_file(), f"{fragment.relative_to(ROOT)} is missing: run --render"
    assert fragment.read_text(encoding="utf-8") == time_notebooks.render(data, lang), (
        f"{fragment.relative_to(ROOT)} differs from what the data render to; do not edit it by "
        "hand: run `.venv/bin/python benchmarks/time_notebooks.py --render`")


@pytest.mark.parametrize("lang", EDITIONS)
def test_the_table_lists_every_chapter_of_the_edition(data, lang):
    table = time_notebooks.render(data, lang)
    for name in sorted(toc_notebooks()):
        if name.startswith(f"book/{lang}/"):
            assert f"{{doc}}`/{name[:-len('.ipynb')]}`" in table, name


@pytest.mark.parametrize("lang", EDITIONS)
def test_the_guide_includes_its_editions_table(lang):
    page = (ROOT / "book" / lang / "instructors.md").read_text(encoding="utf-8")
    assert f"```{{include}} ../_data/notebook_times.{lang}.md\n```" in page
    assert f"book/{lang}/instructors" in toc_files()[1]


def test_the_tables_are_not_pages_of_their_own():
    # _config.yml builds only the pages in _toc.yml, so the included fragments are never pages
    import yaml
    assert yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["only_build_toc_files"]
    for lang in EDITIONS:
        fragment = time_notebooks.fragment_path(lang).relative_to(ROOT).with_suffix("").as_posix()
        assert fragment not in toc_files()[1]
