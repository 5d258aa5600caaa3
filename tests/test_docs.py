"""The docs are part of the product: their examples run, and every hook is documented."""

import inspect
import pathlib
import re

import pytest

from modelops import hookspecs, plugins

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
CODE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def test_readme_opens_with_the_demo_and_test_commands():
    first = (ROOT / "README.md").read_text().splitlines()[:5]
    assert any("tox -e demo" in line for line in first)
    assert any("tox -e tests" in line for line in first)


def test_readme_links_point_at_existing_files():
    text = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.name)
def test_doc_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for block in CODE.findall(page.read_text()):
        exec(compile(block, str(page), "exec"), namespace)


def _hooks():
    return [name for name, fn in vars(hookspecs).items()
            if name.startswith("modelops_") and callable(fn)]


@pytest.mark.parametrize("hook", _hooks())
def test_every_hook_is_documented_with_its_signature(hook):
    fn = getattr(hookspecs, hook)
    assert fn.__doc__ and fn.__doc__.strip()
    args = ", ".join(inspect.signature(fn).parameters)
    page = (ROOT / "docs" / "plugins.md").read_text()
    assert f"## `{hook}({args})`" in page, f"docs/plugins.md lacks a section for {hook}"


def test_every_documented_hook_exists():
    page = (ROOT / "docs" / "plugins.md").read_text()
    assert set(re.findall(r"^## `(modelops_\w+)\(", page, re.MULTILINE)) == set(_hooks())
    pm = plugins.plugin_manager()
    assert set(_hooks()) <= {name for name in dir(pm.hook) if name.startswith("modelops_")}


def test_every_test_guarantees_md_names_exists():
    """docs/guarantees.md maps each promise to its tests: each one named must exist."""
    text = (ROOT / "docs" / "guarantees.md").read_text()
    current = None
    for path, name in re.findall(r"`(?:((?:tests|plugins)/[\w/.-]+\.py))?::(\w+)`", text):
        current = path or current
        source = (ROOT / current).read_text()
        assert re.search(rf"^\s*(?:def|class) {name}\b", source, re.MULTILINE), \
            f"{current}::{name}"
    for path in re.findall(r"`((?:tests|plugins|benchmarks)/[\w/.-]+\.py)", text):
        assert (ROOT / path).exists(), path
