"""The MLflow stores beyond the conformance suites: search pushed down to MLflow gives what
modelops' own evaluator gives; the state machines on MLflow; the drift store; claims."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import HealthCheck, settings
from modelops_mlflow import search as translate

from modelops import query
from modelops.client import open_store
from modelops.entities import MetricSeries, RunStatus, ViewType
from modelops.errors import NotFound
from modelops.testing import registry_machine
from modelops.testing import strategies as mst
from modelops.uri import parse_uri

T0 = 1_700_000_000_000


def _populate(store) -> str:
    rng = random.Random(5)
    exp = store.create_experiment("search")
    values = [0.1, 0.5, 0.9, math.nan, math.inf, -math.inf, 2.0, -1.0]
    for i in range(40):
        run = store.create_run(exp.experiment_id, run_name=f"r{i % 7}",
                               start_time=T0 + rng.randrange(10), user=rng.choice("ab"))
        metrics = [MetricSeries(k, [0], [rng.choice(values)], [T0])
                   for k in ("acc", "loss") if rng.random() < 0.8]
        params = {k: rng.choice(["rf", "lr", "Rf", "x'y"]) for k in ("model", "kind")
                  if rng.random() < 0.7}
        tags = {"team": rng.choice(["a", "b", "é"])} if rng.random() < 0.7 else {}
        store.log_batch(run.run_id, metrics, params, tags)
        if rng.random() < 0.5:
            store.update_run(run.run_id, status=rng.choice(list(RunStatus)),
                             end_time=T0 + rng.randrange(20))
        if rng.random() < 0.2:
            store.set_run_lifecycle(run.run_id, deleted=True)
    return exp.experiment_id


FILTERS = [
    None, "metrics.acc > 0.4", "metrics.acc != 0.5", "metrics.loss <= 0.9",
    "metrics.acc > 1e308", "metrics.acc = nan", "params.model = 'rf'",
    "params.model != 'rf'", "params.model LIKE 'r%'", "params.model ILIKE 'RF'",
    "params.model IN ('lr', 'Rf')", "tags.team = 'é'", "tags.team NOT IN ('a')",
    "attributes.status = 'FINISHED'", "run_name = 'r3'", "user = 'a'",
    "attributes.start_time >= 1700000000005", "end_time < 1700000000010",
    "metrics.acc > 0 and params.kind = 'lr'", "params.model = \"x'y\"",
]
ORDERS = [[], ["metrics.acc DESC"], ["metrics.loss"], ["params.model", "start_time DESC"],
          ["tags.team DESC", "run_name"], ["end_time"], ["user", "metrics.acc"],
          ["start_time"]]


@pytest.fixture(scope="module")
def searched(mlflow_template, tmp_path_factory):
    """One populated store for every search test, with every run of each view."""
    import shutil

    path = tmp_path_factory.mktemp("mlflow-search") / "mlflow.db"
    shutil.copyfile(mlflow_template, path)
    store = open_store("tracking", parse_uri(f"mlflow+sqlite:///{path}"))
    experiment_id = _populate(store)
    views = {}
    for view in (ViewType.ACTIVE_ONLY, ViewType.ALL):
        views[view] = list(store.search_runs([experiment_id], max_results=1000,
                                             view=view).items)
    yield store, experiment_id, views
    store.close()


@pytest.mark.parametrize("text", FILTERS)
def test_pushed_down_search_equals_modelops_evaluation(searched, text):
    """Whatever reaches MLflow, every filter and order gives exactly the runs, order and
    pages that modelops' own evaluator gives over the same runs."""
    store, experiment_id, views = searched
    flt = query.parse_filter(text)
    for view, everything in views.items():
        for order_text in ORDERS:
            order = query.parse_order_by(order_text)
            expected = query.search(everything, flt, order, 1000, None).items
            got, token = [], None
            while True:
                page = store.search_runs([experiment_id], filter=flt, order_by=order,
                                         max_results=9, page_token=token, view=view)
                got += page.items
                token = page.token
                if token is None:
                    break
            assert [r.run_id for r in got] == [r.run_id for r in expected], \
                (text, order_text, view)


def test_translation_is_exact_only_where_mlflow_agrees():
    exact = translate.translate(query.parse_filter("metrics.a > 1 and params.p = 'x'"),
                                query.parse_order_by(["metrics.a DESC"]), False)
    assert exact.exact and exact.filter_string == "metrics.`a` > 1.0 and params.`p` = 'x'"
    for text in ("params.p LIKE 'x%'", "metrics.a > inf", "params.p IN ('a')"):
        assert not translate.translate(query.parse_filter(text), (), True).exact, text
    # Strings sort by code point in sqlite only; a server's database may use a locale.
    order = query.parse_order_by(["params.p"])
    assert translate.translate(None, order, True).exact
    assert not translate.translate(None, order, False).exact


