"""The UI's pages and safety through Starlette's test client (no browser): paging through a
large search, escaping, artifact previews that never render stored markup, names checked like
the API's, security headers, and actions — off by default, confirmed, CSRF-protected, through
the registry's rules, recorded with the user as actor."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest
from ui_support import XSS, free_port

import modelops

httpx = pytest.importorskip("httpx2")
from modelops_ui import app  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402


@pytest.fixture()
def ops(tmp_path):  # type: ignore[no-untyped-def]
    client = modelops.connect(str(tmp_path / "store"))
    yield client
    client.close()


def _experiment_url(client: TestClient, name: str) -> str:
    page = client.get("/experiments").text
    found = re.search(r'href="(/experiments/[^"]+)">' + re.escape(name) + "<", page)
    assert found, page
    return found.group(1)


def test_the_runs_table_pages_through_the_search(ops) -> None:  # type: ignore[no-untyped-def]
    with ops.tracking.start_run(experiment="many", name="seed"):
        pass
    for i in range(120):
        with ops.tracking.start_run(experiment="many", name=f"run-{i:03d}") as run:
            run.log_metric("score", i / 100)
            run.log_param("depth", i % 7)
    client = TestClient(app(ops))
    url = _experiment_url(client, "many")
    first = client.get(url, params={"filter": "metrics.score >= 0", "order": "metrics.score DESC",
                                    "size": "50"})
    names = re.findall(r'<td class="name"><a href="/runs/\w+">([^<]+)</a>', first.text)
    assert names[:2] == ["run-119", "run-118"] and len(names) == 50
    seen = list(names)
    page = first
    while (token := re.search(r'id="next-page" href="\?([^"]+)"', page.text)) is not None:
        page = client.get(url + "?" + token.group(1).replace("&amp;", "&"))
        seen += re.findall(r'<td class="name"><a href="/runs/\w+">([^<]+)</a>', page.text)
    assert seen == [f"run-{i:03d}" for i in range(119, -1, -1)]      # every run once, in order
    # the chosen columns are the ones shown
    only = client.get(url, params=[("cols", "params.depth")]).text
    assert "params.depth" in only and "metrics.score</a>" not in only


def test_a_filter_error_names_the_place(ops) -> None:  # type: ignore[no-untyped-def]
    ops.tracking.create_experiment("e")
    client = TestClient(app(ops))
    page = client.get(_experiment_url(client, "e"), params={"filter": "metrics.f1 >> 1"})
    assert page.status_code == 200
    caret = re.search(r'<pre class="caret">(.*?)</pre>', page.text, re.S).group(1)
    text, marker = caret.split("\n")
    assert text == "metrics.f1 &gt;&gt; 1" and marker == " " * 11 + "^"
    bad_order = client.get(_experiment_url(client, "e"), params={"order": "metrics.f1 SIDEWAYS"})
    assert "Bad order" in bad_order.text


def test_every_logged_value_is_escaped(ops) -> None:  # type: ignore[no-untyped-def]
    name = XSS.replace("/", "")[:150]
    with ops.tracking.start_run(experiment="x" + name[:30], name=name) as run:
        run.log_param("p<b>", XSS)
        run.set_tag("t\"'<", XSS)
        run.log_metric("m<i>", 0.5, step=0)
        run.log_metric("m<i>", 0.7, step=1)
        run.log_text(XSS, "a<b>.txt")
    ops.registry.register(name[:60].replace("'", "").replace('"', "").replace("&", "")
                          .replace(" ", "-"), {"w": 1}, run=run.run_id, flavor="joblib")
    client = TestClient(app(ops))
    pages = [client.get("/experiments"), client.get(f"/runs/{run.run_id}"),
             client.get(f"/runs/{run.run_id}/artifact", params={"path": "a<b>.txt"}),
             client.get("/compare", params={"runs": run.run_id}), client.get("/models")]
    runs_url = _experiment_url(client, "x" + name[:30].replace("&", "&amp;").replace("<", "&lt;")
                               .replace(">", "&gt;").replace('"', "&#34;").replace("'", "&#39;"))
    pages.append(client.get(runs_url))
    for page in pages:
        assert page.status_code == 200, page.text
        assert "<script>" not in page.text and "<img src=x" not in page.text
        assert "<b>" not in page.text and "<i>" not in page.text
    assert "&lt;script&gt;alert(" in pages[1].text and "ünï 字" in pages[1].text


def test_artifacts_never_render_as_pages(ops, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
    with ops.tracking.start_run(experiment="a", name="r") as run:
        run.log_text("<html><script>alert(1)</script></html>", "page.html")
        run.log_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                     "chart.svg")
        run.log_text("a,b\n1,<i>2</i>\n", "table.csv")
        run.log_dict({"k": "<v>"}, "d.json")
    (tmp_path / "pic.png").write_bytes(png)
    with ops.tracking.start_run(run_id=run.run_id) as again:
        again.log_artifact(tmp_path / "pic.png")
    client = TestClient(app(ops))
    raw = f"/runs/{run.run_id}/raw"
    for name in ("page.html", "chart.svg", "table.csv", "d.json"):
        got = client.get(raw, params={"path": name})
        assert got.headers["content-type"] == "application/octet-stream"
        assert got.headers["content-disposition"].startswith("attachment")
        assert "sandbox" in got.headers["content-security-policy"]
        assert got.headers["x-content-type-options"] == "nosniff"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    image = client.get(raw, params={"path": "pic.png"})
    assert image.headers["content-type"] == "image/png" and image.content == png
    assert list(scratch.iterdir()) == []            # the streamed copy is gone once sent
    assert image.headers["content-disposition"].startswith("inline")
    preview = client.get(f"/runs/{run.run_id}/artifact", params={"path": "chart.svg"}).text
    assert "&lt;svg" in preview and "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>" \
        not in preview
    table = client.get(f"/runs/{run.run_id}/artifact", params={"path": "table.csv"}).text
    assert "<td>&lt;i&gt;2&lt;/i&gt;</td>" in table
    image_page = client.get(f"/runs/{run.run_id}/artifact", params={"path": "pic.png"}).text
    assert f'<img class="preview" src="/runs/{run.run_id}/raw?path=pic.png"' in image_page


def test_a_json_artifact_nested_too_deeply_to_parse_previews_as_text(ops) -> None:  # type: ignore[no-untyped-def]
    deep = "[" * 100_000 + "]" * 100_000
    with ops.tracking.start_run(experiment="a", name="r") as run:
        run.log_text(deep, "deep.json")
    page = TestClient(app(ops)).get(f"/runs/{run.run_id}/artifact", params={"path": "deep.json"})
    assert page.status_code == 200 and "[[[[" in page.text


@pytest.mark.parametrize("url", [
    "/runs/..%2F..%2Fetc", "/runs/a%5Cb", "/models/~x", "/models/a%00b",
    "/drift/%2E%2E", "/runs/abc/artifact?path=../../secret", "/runs/abc/raw?path=a//b",
    "/runs/abc/artifact?path=a/./b",
])
def test_names_in_urls_are_checked_like_the_apis(ops, url: str) -> None:  # type: ignore[no-untyped-def]
    got = TestClient(app(ops), raise_server_exceptions=False).get(url)
    assert got.status_code in (400, 404), (url, got.status_code)
    assert "content-security-policy" in got.headers


def test_every_page_carries_the_security_headers(ops) -> None:  # type: ignore[no-untyped-def]
    ops.tracking.create_experiment("e")
    client = TestClient(app(ops))
    for url in ("/experiments", "/models", "/drift", "/static/ui.css", "/nowhere"):
        got = client.get(url)
        policy = got.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, url
        assert got.headers["x-content-type-options"] == "nosniff"
    # no inline script anywhere: the only script is the package's file
    page = client.get("/experiments").text
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/ui.js" defer>']


def _registered(ops) -> None:  # type: ignore[no-untyped-def]
    for v in ("1.0.0", "1.1.0"):
        ops.registry.register("fraud", {"v": v}, version=v, flavor="joblib",
                              metrics={"f1": 0.8 if v == "1.0.0" else 0.9})
    ops.registry.promote("fraud", "1.0.0", reason="first")


def _confirm_form(client: TestClient, **query: str) -> dict[str, str]:
    page = client.get("/models/fraud/confirm", params=query)
    assert page.status_code == 200, page.text
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))


def test_actions_are_off_by_default(ops) -> None:  # type: ignore[no-untyped-def]
    _registered(ops)
    client = TestClient(app(ops))
    assert "confirm?" not in client.get("/models/fraud").text
    assert client.get("/models/fraud/confirm", params={"action": "archive",
                                                       "version": "1.1.0"}).status_code == 403
    refused = client.post("/models/fraud/actions", data={"action": "archive",
                                                         "version": "1.1.0", "confirm": "yes"})
    assert refused.status_code == 403
    assert ops.registry.get_version("fraud", "1.1.0").stage.value == "development"


def test_an_action_needs_the_token_and_the_confirmation(ops) -> None:  # type: ignore[no-untyped-def]
    _registered(ops)
    client = TestClient(app(ops, allow_actions=True))
    form = _confirm_form(client, action="promote", version="1.1.0", target="production")
    # no token, a forged token, a token of another browser: refused, nothing changes
    for data, cookies in ((dict(form, csrf_token=""), None),
                          (dict(form, csrf_token="0" * 64), None),
                          (form, {"modelops_ui_csrf": "someone-else"})):
        other = TestClient(app(ops, allow_actions=True)) if cookies else client
        if cookies:
            other.cookies.update(cookies)
        got = other.post("/models/fraud/actions", data=dict(data, confirm="yes"))
        assert got.status_code == 403
    # a restarted UI (another secret) refuses the old form
    restarted = TestClient(app(ops, allow_actions=True))
    restarted.cookies.update(client.cookies)
    assert restarted.post("/models/fraud/actions",
                          data=dict(form, confirm="yes")).status_code == 403
    assert client.post("/models/fraud/actions", data=form).status_code == 400   # unconfirmed
    assert ops.registry.get_version("fraud", "1.1.0").stage.value == "development"
    done = client.post("/models/fraud/actions", data=dict(form, confirm="yes"),
                       follow_redirects=False)
    assert done.status_code == 303
    assert ops.registry.get_version("fraud", "1.1.0").stage.value == "production"
    event = ops.registry.history("fraud")[-1]
    assert event.action == "promote"
    import getpass

    assert event.actor == getpass.getuser()


def test_actions_go_through_the_registrys_rules_as_the_proxys_user(ops) -> None:  # type: ignore[no-untyped-def]
    _registered(ops)
    client = TestClient(app(ops, allow_actions=True, trusted_user_header="X-Forwarded-User"),
                        raise_server_exceptions=False)
    headers = {"X-Forwarded-User": "alice@example.com"}
    form = _confirm_form(client, action="set_alias", version="1.1.0", target="champion")
    assert client.post("/models/fraud/actions", data=dict(form, confirm="yes"),
                       headers=headers).status_code == 200          # redirected to the model
    event = ops.registry.history("fraud")[-1]
    assert (event.action, event.actor) == ("set_alias", "alice@example.com")
    assert "champion" in ops.registry.get_version("fraud", "1.1.0").aliases
    # a promotion under the rule "f1 must beat production's": 1.2.0 is worse, refused,
    # the refusal recorded with its reason and shown
    ops.registry.register("fraud", {"v": 3}, version="1.2.0", flavor="joblib",
                          metrics={"f1": 0.5})
    form = _confirm_form(client, action="promote", version="1.2.0", target="production")
    refused = client.post("/models/fraud/actions", headers=headers,
                          data=dict(form, confirm="yes", improve="f1"))
    assert refused.status_code == 409 and "refused" in refused.text
    event = ops.registry.history("fraud")[-1]
    assert (event.action, event.actor) == ("refused", "alice@example.com")
    assert ops.registry.get_version("fraud", "1.0.0").stage.value == "production"
    assert "refused" in client.get("/models/fraud").text
    # 1.1.0 beats it: promoted; then rolled back to 1.0.0
    form = _confirm_form(client, action="promote", version="1.1.0", target="production")
    client.post("/models/fraud/actions", headers=headers,
                data=dict(form, confirm="yes", improve="f1"))
    assert ops.registry.get_version("fraud", "1.1.0").stage.value == "production"
    form = _confirm_form(client, action="rollback", target="production")
    client.post("/models/fraud/actions", data=dict(form, confirm="yes"), headers=headers)
    assert ops.registry.get_version("fraud", "1.0.0").stage.value == "production"
    assert [e.action for e in ops.registry.history("fraud")[-2:]] == ["promote", "rollback"]
    form = _confirm_form(client, action="archive", version="1.2.0")
    client.post("/models/fraud/actions", data=dict(form, confirm="yes"), headers=headers)
    assert ops.registry.get_version("fraud", "1.2.0").stage.value == "archived"


@pytest.mark.parametrize("port", ["-1", "65536", "99999"])
def test_the_command_refuses_a_port_out_of_range(tmp_path, capsys, port) -> None:  # type: ignore[no-untyped-def]
    """uvicorn took --port 99999 as 34463 (modulo 65536) while the command named 99999."""
    from modelops.cli import main

    modelops.connect(str(tmp_path / "store")).tracking.create_experiment("e")
    assert main(["ui", "--uri", str(tmp_path / "store"), "--port", port]) == 1
    err = capsys.readouterr().err
    assert f"--port: expected a port from 0 to 65535, got {port}" in err, err


@pytest.mark.slow
def test_the_command_binds_loopback_and_warns_otherwise(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = tmp_path / "store"
    modelops.connect(str(store)).tracking.create_experiment("visible")
    for host, warns in (("127.0.0.1", False), ("0.0.0.0", True)):
        port = free_port()
        command = "import sys; from modelops.cli import main; sys.exit(main())"
        process = subprocess.Popen([sys.executable, "-c", command, "ui", "--uri", str(store),
                                    "--host", host, "--port", str(port)],
                                   stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/experiments",
                                                timeout=2) as response:
                        assert b"visible" in response.read()
                    break
                except OSError:
                    assert time.monotonic() < deadline and process.poll() is None
                    time.sleep(0.1)
        finally:
            process.terminate()
            _, err = process.communicate(timeout=20)
        assert ("warning: listening on 0.0.0.0" in err) is warns, err


def test_connect_does_not_load_the_web_stack() -> None:
    """modelops loads the plugin (its CLI command) with every plugin: Starlette, Jinja2 and
    uvicorn wait for the UI itself."""
    code = ("import sys, modelops; modelops.connect('memory://').tracking.list_experiments(); "
            "from modelops import plugins; assert plugins.plugin_manager().get_plugin('ui'); "
            "print(','.join(m for m in ('starlette', 'jinja2', 'uvicorn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


@pytest.mark.slow
def test_the_pages_over_an_mlflow_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Through the client alone, so MLflow's store serves every page (it keeps no
    predictions: the monitoring page says so)."""
    pytest.importorskip("modelops_mlflow")
    pytest.importorskip("mlflow")
    ops = modelops.connect(f"mlflow+sqlite:///{tmp_path / 'mlflow.db'}")
    with ops.tracking.start_run(experiment="on-mlflow", name="rf <1>") as run:
        run.log_param("depth", 3)
        for step in range(5):
            run.log_metric("loss", 1 / (step + 1), step=step)
        run.log_text("hello", "notes.txt")
    ops.registry.register("churn", {"w": 1}, run=run.run_id, flavor="joblib",
                          metrics={"f1": 0.9})
    client = TestClient(app(ops))
    runs_page = client.get(_experiment_url(client, "on-mlflow"))
    assert "rf &lt;1&gt;" in runs_page.text
    run_page = client.get(f"/runs/{run.run_id}").text
    assert "<svg" in run_page and "notes.txt" in run_page and "churn 1.0.0" in run_page
    assert "hello" in client.get(f"/runs/{run.run_id}/artifact",
                                 params={"path": "notes.txt"}).text
    assert "1.0.0" in client.get("/models/churn").text
    monitoring = client.get("/models/churn/monitoring")
    assert monitoring.status_code == 200
    assert client.get("/drift").status_code == 200
    ops.close()


