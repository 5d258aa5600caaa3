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


# -- the documentation site (mkdocs.yml; `tox -e docs` builds it with --strict) --------------

REFERENCE = ROOT / "docs" / "reference"
#: The packages (and public top-level modules) whose ``__all__`` the API reference covers.
PUBLIC_MODULES = [
    "modelops", "modelops.backends.layout", "modelops.copy", "modelops.drift",
    "modelops.entities", "modelops.errors", "modelops.lifecycle", "modelops.metrics",
    "modelops.monitoring", "modelops.predictions", "modelops.query", "modelops.registry",
    "modelops.stores", "modelops.testing", "modelops.tracking", "modelops.validation",
]


def _documented() -> dict[str, object]:
    """Every ``::: path`` of the reference pages, with the object it names."""
    import importlib

    found = {}
    for page in sorted(REFERENCE.glob("*.md")):
        for path in re.findall(r"^::: ([\w.]+)", page.read_text(), re.MULTILINE):
            parts = path.split(".")
            for cut in range(len(parts), 0, -1):
                try:
                    obj = importlib.import_module(".".join(parts[:cut]))
                except ImportError:
                    continue
                for name in parts[cut:]:
                    obj = getattr(obj, name)
                found[path] = obj
                break
    return found


def test_every_public_name_is_in_the_api_reference():
    import importlib
    import types

    documented = _documented()
    objects = [id(obj) for obj in documented.values()]
    missing = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, types.ModuleType) and obj.__name__ in PUBLIC_MODULES:
                continue                                   # it has a page of its own
            if isinstance(obj, (type, types.FunctionType, types.ModuleType)):
                if id(obj) in objects:
                    continue
            elif any(path.rsplit(".", 1)[-1] == name and value == obj
                     for path, value in documented.items()):
                continue
            missing.append(f"{module_name}.{name}")
    assert not missing, f"not in docs/reference/*.md: {missing}"


def test_every_page_is_reachable_from_the_navigation():
    config = (ROOT / "mkdocs.yml").read_text()
    assert re.search(r"^strict: true$", config, re.MULTILINE)
    in_nav = set(re.findall(r":\s*([\w./-]+\.md)\s*$", config, re.MULTILINE))
    pages = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md")}
    assert pages == in_nav, (f"not in the nav: {sorted(pages - in_nav)}; "
                             f"in the nav but missing: {sorted(in_nav - pages)}")


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