# -- state machines --------------------------------------------------------------------------

SMALL = settings(max_examples=3, stateful_step_count=12, deadline=None,
                 suppress_health_check=list(HealthCheck))


def _fresh(kind, options=None):
    import atexit
    import shutil
    import tempfile

    from mlflow.tracking import MlflowClient

    def folder_removed_at_exit():
        folder = tempfile.mkdtemp(prefix="modelops-mlflow-machine-")
        atexit.register(shutil.rmtree, folder, True)
        return folder

    template = _fresh.template
    if template is None:
        template = _fresh.template = f"{folder_removed_at_exit()}/template.db"
        MlflowClient(tracking_uri=f"sqlite:///{template}").search_experiments()
    folder = folder_removed_at_exit()
    shutil.copyfile(template, f"{folder}/mlflow.db")
    return open_store(kind, parse_uri(f"mlflow+sqlite:///{folder}/mlflow.db", options))


_fresh.template = None  # type: ignore[attr-defined]

# The registry machine drives the registry service on MLflow, in SQL and through MLflow's
# client. Model names avoid what MLflow refuses (':' and a leading '..', see
# test_mlflow_conformance.py). The tracking machine is not run: it compares metric histories
# in logging order, which MLflow does not keep (it orders them by timestamp); the tracking
# conformance suite covers that store instead.
_MODEL_NAMES = mst.model_names().filter(lambda n: ":" not in n and not n.startswith("..")
                                        and not ("'" in n and '"' in n))
TestMlflowRegistryMachine = pytest.mark.slow(registry_machine(
    lambda: _fresh("registry"), name="MlflowRegistryMachine", settings=SMALL,
    model_names=_MODEL_NAMES).TestCase)
TestMlflowRegistryMachineThroughClient = pytest.mark.slow(registry_machine(
    lambda: _fresh("registry", {"direct_sql": False}),
    name="MlflowRegistryMachineThroughClient", settings=SMALL,
    model_names=_MODEL_NAMES).TestCase)


# -- drift -----------------------------------------------------------------------------------

def test_drift_store_reads_what_it_wrote(sqlite_uri):
    import numpy as np

    import modelops

    ops = modelops.connect(sqlite_uri())
    rng = np.random.default_rng(0)
    with pytest.raises(NotFound, match="fit_reference"):
        ops.drift.reference("fraud")
    first = ops.drift.fit_reference("fraud", {"x": rng.normal(size=200)})
    second = ops.drift.fit_reference("fraud", {"x": rng.normal(size=300)})
    assert ops.drift.reference("fraud") == second
    assert ops.drift.reference("fraud", first.profile_id) == first
    reports = [ops.drift.check("fraud", {"x": rng.normal(shift, 1, 200)}) for shift in (0, 2)]
    assert ops.drift.reports("fraud") == reports
    assert ops.drift.reports("fraud", since=reports[1].created_time) == reports[1:]
    assert ops.drift.reports("fraud", until=reports[1].created_time) == reports[:1]
    with pytest.raises(NotFound):
        ops.drift.report("fraud", "nope")
    assert ops.store("drift").list_names() == ["fraud"]
    ops.close()


# -- cached trails ---------------------------------------------------------------------------

def test_cached_history_follows_other_processes(sqlite_uri):
    """A client that read a model's history (and keeps it) sees what another client and
    plain MLflow code changed afterwards: the production version is never a stale one."""
    import numpy as np
    from mlflow.tracking import MlflowClient
    from sklearn.linear_model import LogisticRegression

    import modelops

    uri = sqlite_uri()
    first, second = modelops.connect(uri), modelops.connect(uri)
    X = np.random.default_rng(0).normal(size=(60, 3))
    model = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    v1 = first.registry.register("fraud", model).version
    first.registry.promote("fraud", v1)
    assert second.registry.get_version("fraud", stage="production").version == v1
    v2 = first.registry.register("fraud", model).version
    first.registry.promote("fraud", v2)
    assert second.registry.get_version("fraud", stage="production").version == v2
    second.registry.promote("fraud", v1, reason="back")
    assert first.registry.get_version("fraud", stage="production").version == v1
    assert [e.seq for e in first.registry.history("fraud")] == [1, 2, 3]
    # Plain MLflow moves the alias: both clients see it as a sync event.
    client = MlflowClient(tracking_uri=uri.removeprefix("mlflow+"),
                          registry_uri=uri.removeprefix("mlflow+"))
    client.set_registered_model_alias("fraud", "production", "2")
    for ops in (first, second):
        assert ops.registry.get_version("fraud", stage="production").version == v2
        assert ops.registry.history("fraud")[-1].action == "sync"
    first.close()
    second.close()
