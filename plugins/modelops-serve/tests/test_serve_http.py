"""The server over real HTTP: predictions logged and read back, feedback joined, the input
contract, the orchestration and description endpoints, mounting."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd
import pytest
from modelops_serve import app
from openapi_spec_validator import validate
from serve_support import frame, register, serving
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from starlette.applications import Starlette
from starlette.routing import Mount

import modelops

ROW = {"amount": 70.0, "items": 2, "country": "fr"}


def test_a_prediction_is_answered_like_the_model_and_logged(store, server):
    url, application = server
    x, _ = frame(20, seed=1)
    model = store.registry.load("fraud", "1.0.0")
    with httpx.Client(base_url=url) as client:
        one = client.post("/predict", json={"features": ROW}).json()
        records = x.to_dict(orient="records")
        batch = client.post("/predict", json=records).json()
    assert one["version"] == "1.0.0" and one["model"] == "fraud" and one["logged"] == "queued"
    expected = model.predict_proba(x[["amount", "items", "country"]])[:, 1]
    assert [p["prediction"] for p in batch["predictions"]] == model.predict(x).tolist()
    np.testing.assert_allclose([p["probability"] for p in batch["predictions"]], expected)
    application.state.server.logger("1.0.0").flush()
    logged = store.predictions.read("fraud", version="1.0.0")
    by_id = dict(zip(logged.ids.tolist(), logged.predictions.tolist()))
    assert by_id[one["id"]] == one["prediction"]
    for row in batch["predictions"]:
        assert by_id[row["id"]] == row["prediction"]
    assert len(logged) == 21


def test_a_big_batch_is_logged_as_a_parquet_part_that_reads_back_as_it_was_sent(store,
                                                                               server):
    pytest.importorskip("pyarrow")
    url, application = server
    x, _ = frame(1_500, seed=4)
    with httpx.Client(base_url=url) as client:
        answered = client.post("/predict", json=x.to_dict(orient="records")).json()
    application.state.server.logger("1.0.0").flush()
    parts = store.store("predictions").list_parts("fraud", "predictions")
    assert [part.fmt for part in parts] == ["parquet"]
    logged = store.predictions.read("fraud", version="1.0.0")
    rows = answered["predictions"]
    assert logged.ids.tolist() == [row["id"] for row in rows]
    assert logged.predictions.tolist() == [row["prediction"] for row in rows]
    np.testing.assert_allclose(logged.probabilities, [row["probability"] for row in rows])
    for name in ("amount", "items", "country"):
        assert logged.features[name].tolist() == x[name].tolist(), name


def test_split_orient_and_mlflow_bodies_are_batches(server):
    url, _ = server
    split = {"columns": ["amount", "items", "country"], "data": [[70.0, 2, "fr"], [10, 1, "es"]]}
    with httpx.Client(base_url=url) as client:
        a = client.post("/predict", json=split).json()
        b = client.post("/predict", json={"dataframe_split": split}).json()
        c = client.post("/predict", json={"dataframe_records": [ROW]}).json()
    assert [p["prediction"] for p in a["predictions"]] == \
        [p["prediction"] for p in b["predictions"]]
    assert len(c["predictions"]) == 1


def test_feedback_is_joined_to_the_logged_prediction(store, server):
    url, application = server
    with httpx.Client(base_url=url) as client:
        first = client.post("/predict", json={"features": ROW}).json()
        second = client.post("/predict", json={"features": {**ROW, "country": "es"}}).json()
        one = client.post("/feedback", json={"id": first["id"], "actual": first["prediction"]})
        many = client.post("/feedback", json=[{"id": second["id"],
                                               "actual": 1 - second["prediction"]}])
        metrics = client.get("/metrics").text
    assert one.json() == {"accepted": 1, "failed": 0} and many.status_code == 200
    application.state.server.logger("1.0.0").flush()
    table = store.predictions.read("fraud")
    actual = dict(zip(table.ids.tolist(), table.actuals.tolist()))
    assert actual[first["id"]] == first["prediction"]
    assert actual[second["id"]] == 1 - second["prediction"]
    assert 'modelops_serve_live_accuracy{model="fraud",version="1.0.0"} 0.5' in metrics
    assert 'modelops_serve_feedback_joined_total{model="fraud",version="1.0.0"} 2.0' in metrics


def test_a_feedback_batch_with_an_id_the_logger_refuses_logs_none_of_it(store, server):
    url, application = server
    with httpx.Client(base_url=url) as client:
        rid = client.post("/predict", json={"features": ROW}).json()["id"]
        refused = client.post("/feedback", json=[{"id": rid, "actual": 1},
                                                 {"id": "two\nlines", "actual": 0}])
    assert refused.status_code == 422
    assert [f["field"] for f in refused.json()["fields"]] == ["[1].id"]
    application.state.server.logger("1.0.0").flush()
    assert store.predictions.read("fraud").actuals.tolist() == [None]


def test_an_integer_beyond_64_bits_as_feedback_never_breaks_a_read(store, server):
    """Python's JSON keeps it whole, Arrow's columns cannot: the read keeps it as an
    object, and /health goes on answering."""
    url, application = server
    with httpx.Client(base_url=url) as client:
        rid = client.post("/predict", json={"features": ROW}).json()["id"]
        big = "1" + "0" * 400
        body = f'[{{"id": "{rid}", "actual": {big}}}, {{"id": "{rid}", "actual": "x"}}]'
        assert client.post("/feedback", content=body).status_code == 200
        application.state.server.logger("1.0.0").flush()
        assert client.get("/health").status_code == 200
    assert store.predictions.read("fraud").actuals.tolist() == ["x"]


def test_an_integer_beyond_a_float_for_a_model_without_signature_is_a_422(tmp_path):
    x, y = frame()
    ops = modelops.connect(tmp_path / "plain")
    numbers = x[["amount", "items"]].to_numpy()         # no column names: no signature
    version = ops.registry.register("plain", LogisticRegression().fit(numbers, y)).version
    ops.registry.promote("plain", version, stage="production")
    with serving(app(ops, "plain")) as url:
        body = '{"features": {"0": 1' + "0" * 400 + ', "1": 2}}'
        response = httpx.post(f"{url}/predict", content=body)
        assert response.status_code == 422, response.text
        assert httpx.get(f"{url}/live").status_code == 200


@pytest.mark.parametrize("length", [b"\xb2", b"1\xb9", b"-1", b"1e3"])
def test_a_content_length_that_is_no_ascii_number_is_a_400(store, length):
    """uvicorn refuses such a header itself; an app mounted elsewhere meets it."""
    import asyncio

    sent = []

    async def receive():
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/predict", "raw_path": b"/predict",
             "query_string": b"", "root_path": "", "server": ("127.0.0.1", 80),
             "client": ("127.0.0.1", 1), "headers": [(b"content-length", length),
                                                      (b"content-type", b"application/json")]}
    asyncio.run(app(store, "fraud")(scope, receive, send))
    assert sent[0]["status"] == 400


@pytest.mark.parametrize(("body", "fields"), [
    ({"features": {"amount": 70.0, "items": 2}}, {"country": "is missing"}),
    ({"features": {**ROW, "colour": "red"}}, {"colour": "not a column"}),
    ({"features": {**ROW, "amount": "seventy"}}, {"amount": "number"}),
    ({"features": {**ROW, "items": 2.5}}, {"items": "integer"}),
    ({"features": {**ROW, "amount": None}}, {"amount": "null"}),
    ({"features": {**ROW, "country": 3}}, {"country": "expected a string"}),
    ([{**ROW, "amount": True}, {"items": "x", "amount": 1.0, "country": "de", "zip": "1"}],
     {"amount": "number", "items": "integer", "zip": "not a column"}),
])
def test_bad_input_is_a_422_naming_every_bad_field(server, body, fields):
    url, _ = server
    response = httpx.post(f"{url}/predict", json=body)
    assert response.status_code == 422
    got = response.json()["fields"]
    assert {f["field"] for f in got} == set(fields)
    for f in got:
        assert fields[f["field"]] in f["problem"]


def test_nan_in_a_column_that_forbids_it_is_a_422(server):
    url, _ = server
    body = b'{"features": {"amount": NaN, "items": 2, "country": "fr"}}'
    response = httpx.post(f"{url}/predict", content=body)
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "amount"


@pytest.mark.parametrize("body", [b"{", b"\xff\xfe", b"", b"[" * 100_000])
def test_malformed_json_is_a_400(server, body):
    url, _ = server
    response = httpx.post(f"{url}/predict", content=body)
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


@pytest.mark.parametrize("body", [b"1", b'"text"', b'{"features": 3}', b"[]", b"[1]",
                                  b'{"features": {"amount": [1, 2]}}',
                                  b'{"columns": ["a"], "data": [[1, 2]]}'])
def test_a_body_of_another_shape_is_a_422(server, body):
    url, _ = server
    response = httpx.post(f"{url}/predict", content=body)
    assert response.status_code == 422
    assert response.json()["fields"]


def test_an_oversized_body_is_a_413_by_length_or_as_it_streams(store):
    application = app(store, "fraud", max_body_bytes=1000)
    big = b'{"features": {"amount": 1.0, "items": 1, "country": "' + b"x" * 2000 + b'"}}'

    def chunks():
        for i in range(0, len(big), 100):
            yield big[i:i + 100]

    with serving(application) as url:
        declared = httpx.post(f"{url}/predict", content=big)
        streamed = httpx.post(f"{url}/predict", content=chunks())   # chunked: no length
        fine = httpx.post(f"{url}/predict", json={"features": ROW})
    assert declared.status_code == 413 and streamed.status_code == 413
    assert fine.status_code == 200


def test_the_worker_survives_whatever_is_sent(server):
    url, _ = server
    bodies = [b"\x00" * 10, b'{"features": {"amount": 1e400, "items": 1, "country": "fr"}}',
              b'{"features": {"amount": 1, "items": 99999999999999999999999, "country": "fr"}}',
              b'{"features": {"amount": 1, "items": 1, "country": "\\ud800"}}',
              b'[{"amount": 1, "items": 1, "country": "fr"}]' * 2]
    with httpx.Client(base_url=url) as client:
        for body in bodies:
            assert client.post("/predict", content=body).status_code in (200, 400, 422)
        assert client.get("/live").status_code == 200
        assert client.post("/predict", json={"features": ROW}).status_code == 200


def test_version_describes_what_is_served(store, server):
    url, _ = server
    info = httpx.get(f"{url}/version").json()
    record = store.registry.get_version("fraud", "1.0.0")
    assert info["name"] == "fraud" and info["version"] == "1.0.0"
    assert info["stage"] == "production" and info["follows"] == "production"
    assert info["flavor"] == record.flavor and len(info["digest"]) == 64
    assert [c["name"] for c in info["signature"]["columns"]] == ["amount", "items", "country"]
    assert len(info["input_example"]) == 3


def test_openapi_is_valid_and_describes_the_signature(server):
    url, _ = server
    spec = httpx.get(f"{url}/openapi.json").json()
    validate(spec)
    features = spec["components"]["schemas"]["Features"]
    assert features["required"] == ["amount", "items", "country"]
    assert features["properties"]["amount"]["type"] == "number"
    assert features["properties"]["items"]["type"] == "integer"
    assert features["additionalProperties"] is False


def test_probes_and_health(store, server):
    url, application = server
    with httpx.Client(base_url=url) as client:
        assert client.get("/live").json() == {"live": True}
        assert client.get("/ready").json() == {"ready": True, "version": "1.0.0"}
        for _ in range(5):
            client.post("/predict", json={"features": ROW})
        application.state.server.logger("1.0.0").flush()
        health = client.get("/health", params={"window": "1h"}).json()
        bad = client.get("/health", params={"window": "soon"})
    assert health["window"] == "1h" and health["n"] == 5 and health["serving"] == "1.0.0"
    assert health["status"] in ("healthy", "degraded", "unhealthy")
    assert bad.status_code == 422


def test_metrics_count_requests_errors_and_stored_predictions(server):
    url, application = server
    with httpx.Client(base_url=url) as client:
        for _ in range(3):
            client.post("/predict", json={"features": ROW})
        client.post("/predict", content=b"{")
        application.state.server.logger("1.0.0").flush()
        text = client.get("/metrics").text
    assert 'modelops_serve_requests_total{endpoint="predict",status="200"} 3.0' in text
    assert 'modelops_serve_requests_total{endpoint="predict",status="400"} 1.0' in text
    assert 'modelops_serve_predictions_total{model="fraud",route="",version="1.0.0"} 3.0' \
        in text
    assert "modelops_serve_request_seconds_bucket" in text
    assert 'modelops_serve_version_info{model="fraud",role="champion",version="1.0.0"} 1.0' \
        in text
    assert "modelops_predictions_total" in text   # modelops-prometheus's, beside


def test_a_failed_log_never_fails_the_request_and_is_counted(store):
    application = app(store, "fraud")
    server = application.state.server
    server.logger("1.0.0").close()      # every log() now raises
    with serving(application) as url:
        response = httpx.post(f"{url}/predict", json={"features": ROW})
        text = httpx.get(f"{url}/metrics").text
    assert response.status_code == 200 and response.json()["logged"] == "failed"
    assert response.json()["id"]
    assert 'modelops_serve_log_failures_total{model="fraud"} 1.0' in text


def test_the_app_mounts_into_another_starlette_app(store):
    api = app(store, "fraud")
    outer = Starlette(routes=[Mount("/models/fraud", app=api)])
    with serving(outer) as url:
        response = httpx.post(f"{url}/models/fraud/predict", json={"features": ROW})
        ready = httpx.get(f"{url}/models/fraud/ready")
    api.state.server.close()
    assert response.status_code == 200 and ready.status_code == 200


def test_unknown_columns_can_be_ignored(store):
    with serving(app(store, "fraud", unknown="ignore")) as url:
        response = httpx.post(f"{url}/predict", json={"features": {**ROW, "colour": "red"}})
    assert response.status_code == 200


def test_a_version_without_a_signature_is_served_by_its_columns(tmp_path):
    ops = modelops.connect(tmp_path / "plain")
    x, y = frame()
    from serve_support import pipeline

    version = ops.registry.register("fraud", pipeline().fit(x, y))
    ops.registry.promote("fraud", version.version, stage="production")
    with serving(app(ops, "fraud")) as url:
        good = httpx.post(f"{url}/predict", json={"features": ROW})
        lacking = httpx.post(f"{url}/predict", json={"features": {"amount": 1.0}})
    assert good.status_code == 200
    assert lacking.status_code == 422 and "country" in lacking.json()["error"]


def test_durable_mode_stores_before_answering(store):
    application = app(store, "fraud", durable=True)
    with serving(application) as url:
        response = httpx.post(f"{url}/predict", json={"features": ROW}).json()
        # Read at once, with the logger untouched: the response said it is stored.
        table = modelops.connect(store.uri).predictions.read("fraud")
    assert response["logged"] == "stored"
    assert response["id"] in table.ids.tolist()


def test_bad_options_are_refused(store):
    with pytest.raises(modelops.InvalidInput, match="unknown"):
        app(store, "fraud", unknown="maybe")
    with pytest.raises(modelops.InvalidInput, match="max_body_bytes"):
        app(store, "fraud", max_body_bytes=0)
    with pytest.raises(modelops.NotFound):
        app(store, "fraud", "staging")
    register(store, stage=None)
    with pytest.raises(modelops.InvalidInput, match="both version"):
        app(store, "fraud", challenger="1.0.0")


def test_without_logging_the_response_says_off_and_nothing_is_logged(store):
    application = app(store, "fraud", log_predictions=False)
    with serving(application) as url:
        response = httpx.post(f"{url}/predict", json={"features": ROW}).json()
    assert response["logged"] == "off" and response["id"]
    assert len(store.predictions.read("fraud")) == 0


def test_the_command_refuses_a_model_it_cannot_serve_in_one_line(store, capsys):
    from modelops.cli import main

    assert main(["--uri", store.uri, "serve", "models:/nope@production"]) == 1
    err = capsys.readouterr().err
    assert "nope" in err and "Traceback" not in err


@pytest.mark.parametrize("port", ["-1", "65536", "99999"])
def test_the_command_refuses_a_port_out_of_range_before_serving(store, capsys, port):
    """uvicorn took --port 99999 as 34463 (modulo 65536) while the command named 99999."""
    from modelops.cli import main

    assert main(["--uri", store.uri, "serve", "models:/fraud@production", "--port",
                 port]) == 1
    err = capsys.readouterr().err
    assert f"--port: expected a port from 0 to 65535, got {port}" in err, err


def test_a_model_of_float_columns_is_served_by_its_array_twin_with_the_same_answers(tmp_path):
    ops = modelops.connect(str(tmp_path / "store"))
    x, y = frame(300)
    numbers = x[["amount"]].assign(ratio=x["amount"] / x["items"])
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(numbers, y)
    version = ops.registry.register("floats", model, input_example=numbers.head(3))
    ops.registry.promote("floats", version.version, stage="production")
    application = app(ops, "floats")
    champion = application.state.server.deployment.lineup.champion
    assert champion.twin is not None and champion.twin.columns == ("amount", "ratio")
    fresh = numbers.sample(50, random_state=1)
    with serving(application) as url, httpx.Client(base_url=url) as client:
        batch = client.post("/predict", json=fresh.to_dict(orient="records")).json()
        one = client.post("/predict", json={"features": {"ratio": 3.5, "amount": 61.0}}).json()
        bad = client.post("/predict", json={"features": {"amount": 61.0}})
    assert [p["prediction"] for p in batch["predictions"]] == model.predict(fresh).tolist()
    # Equal up to the order BLAS sums in, which follows the frame's memory layout.
    np.testing.assert_allclose([p["probability"] for p in batch["predictions"]],
                               model.predict_proba(fresh)[:, 1], rtol=1e-12)
    alone = pd.DataFrame({"amount": [61.0], "ratio": [3.5]})
    assert one["probability"] == pytest.approx(model.predict_proba(alone)[0, 1], rel=1e-12)
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "ratio"
    ops.close()
