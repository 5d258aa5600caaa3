"""The lifecycle docs hold what they promise: the plugin guide's minimal backend passes the
conformance kit, and the guide lists every hook."""

import functools
import pathlib
import re

import pytest

from modelops import hookspecs
from modelops.testing import DriftStoreSuite, StoreCapabilities

ROOT = pathlib.Path(__file__).resolve().parents[2]
CODE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
GUIDE = ROOT / "docs" / "plugin-authors.md"


@functools.lru_cache(maxsize=1)
def documented():
    """The names the guide's first example defines (it registers and unregisters its own
    plugin as it runs)."""
    namespace = {"__name__": "docs_plugin_authors"}
    exec(compile(CODE.findall(GUIDE.read_text())[0], str(GUIDE), "exec"), namespace)
    return namespace


class TestTheGuidesMinimalBackend(DriftStoreSuite):
    capabilities = StoreCapabilities(concurrent_processes=False, reopen=False)

    @pytest.fixture
    def store(self):
        return documented()["DictDriftStore"]("dictdrift://test")


def test_the_guide_lists_every_hook_with_its_signature():
    import inspect

    text = GUIDE.read_text()
    for name, fn in vars(hookspecs).items():
        if name.startswith("modelops_") and callable(fn):
            args = ", ".join(inspect.signature(fn).parameters)
            assert f"`{name}({args})`" in text, name


@pytest.mark.parametrize("page", ["getting-started", "lifecycle", "routing", "training",
                                  "plugin-authors", "migrating-from-mlflow"])
def test_each_page_is_linked_from_the_readme(page):
    assert f"(docs/{page}.md)" in (ROOT / "README.md").read_text()