def test_a_version_page_shows_its_signature_and_input_example(ops) -> None:  # type: ignore[no-untyped-def]
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"amount": [12.5, 80.0, 3.0], "city<x>": ["paris", "oslo", XSS]})
    ops.registry.register("fraud", {"w": 1}, flavor="joblib", input_example=frame)
    ops.registry.register("plain", {"w": 1}, flavor="joblib")
    client = TestClient(app(ops))
    page = client.get("/models/fraud/versions/1.0.0")
    assert page.status_code == 200, page.text
    assert "<td>amount</td><td>float</td><td>no</td>" in page.text
    assert "city&lt;x&gt;" in page.text and "<script>" not in page.text
    assert "Input example" in page.text and "80.0" in page.text
    assert "No signature recorded." in client.get("/models/plain/versions/1.0.0").text


def test_the_monitoring_page_shows_the_routers_test_of_the_challenger(ops) -> None:  # type: ignore[no-untyped-def]
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] > 0).astype(int)
    ops.registry.register("fraud", LogisticRegression().fit(X, y))
    ops.registry.promote("fraud", "1.0.0")
    client = TestClient(app(ops))
    assert 'id="ab-test"' not in client.get("/models/fraud/monitoring").text   # no challenger
    ops.registry.register("fraud", LogisticRegression().fit(X[:, ::-1], y))   # a worse one
    ops.registry.promote("fraud", "1.0.1", stage="staging")
    page = client.get("/models/fraud/monitoring").text
    assert 'id="ab-note"' in page and "not enough feedback" in page
    with ops.router("fraud", share=0.5) as router:
        for i in range(600):
            served = router.predict(f"k{i}", {"a": X[i % 300, 0], "b": X[i % 300, 1]})
            router.feedback(served.id, int(y[i % 300]))
    page = client.get("/models/fraud/monitoring").text
    table = page.split('id="ab-test"')[1].split("</table>")[0]
    assert "<td>accuracy</td>" in table and "1.0.0" in page and "1.0.1" in page
    assert 'class="verdict worse"' in table       # the challenger was fitted on swapped columns


