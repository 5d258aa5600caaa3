import os
import subprocess
import sys
import textwrap

import pytest
from conftest import python_env

import modelops
from modelops import InvalidInput, UnknownScheme, plugins
from modelops.uri import parse_uri


def test_plain_paths_and_file_uris_are_local(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_uri("store").uri == "file://" + str(tmp_path / "store")
    assert parse_uri(tmp_path / "x").scheme == "file"
    assert parse_uri("file:///var/data").path == "/var/data"
    assert parse_uri("~/ops").path == os.path.expanduser("~/ops")
    u = parse_uri("s3://bucket/prefix", {"anon": True})
    assert (u.scheme, u.path, dict(u.options)) == ("s3", "bucket/prefix", {"anon": True})
    assert parse_uri("mlflow+sqlite:///m.db").scheme == "mlflow+sqlite"
    for bad in ("", "  ", None, "a\x00b"):
        with pytest.raises(InvalidInput, match="uri"):
            parse_uri(bad)


def test_connect_defaults_to_env_then_dot_modelops(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELOPS_URI", str(tmp_path / "from-env"))
    assert modelops.connect().uri == "file://" + str(tmp_path / "from-env")
    monkeypatch.delenv("MODELOPS_URI")
    monkeypatch.chdir(tmp_path)
    ops = modelops.connect()
    assert ops.uri == "file://" + str(tmp_path / ".modelops")
    ops.tracking.create_experiment("x")
    assert (tmp_path / ".modelops" / "experiment-names" / "x.json").exists()


def test_memory_stores_are_private_unless_named():
    a, b = modelops.connect("memory://"), modelops.connect("memory://")
    a.tracking.create_experiment("only-in-a")
    assert b.tracking.list_experiments() == []
    named1, named2 = modelops.connect("memory://shared-x"), modelops.connect("memory://shared-x")
    named1.tracking.create_experiment("seen")
    assert [e.name for e in named2.tracking.list_experiments()] == ["seen"]


def test_unknown_scheme_lists_available_and_names_the_plugin(monkeypatch):
    # Only the built-in backends: the plugins installed beside the core serve s3://, mlflow+.
    monkeypatch.setenv("MODELOPS_PLUGINS", "none")
    plugins.reset()
    try:
        _unknown_schemes_are_explained()
    finally:
        monkeypatch.delenv("MODELOPS_PLUGINS")
        plugins.reset()


def _unknown_schemes_are_explained():
    with pytest.raises(UnknownScheme) as err:
        modelops.connect("s3://bucket/prefix")
    text = str(err.value)
    assert "file://" in text and "memory://" in text and "pip install modelops-s3" in text
    with pytest.raises(UnknownScheme, match="pip install modelops-mlflow"):
        modelops.connect("mlflow+http://localhost:5000")
    with pytest.raises(UnknownScheme, match="available: file://, memory://"):
        modelops.connect("nosuch://x")


def test_per_store_overrides(tmp_path):
    ops = modelops.connect("memory://", tracking=tmp_path / "t")
    ops.tracking.create_experiment("x")
    assert (tmp_path / "t" / "experiment-names" / "x.json").exists()
    with pytest.raises(InvalidInput, match="unknown keyword 'trackin'"):
        modelops.connect("memory://", trackin="x")


def test_a_missing_store_kind_is_a_clear_error():
    from modelops.backends.layout.plugin import modelops_tracking_store as builtin
    from modelops.uri import StoreURI

    class TrackingOnly:
        @modelops.hookimpl
        def modelops_schemes(self):
            return ["onlytracking"]

        @modelops.hookimpl
        def modelops_tracking_store(self, uri):
            if uri.scheme == "onlytracking":
                return builtin(StoreURI("memory://", "memory", ""))
            return None

    pm = plugins.plugin_manager()
    pm.register(TrackingOnly(), name="onlytracking")
    try:
        ops = modelops.connect("onlytracking://x")
        ops.tracking.create_experiment("fine")
        with pytest.raises(modelops.NotFound, match=r"no registry store.*registry='<uri>'"):
            ops.registry.list_models()
    finally:
        pm.unregister(name="onlytracking")


def test_a_registered_plugin_can_serve_a_new_scheme():
    from modelops.backends.layout.plugin import modelops_tracking_store as builtin
    from modelops.uri import StoreURI

    class Echo:
        @modelops.hookimpl
        def modelops_schemes(self):
            return ["echo"]

        @modelops.hookimpl
        def modelops_tracking_store(self, uri):
            if uri.scheme == "echo":
                return builtin(StoreURI("memory://" + uri.path, "memory", uri.path))
            return None

    pm = plugins.plugin_manager()
    pm.register(Echo(), name="echo")
    try:
        ops = modelops.connect("echo://plugin-test")
        ops.tracking.create_experiment("via-plugin")
        assert "echo" in plugins.available_schemes()
    finally:
        pm.unregister(name="echo")


@pytest.fixture
def installed_plugin(tmp_path):
    """A real distribution on sys.path whose entry point registers a plugin."""
    (tmp_path / "fakeplugin.py").write_text(textwrap.dedent("""
        import modelops
        from modelops.backends.layout.plugin import modelops_tracking_store as builtin
        from modelops.uri import StoreURI

        @modelops.hookimpl
        def modelops_schemes():
            return ["fake"]

        @modelops.hookimpl
        def modelops_tracking_store(uri):
            if uri.scheme.split("+")[0] == "fake":  # fake+<driver> too
                return builtin(StoreURI("memory://", "memory", ""))
    """))
    dist = tmp_path / "fakeplugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[modelops]\nfake = fakeplugin\n")
    return tmp_path


@pytest.mark.parametrize(("setting", "loads"), [(None, True), ("fake", True), ("", False),
                                               ("none", False), ("other", False)])
def test_entry_point_plugins_load_as_modelops_plugins_says(installed_plugin, setting, loads):
    env = python_env()
    env["PYTHONPATH"] = f"{installed_plugin}{os.pathsep}{env['PYTHONPATH']}"
    env.pop("MODELOPS_PLUGINS", None)
    if setting is not None:
        env["MODELOPS_PLUGINS"] = setting
    code = ("import sys, modelops\n"
            "assert 'fakeplugin' not in sys.modules  # not at import\n"
            "try:\n"
            "    modelops.connect('fake://x').tracking.create_experiment('e')\n"
            "    print('served')\n"
            "except modelops.UnknownScheme as e:\n"
            "    print('unknown')\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == ("served" if loads else "unknown")


@pytest.mark.parametrize(("uri", "shown"), [
    ("mlflow+postgresql://ops:s3cret@db:5432/mlflow", "mlflow+postgresql://ops:***@db:5432/mlflow"),
    ("mlflow+postgresql+psycopg://ops:p%40ss@db/mlflow?x=1",
     "mlflow+postgresql+psycopg://ops:***@db/mlflow?x=1"),
    ("mlflow+postgresql://ops@db/mlflow", "mlflow+postgresql://ops@db/mlflow"),
    ("s3://bucket/prefix", "s3://bucket/prefix"),
    ("file:///data/a:b@c", "file:///data/a:b@c"),           # a path, not a password
])
def test_a_password_in_a_store_uri_is_hidden_where_it_is_shown(uri, shown):
    from modelops.uri import hide_password

    assert hide_password(uri) == shown


def test_a_client_never_shows_the_password_of_its_uri():
    ops = modelops.Client({}, "mlflow+postgresql://ops:s3cret@db/mlflow")
    assert "s3cret" not in repr(ops)
    with pytest.raises(modelops.NotFound) as caught:
        ops.store("registry")
    assert "s3cret" not in str(caught.value) and "ops:***@db" in str(caught.value)


@pytest.fixture
def lazy_plugins(installed_plugin):
    """The fake backend declaring its scheme, and a listener that serves no scheme."""
    (installed_plugin / "fakelistener.py").write_text(textwrap.dedent("""
        import modelops

        heard = []

        @modelops.hookimpl
        def modelops_stage_changed(event, store_uri):
            heard.append(event.seq)
    """))
    dist = installed_plugin / "fakeplugin-0.1.dist-info"
    (dist / "entry_points.txt").write_text(
        "[modelops]\nfake = fakeplugin\nlistener = fakelistener\n\n"
        "[modelops.schemes]\nfake = fakeplugin\n")
    return installed_plugin


@pytest.mark.parametrize("setting", [None, "fake,listener", "listener"])
def test_connect_imports_only_the_plugin_of_its_scheme(lazy_plugins, tmp_path, setting):
    """connect() imports a plugin only for a scheme it declares; an event or a table
    look-up loads the rest; MODELOPS_PLUGINS still chooses which load at all."""
    env = python_env()
    env["PYTHONPATH"] = f"{lazy_plugins}{os.pathsep}{env['PYTHONPATH']}"
    env.pop("MODELOPS_PLUGINS", None)
    if setting is not None:
        env["MODELOPS_PLUGINS"] = setting
    code = textwrap.dedent(f"""
        import sys, modelops
        def loaded():
            return sorted(m for m in ("fakeplugin", "fakelistener") if m in sys.modules)
        ops = modelops.connect({str(tmp_path / "store")!r})
        print(loaded())
        try:
            modelops.connect("fake://x").tracking.create_experiment("e")
            print("served", loaded())
        except modelops.UnknownScheme:
            print("unknown", loaded())
        src = {str(tmp_path / "m.bin")!r}
        open(src, "wb").write(b"w")
        ops.registry.register("m", src, flavor="path")
        ops.registry.promote("m", "1.0.0", stage="production")
        print(loaded(), getattr(sys.modules.get("fakelistener"), "heard", None))
    """)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.strip().splitlines()
    assert out[0] == "[]"  # a local store: no plugin imported
    if setting == "listener":
        assert out[1:] == ["unknown ['fakelistener']", "['fakelistener'] [1]"]
    else:
        assert out[1:] == ["served ['fakeplugin']", "['fakelistener', 'fakeplugin'] [1]"]


def test_a_declared_scheme_also_serves_its_variants_naming_a_driver(lazy_plugins):
    """``fake`` declared serves ``fake+driver`` (as ``mlflow+postgresql`` serves
    ``mlflow+postgresql+psycopg``): connect() loads the plugin declaring it, and only it."""
    env = python_env()
    env["PYTHONPATH"] = f"{lazy_plugins}{os.pathsep}{env['PYTHONPATH']}"
    env.pop("MODELOPS_PLUGINS", None)
    code = textwrap.dedent("""
        import sys, modelops
        modelops.connect("fake+driver://x").tracking.create_experiment("e")
        print(sorted(m for m in ("fakeplugin", "fakelistener") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "['fakeplugin']"


@pytest.fixture
def hook_plugins(lazy_plugins):
    """Beside the fake backend and the listener (which declare no hooks): a listener that
    declares the hook it implements, and one that declares another."""
    for name, hook, first in (("fakedeclared", "modelops_stage_changed", "event"),
                              ("fakeother", "modelops_run_finished", "run")):
        (lazy_plugins / f"{name}.py").write_text(textwrap.dedent(f"""
            import modelops

            heard = []

            @modelops.hookimpl
            def {hook}({first}, store_uri):
                heard.append({first})
        """))
    dist = lazy_plugins / "fakeplugin-0.1.dist-info"
    (dist / "entry_points.txt").write_text(
        "[modelops]\nfake = fakeplugin\nlistener = fakelistener\n"
        "declared = fakedeclared\nother = fakeother\n\n"
        "[modelops.schemes]\nfake = fakeplugin\n\n"
        "[modelops.hooks]\nmodelops_stage_changed = fakedeclared\n"
        "modelops_run_finished = fakeother\n")
    return lazy_plugins


def test_a_hook_imports_only_the_plugins_that_declare_it(hook_plugins, tmp_path):
    """An event imports the plugins declaring its hook in ``modelops.hooks`` and those that
    declare no hooks, never one declaring only others; ``plugin_manager()`` loads them all."""
    env = python_env()
    env["PYTHONPATH"] = f"{hook_plugins}{os.pathsep}{env['PYTHONPATH']}"
    env.pop("MODELOPS_PLUGINS", None)
    code = textwrap.dedent(f"""
        import sys, modelops
        names = ("fakeplugin", "fakelistener", "fakedeclared", "fakeother")
        def loaded():
            return [m for m in names if m in sys.modules]
        ops = modelops.connect({str(tmp_path / "store")!r})
        src = {str(tmp_path / "m.bin")!r}
        open(src, "wb").write(b"w")
        ops.registry.register("m", src, flavor="path")
        ops.registry.promote("m", "1.0.0", stage="production")
        print(loaded(), len(sys.modules["fakedeclared"].heard))
        modelops.plugins.plugin_manager()
        print(loaded())
    """)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.strip().splitlines()
    assert out == ["['fakeplugin', 'fakelistener', 'fakedeclared'] 1",
                   "['fakeplugin', 'fakelistener', 'fakedeclared', 'fakeother']"]


OUR_PLUGINS = ("mlflow", "s3", "prometheus", "serve", "ui")


@pytest.mark.parametrize("name", OUR_PLUGINS)
def test_each_plugin_declares_exactly_the_hooks_it_implements(name):
    """A hook a plugin implements but does not declare would never import it; one it
    declares but does not implement would import it for nothing."""
    from importlib.metadata import entry_points

    import pluggy

    from modelops import hookspecs

    found = [ep for ep in entry_points(group=plugins.ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        pytest.skip(f"the {name} plugin is not installed")
    value = found[0].value
    declared = {ep.name for ep in entry_points(group=plugins.HOOKS_GROUP) if ep.value == value}
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    plugin = found[0].load()
    pm.register(plugin)
    implemented = {caller.name for caller in pm.get_hookcallers(plugin)}
    assert declared == implemented
