"""Launching the book: one repository URL, Binder's environment, Colab's install line, the CI workflow."""

import json
import re

import pytest
import yaml

from book_tools import EDITIONS, notebooks, source
from conftest import ROOT

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
URL = CONFIG["repository"]["url"]
BRANCH = CONFIG["repository"]["branch"]


def _owner_repo():
    m = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+)", URL)
    assert m, f"repository.url in _config.yml must be https://github.com/OWNER/REPO, not {URL!r}"
    return m.groups()


def derived_links():
    """Every public address of the book, derived from repository.url."""
    owner, repo = _owner_repo()
    return {
        "repository": URL,
        "pages": f"https://{owner}.github.io/{repo}/",
        "binder": f"https://mybinder.org/v2/gh/{owner}/{repo}/{BRANCH}",
        "colab": f"https://colab.research.google.com/github/{owner}/{repo}/blob/{BRANCH}/",
    }


def test_launch_buttons_are_configured():
    launch = CONFIG["launch_buttons"]
    assert launch["binderhub_url"] == "https://mybinder.org"
    assert launch["colab_url"] == "https://colab.research.google.com"
    _owner_repo()


def test_readme_links_derive_from_the_repository_url():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = derived_links()
    owner, repo = _owner_repo()
    for name in ("pages", "binder", "colab"):
        assert links[name] in readme, f"README should link {name}: {links[name]}"
    # any other address of this project in the README must be one of the derived ones
    mentioned = re.findall(rf"https://[^\s>)\"']*{re.escape(repo)}[^\s>)\"']*", readme)
    stray = [u for u in mentioned if not any(u.startswith(v) for v in links.values())]
    assert stray == [], f"README links not derived from repository.url ({URL}): {stray}"


@pytest.mark.parametrize("lang", EDITIONS)
def test_first_cell_installs_normlib_from_the_repository_where_missing(lang):
    for nb in notebooks(lang):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        first = source(next(c for c in cells if c["cell_type"] == "code"))
        assert re.match(r"try:\n    import normlib as nl\nexcept ImportError:", first), nb.name
        installs = re.findall(r'%pip install --quiet "normlib @ git\+([^"]+)"', first)
        assert installs == [URL], (f"{nb.name}: the install line must use repository.url "
                                   f"from _config.yml ({URL}), found {installs}")


def _pins(path):
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if "==" in line and not line.startswith("-"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_binder_installs_cpu_torch_and_the_tested_versions():
    binder = ROOT / "binder"
    requirements = (binder / "requirements.txt").read_text(encoding="utf-8")
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements
    ours, tested = _pins(binder / "requirements.txt"), _pins(ROOT / "requirements.txt")
    assert ours["torch"] == tested["torch"] + "+cpu"
    for name in ("numpy", "matplotlib", "scikit-learn", "koreanize-matplotlib", "ipywidgets",
                 "jupyterlab", "nbval"):
        assert name in ours, f"binder/requirements.txt should pin {name}"
    mismatched = {n: (v, tested.get(n)) for n, v in ours.items()
                  if n != "torch" and v != tested.get(n)}
    assert mismatched == {}, "binder/requirements.txt must pin the versions requirements.txt pins"
    # registry packages only, so repo2docker installs them before copying the book's content
    assert not re.search(r"^\s*(-e|\.|file:|git\+)", requirements, re.M)
    post = (binder / "postBuild").read_text(encoding="utf-8")
    assert "pip install --no-deps --editable ." in post
    assert (binder / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"
    assert "fonts-nanum" in (binder / "apt.txt").read_text(encoding="utf-8").split()
    python = (binder / "runtime.txt").read_text(encoding="utf-8").strip()
    assert python == "python-3.11", "Binder runs the Python version requirements.txt is pinned for"


def test_workflow_tests_pull_requests_and_publishes_main():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text(encoding="utf-8"))
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads "on" as True
    assert "pull_request" in triggers and triggers["push"]["branches"] == [BRANCH]
    jobs = workflow["jobs"]
    assert any(step.get("run") == ".ci/run" for step in jobs["test"]["steps"])
    assert jobs["pages"]["needs"] == "test"
    assert "refs/heads/" + BRANCH in jobs["pages"]["if"]
    assert any(step.get("run") == "make book" for step in jobs["pages"]["steps"])
    assert any("upload-pages-artifact" in step.get("uses", "") for step in jobs["pages"]["steps"])
    assert any("deploy-pages" in step.get("uses", "") for step in jobs["deploy"]["steps"])
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    # the CPU build of the pinned torch, not PyPI's CUDA build
    assert workflow["env"]["PIP_EXTRA_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