def test_version_and_run_pages_show_datasets_and_a_damaged_record(ops) -> None:  # type: ignore[no-untyped-def]
    frame = {"amount": [12.5, 80.0, 3.0], "city": ["paris", "oslo", XSS]}
    with ops.tracking.start_run() as run:
        run.log_input(frame, name="train<x>", source=XSS)
        ops.registry.register("fraud", {"w": 1}, flavor="joblib", run=run)
    client = TestClient(app(ops))
    page = client.get("/models/fraud/versions/1.0.0").text
    assert "train&lt;x&gt;" in page and "<script>" not in page and "Trained on" in page
    assert '<table class="grid" id="requirements">' in page and "<td>joblib</td>" in page
    assert 'id="datasets"' in page
    ops.registry.register("plain", {"w": 1}, flavor="joblib")
    assert "No datasets recorded" in client.get("/models/plain/versions/1.0.0").text
    run_page = client.get(f"/runs/{run.run_id}").text
    assert "amount, city" in run_page and "<script>" not in run_page
    ops.tracking.store.write_artifact(run.run_id, b"[]",
                                      "modelops-datasets/train<x>/dataset.json")
    damaged = client.get(f"/runs/{run.run_id}")
    assert damaged.status_code == 200 and "could not be read" in damaged.text


@pytest.mark.parametrize("size", ["²", "٣", "-1", "x"])
def test_a_page_size_that_is_no_number_is_the_default(ops, size) -> None:  # type: ignore[no-untyped-def]
    """``"²".isdigit()`` is true, and ``int("²")`` raised: a 500."""
    with ops.tracking.start_run(experiment="a", name="r"):
        pass
    client = TestClient(app(ops))
    page = client.get(_experiment_url(client, "a"), params={"size": size})
    assert page.status_code == 200
