"""The ASGI application: ``app(ops)`` over any store, through the client alone.

Endpoints are plain functions Starlette runs in its thread pool (the client is thread-safe
and its calls block); each reads what one page shows — the runs table reads one page of
``search_runs``, never every run.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

import modelops
from modelops._json import loads
from modelops.entities.plain import to_plain
from modelops.entities.validators import check_key
from modelops.errors import (
    Conflict,
    FilterSyntaxError,
    InvalidInput,
    ModelOpsError,
    NotFound,
    StoreError,
)
from modelops.registry import MetricImprovement
from modelops.uri import hide_password
from modelops_ui import charts, security
from modelops_ui.artifacts import preview_kind, raw_media_type

PAGE_SIZES = (25, 50, 100, 200)
#: Metric histories drawn on a run page, at most (the rest are in the table).
MAX_CHARTS = 24
#: Runs compared at once, at most.
MAX_COMPARE = 20
#: Points of the health-over-time strip of the monitoring page.
HEALTH_POINTS = 12
#: Artifacts bigger than this are offered for download, not previewed.
MAX_PREVIEW_BYTES = 1_000_000
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def app(ops: modelops.Client, *, allow_actions: bool = False,
        trusted_user_header: str | None = None) -> Starlette:
    """The web UI of ``ops`` as an ASGI application, for ``uvicorn`` or mounting in another
    Starlette/FastAPI app.

    :param ops: a client from ``modelops.connect``; any backend.
    :param allow_actions: offer promote, rollback, archive and set-alias (each behind a
        confirmation page and a CSRF token); off by default, the UI only reads.
    :param trusted_user_header: a request header naming the user (``X-Forwarded-User``) set
        by a trusted proxy in front of the UI; actions are recorded with it as actor. Without
        it, the operating-system user running the UI is the actor.
    """
    ui = _UI(ops, allow_actions, trusted_user_header)
    routes = [
        Route("/", ui.home),
        Route("/experiments", ui.experiments),
        Route("/experiments/{experiment_id}", ui.runs),
        Route("/runs/{run_id}", ui.run),
        Route("/runs/{run_id}/artifact", ui.artifact),
        Route("/runs/{run_id}/raw", ui.raw),
        Route("/compare", ui.compare),
        Route("/models", ui.models),
        Route("/models/{name}", ui.model),
        Route("/models/{name}/versions/{version}", ui.version),
        Route("/models/{name}/monitoring", ui.monitoring),
        Route("/models/{name}/confirm", ui.confirm),
        Route("/models/{name}/actions", ui.act, methods=["POST"]),
        Route("/drift", ui.drift_names),
        Route("/drift/{name}", ui.drift_reports),
        Route("/drift/{name}/{report_id}", ui.drift_report),
        Mount("/static", StaticFiles(packages=[("modelops_ui", "static")]), name="static"),
    ]
    application = Starlette(routes=routes, exception_handlers={
        ModelOpsError: ui.error_page, 404: ui.not_found})
    return _Headers(application)


class _Headers:
    """ASGI middleware: the security headers on every response that has none of its own."""

    def __init__(self, inner: Starlette) -> None:
        self.inner = inner

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k.encode(), v.encode()) for k, v in security.HEADERS.items()
                    if k.encode() not in present]
            await send(message)

        await self.inner(scope, receive, send_with_headers)


def _order_key(column: str) -> str:
    """A column as an ``order_by`` key: ``metrics.f1``, or backquoted when not plain."""
    kind, _, key = column.partition(".")
    if not key:
        return column
    return column if _PLAIN_KEY.match(key) else f"{kind}.`{key}`"


def _duration(start: int | None, end: int | None) -> str:
    if not start or not end or end < start:
        return ""
    seconds = (end - start) / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _num(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:.6g}"
    return str(value)


def _time(ms: Any, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    from datetime import datetime, timezone

    if not isinstance(ms, (int, float)) or isinstance(ms, bool) or ms <= 0:
        return ""
    try:
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime(fmt)
    except (OverflowError, OSError, ValueError):
        return str(ms)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("modelops_ui", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=_num, time=_time, minute=lambda ms: _time(ms, "%Y-%m-%d %H:%M"))
    env.globals.update(urlencode=lambda **q: urlencode(
        {k: v for k, v in q.items() if v not in (None, "")}, doseq=True))
    return env


class _UI:
    def __init__(self, ops: modelops.Client, allow_actions: bool,
                 trusted_user_header: str | None) -> None:
        self.ops = ops
        self.allow_actions = allow_actions
        self.trusted_user_header = trusted_user_header
        self.csrf = security.Csrf()
        self.env = _environment()

    # -- plumbing ---------------------------------------------------------------------------

    def render(self, request: Request, template: str, status: int = 200,
               **context: Any) -> HTMLResponse:
        cookie = request.cookies.get(security.CSRF_COOKIE) or security.Csrf.new_cookie()
        page = self.env.get_template(template).render(
            request=request, store=hide_password(self.ops.uri), allow_actions=self.allow_actions,
            csrf_field=security.CSRF_FIELD, csrf_token=self.csrf.token(cookie), **context)
        response = HTMLResponse(page, status_code=status)
        if security.CSRF_COOKIE not in request.cookies:
            response.set_cookie(security.CSRF_COOKIE, cookie, httponly=True, samesite="strict",
                                path="/")
        return response

    def error_page(self, request: Request, exc: Exception) -> HTMLResponse:
        status = 404 if isinstance(exc, NotFound) else 400 if isinstance(exc, InvalidInput) \
            else 409 if isinstance(exc, Conflict) else 500
        return self.render(request, "error.html", status=status, title="Error",
                           error=str(exc), kind=type(exc).__name__)

    def not_found(self, request: Request, exc: Exception) -> HTMLResponse:
        return self.render(request, "error.html", status=404, title="Not found",
                           error=f"no page at {request.url.path}", kind="NotFound")

    def _optional(self, call: Callable[[], Any], default: Any = None) -> Any:
        """What a store may not offer (MLflow keeps no predictions): None instead."""
        try:
            return call()
        except NotFound:
            return default

    # -- tracking ---------------------------------------------------------------------------

    def home(self, request: Request) -> Response:
        return RedirectResponse("/experiments", status_code=302)

    def experiments(self, request: Request) -> Response:
        experiments = self.ops.tracking.list_experiments()
        return self.render(request, "experiments.html", title="Experiments",
                           experiments=experiments)

    def runs(self, request: Request) -> Response:
        experiment_id = security.checked_name(request.path_params["experiment_id"],
                                              "experiment")
        experiment = self.ops.tracking.get_experiment(experiment_id)
        q = request.query_params
        text = q.get("filter", "").strip()
        order = q.get("order", "").strip() or "start_time DESC"
        size = int(q["size"]) if q.get("size", "").isdecimal() else 50
        size = size if size in PAGE_SIZES else 50
        token = q.get("token") or None
        error = caret = None
        page: list[Any] = []
        next_token = None
        try:
            found = self.ops.tracking.search_runs(experiment.experiment_id, filter=text or None,
                                                  order_by=[order], max_results=size,
                                                  page_token=token)
            page, next_token = list(found), found.token
        except FilterSyntaxError as exc:
            error = str(exc).split("\n", 1)[0]
            caret = {"text": exc.text, "position": exc.position,
                     "which": "order" if exc.text == order and exc.text != text else "filter"}
        except InvalidInput as exc:
            error = str(exc)
        available = sorted({f"metrics.{k}" for r in page for k in r.data.latest}) + \
            sorted({f"params.{k}" for r in page for k in r.data.params}) + \
            sorted({f"tags.{k}" for r in page for k in r.data.tags
                    if not k.startswith(("modelops.", "mlflow."))})
        chosen = q.getlist("cols")
        if not chosen:
            chosen = [c for c in available if c.startswith("metrics.")][:6] + \
                [c for c in available if c.startswith("params.")][:4]
        columns = [c for c in chosen if c.partition(".")[0] in ("metrics", "params", "tags")]
        # a chosen column stays offered on a page whose runs lack it
        available += [c for c in columns if c not in available]

        def cell(run: Any, column: str) -> Any:
            kind, _, key = column.partition(".")
            if kind == "metrics":
                point = run.data.latest.get(key)
                return None if point is None else point.value
            return (run.data.params if kind == "params" else run.data.tags).get(key)

        rows = [{"run": r, "cells": [cell(r, c) for c in columns],
                 "duration": _duration(r.info.start_time, r.info.end_time)} for r in page]
        order_key, _, direction = order.rpartition(" ")
        if direction.upper() not in ("ASC", "DESC"):
            order_key, direction = order, "ASC"
        return self.render(
            request, "runs.html", title=experiment.name, experiment=experiment, rows=rows,
            columns=columns, available=available, filter=text, order=order, size=size,
            sizes=PAGE_SIZES, token=token, next_token=next_token, error=error, caret=caret,
            order_key=order_key.strip(), direction=direction.upper(), order_of=_order_key)

    def run(self, request: Request) -> Response:
        run_id = security.checked_name(request.path_params["run_id"], "run")
        tracking = self.ops.tracking
        run = tracking.get_run(run_id)
        x_axis = request.query_params.get("x", "step")
        x_axis = x_axis if x_axis in ("step", "time", "relative") else "step"
        histories = []
        for key in sorted(run.data.latest)[:MAX_CHARTS]:
            series = tracking.get_metric_history(run_id, key)
            if len(series) > 1:
                histories.append((key, charts.line_chart(
                    [(key, *_x_and_y(series, x_axis))], title=key, x_axis=x_axis,
                    y_label=key)))
        path = security.checked_path(request.query_params.get("path"))
        artifacts = self._optional(lambda: tracking.list_artifacts(run_id, path), [])
        children = tracking.search_runs(run.info.experiment_id,
                                        filter=f"parent_run_id = '{run_id}'", max_results=100)
        parent = self._optional(lambda: tracking.get_run(run.info.parent_run_id)) \
            if run.info.parent_run_id else None
        experiment = tracking.get_experiment(run.info.experiment_id)
        inputs, inputs_error = [], None
        try:
            inputs = tracking.list_inputs(run_id)
        except StoreError as exc:   # a damaged record: the rest of the run still shows
            inputs_error = f"Its datasets could not be read: {exc}"
        return self.render(
            request, "run.html", title=run.info.run_name, run=run, experiment=experiment,
            inputs=inputs, inputs_error=inputs_error,
            histories=[(k, Markup(svg)) for k, svg in histories], x_axis=x_axis,
            artifacts=artifacts, path=path, parent_path=_parent(path), children=children,
            parent=parent, versions=self._versions_of(run_id),
            duration=_duration(run.info.start_time, run.info.end_time),
            tags={k: v for k, v in sorted(run.data.tags.items())},
            hidden_metrics=max(0, len(run.data.latest) - MAX_CHARTS))

    def _versions_of(self, run_id: str) -> list[Any]:
        """The model versions registered from a run (the registry's lineage back to it)."""
        registry = self._optional(lambda: self.ops.registry)
        if registry is None:
            return []
        return [v for m in registry.list_models() for v in registry.list_versions(m.name)
                if v.run_id == run_id]

    def artifact(self, request: Request) -> Response:
        run_id = security.checked_name(request.path_params["run_id"], "run")
        path = security.checked_path(request.query_params.get("path"))
        if path is None:
            raise InvalidInput("name an artifact: ?path=…", field="path")
        run = self.ops.tracking.get_run(run_id)
        data, size = self._read_artifact(run_id, path)
        kind = preview_kind(path) if data is not None else "large"
        context: dict[str, Any] = {"text": None, "table": None, "image": False}
        if kind == "image":
            context["image"] = True
        elif kind in ("text", "json", "csv") and data is not None:
            text = data.decode("utf-8", errors="replace")
            if kind == "json":
                with contextlib.suppress(ValueError):
                    text = json.dumps(loads(text), indent=2, ensure_ascii=False)
            if kind == "csv":
                import csv

                delimiter = "\t" if path.lower().endswith(".tsv") else ","
                rows = list(csv.reader(text.splitlines()[:201], delimiter=delimiter))
                context["table"] = rows
            else:
                context["text"] = text
        return self.render(request, "artifact.html", title=path, run=run, path=path,
                           kind=kind, size=size, parent_path=_parent(path), **context)

    def _read_artifact(self, run_id: str, path: str) -> tuple[bytes | None, int]:
        """An artifact's bytes (None when over the preview limit) and its size."""
        parent = _parent(path)
        listing = self.ops.tracking.list_artifacts(run_id, parent)
        info = next((f for f in listing if f.path == path), None)
        if info is None:
            raise NotFound(f"run {run_id} has no artifact {path!r}")
        if info.is_dir:
            raise InvalidInput(f"{path!r} is a folder of artifacts, not a file", field="path")
        size = info.file_size or 0
        if size > MAX_PREVIEW_BYTES:
            return None, size
        return self._bytes(run_id, path), size

    def _bytes(self, run_id: str, path: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="modelops-ui-") as tmp:
            local = self.ops.tracking.download_artifacts(run_id, path, tmp)
            if os.path.isdir(local):
                raise InvalidInput(f"{path!r} is a folder of artifacts, not a file",
                                   field="path")
            with open(local, "rb") as f:
                return f.read()

    def raw(self, request: Request) -> Response:
        """An artifact's bytes: an image (PNG, JPEG, GIF, WebP) with its type for ``<img>``;
        anything else as a download of opaque bytes, never a page (SVG and HTML included)."""
        run_id = security.checked_name(request.path_params["run_id"], "run")
        path = security.checked_path(request.query_params.get("path"))
        if path is None:
            raise InvalidInput("name an artifact: ?path=…", field="path")
        media_type = raw_media_type(path)
        inline = media_type != "application/octet-stream" and \
            request.query_params.get("download") is None
        filename = quote(path.rsplit("/", 1)[-1])
        # streamed from a temporary copy, removed once sent: any size, bounded memory
        tmp = tempfile.mkdtemp(prefix="modelops-ui-")
        try:
            local = self.ops.tracking.download_artifacts(run_id, path, tmp)
            if os.path.isdir(local):
                raise InvalidInput(f"{path!r} is a folder of artifacts, not a file",
                                   field="path")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return FileResponse(local, media_type=media_type, headers={
            "content-disposition": f"{'inline' if inline else 'attachment'}; "
                                   f"filename*=UTF-8''{filename}",
            "content-security-policy": security.ARTIFACT_POLICY},
            background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True))

    def compare(self, request: Request) -> Response:
        ids = [security.checked_name(r, "runs") for r in request.query_params.getlist("runs")]
        if not ids:
            raise InvalidInput("choose runs to compare (tick them in a runs table)",
                               field="runs")
        if len(ids) > MAX_COMPARE:
            raise InvalidInput(f"compare at most {MAX_COMPARE} runs at once", field="runs")
        comparison = self.ops.tracking.compare(list(dict.fromkeys(ids)))
        runs = comparison.runs
        names = [r.info.run_name for r in runs]
        x_axis = request.query_params.get("x", "step")
        x_axis = x_axis if x_axis in ("step", "time", "relative") else "step"
        overlaid = []
        for key in list(comparison.metrics)[:MAX_CHARTS]:
            series = []   # one per run, empty where it lacks the metric: colours match
            for run in runs:
                xs_ys: tuple[list[float], list[float]] = ([], [])
                if key in run.data.latest:
                    history = self.ops.tracking.get_metric_history(run.info.run_id, key)
                    xs_ys = _x_and_y(history, x_axis)
                series.append((run.info.run_name, *xs_ys))
            if any(len(s[1]) > 1 for s in series):
                overlaid.append((key, Markup(charts.line_chart(series, title=key,
                                                               x_axis=x_axis, y_label=key))))
        params, metric_rows = comparison.params, comparison.metrics
        differing = {k for k, v in params.items() if len(set(v)) > 1}
        metric_differing = {k for k, v in metric_rows.items() if len({_num(x) for x in v}) > 1}
        numeric_params = [k for k, values in params.items()
                          if any(_number(v) is not None for v in values)]
        x_param = request.query_params.get("param") or (numeric_params[0] if numeric_params
                                                        else None)
        y_metric = request.query_params.get("metric") or next(iter(metric_rows), None)
        scatter = None
        if x_param in params and y_metric in metric_rows:
            points = [(n, _number(p), m) for n, p, m in zip(names, params[x_param],
                                                              metric_rows[y_metric])
                      if _number(p) is not None and m is not None]
            scatter = Markup(charts.scatter_chart(points, x_label=f"params.{x_param}",
                                                  y_label=f"metrics.{y_metric}"))
        return self.render(
            request, "compare.html", title="Compare runs", runs=runs, ids=ids,
            params=params, differing=differing, metrics=metric_rows,
            metric_differing=metric_differing, overlaid=overlaid, x_axis=x_axis,
            numeric_params=numeric_params, metric_names=list(metric_rows), x_param=x_param,
            y_metric=y_metric, scatter=scatter, colours=charts.COLOURS)

    # -- registry ---------------------------------------------------------------------------

    def models(self, request: Request) -> Response:
        registry = self.ops.registry
        rows = []
        for model in registry.list_models():
            versions = registry.list_versions(model.name)
            rows.append({"model": model, "count": len(versions),
                         "latest": versions[-1] if versions else None,
                         "production": next((v for v in versions
                                             if v.stage.value == "production"), None),
                         "aliases": sorted(a for v in versions for a in v.aliases)})
        return self.render(request, "models.html", title="Models", rows=rows)

    def model(self, request: Request) -> Response:
        name = security.checked_name(request.path_params["name"], "model")
        registry = self.ops.registry
        model = registry.get_model(name)
        versions = list(reversed(registry.list_versions(name)))
        history = list(reversed(registry.history(name)))
        # the metrics every version has first (they compare), at most five columns
        every = set.intersection(*(set(v.metrics) for v in versions)) if versions else set()
        metric_names = (sorted(every) + sorted({k for v in versions for k in v.metrics}
                                               - every))[:5]
        reports = self._optional(lambda: self.ops.drift.reports(name), []) or []
        return self.render(request, "model.html", title=name, model=model, versions=versions,
                           history=history, metric_names=metric_names,
                           reports=list(reversed(reports))[:10],
                           done=request.query_params.get("done"))

    def version(self, request: Request) -> Response:
        name = security.checked_name(request.path_params["name"], "model")
        number = security.checked_name(request.path_params["version"], "version")
        version = self.ops.registry.get_version(name, number)
        run = self._optional(lambda: self.ops.tracking.get_run(version.run_id)) \
            if version.run_id else None
        signature = None if version.signature is None else to_plain(version.signature)
        events = [e for e in reversed(self.ops.registry.history(name))
                  if any(c.version == number for c in e.changes)
                  or (e.decision is not None and e.decision.candidate == number)
                  or e.payload.get("version") == number]
        return self.render(request, "version.html", title=f"{name} {number}",
                           version=version, run=run, signature=signature, events=events,
                           input_example=to_plain(version.input_example),
                           flavor_meta=dict(version.flavor_meta or {}))

    # -- drift ------------------------------------------------------------------------------

    def drift_names(self, request: Request) -> Response:
        names = self._optional(lambda: self.ops.drift.names(), [])
        rows = [{"name": n, "reports": self.ops.drift.reports(n)} for n in names]
        return self.render(request, "drift_names.html", title="Drift", rows=rows)

    def drift_reports(self, request: Request) -> Response:
        name = security.checked_name(request.path_params["name"], "name")
        reports = self.ops.drift.reports(name)
        chart = None
        if len(reports) > 1:
            times = [r.created_time for r in reports]
            chart = Markup(charts.line_chart(
                [("drifted share", times, [r.share for r in reports]),
                 ("threshold", times, [r.drift_share for r in reports])],
                title="Share of drifted columns per report", x_axis="time",
                y_label="drifted share"))
        return self.render(request, "drift_reports.html", title=f"Drift: {name}", name=name,
                           reports=list(reversed(reports)), chart=chart,
                           is_model=self._optional(
                               lambda: self.ops.registry.get_model(name)) is not None)

    def drift_report(self, request: Request) -> Response:
        """A stored report as the report modelops draws (its own page, every value
        escaped by the report)."""
        from modelops.drift.report import report_to_html

        name = security.checked_name(request.path_params["name"], "name")
        report_id = security.checked_name(request.path_params["report_id"], "report")
        report = self.ops.drift.report(name, report_id)
        return self.render(request, "drift_report.html", title=f"Drift report: {name}",
                           name=name, report=report,
                           body=Markup(report_to_html(report, standalone=False)))

    # -- monitoring -------------------------------------------------------------------------

    def monitoring(self, request: Request) -> Response:
        name = security.checked_name(request.path_params["name"], "model")
        q = request.query_params
        window, trend = q.get("window", "24h"), q.get("trend", "1h")
        registry = self.ops.registry
        versions = registry.list_versions(name)
        live = [v for v in reversed(versions) if v.stage.value in ("production", "staging")]
        chosen = q.get("version")
        if chosen:
            chosen = security.checked_name(chosen, "version")
        elif live:
            chosen = live[0].version
        summaries, report, note, over_time = [], None, None, []
        ab, ab_note = None, None
        try:
            for v in live:
                health = self.ops.monitor(name, v.version).health(window, alert=False)
                summaries.append({"version": v, "health": health})
            if {"production", "staging"} <= {v.stage.value for v in live}:
                ab, ab_note = self._champion_against_challenger(name, window, q.get("metric"))
            monitor = self.ops.monitor(name, chosen)
            report = monitor.report(window, trend_window=trend)
            if q.get("history"):
                over_time = self._health_over_time(name, chosen, window, trend, monitor.now())
        except (NotFound, InvalidInput) as exc:
            note = str(exc)
        return self.render(
            request, "monitoring.html", title=f"Monitoring: {name}", name=name,
            versions=list(reversed(versions)), chosen=chosen, window=window, trend=trend,
            summaries=summaries, note=note, over_time=over_time, ab=ab, ab_note=ab_note,
            body=Markup(report.to_html(standalone=False)) if report is not None else None)

    def _champion_against_challenger(self, name: str, window: str,
                                     metric: str | None) -> tuple[Any, str | None]:
        """The router's test of the staging version against production on the window's
        predictions with feedback (``Router.evaluate``), or why there is none."""
        if metric is None:
            task = self.ops.monitor(name).task
            metric = "mae" if task == "regression" else "accuracy"
        else:
            metric = check_key(metric, "metric")
        try:
            found = self.ops.router(name).evaluate(metric, window=window)
        except (NotFound, InvalidInput, Conflict) as exc:
            return None, str(exc)
        if not (found.n_champion and found.n_challenger):
            return None, found.message               # nothing routed with feedback yet
        return found, None

    def _health_over_time(self, name: str, version: str | None, window: str, every: str,
                          now: int) -> list[dict[str, Any]]:
        """The health as it was at the end of each of the last ``HEALTH_POINTS`` steps of
        ``every``, each judged on the ``window`` before it (one read of a window each: asked
        for with ``?history=1``)."""
        from modelops.monitoring.windows import parse_window

        step = parse_window(every, "trend")
        points = []
        for k in range(HEALTH_POINTS):
            at = now - k * step
            health = self.ops.monitor(name, version, now=at).health(window, alert=False)
            points.append({"at": at, "health": health})
        return points

    # -- actions ----------------------------------------------------------------------------

    def _action_form(self, name: str, form: Any) -> dict[str, str]:
        action = form.get("action", "")
        if action not in _ACTIONS:
            raise InvalidInput(f"unknown action {action!r}; one of {', '.join(_ACTIONS)}",
                               field="action")
        fields = {"action": action}
        for field in ("version", "target", "reason", "improve"):
            value = form.get(field)
            value = value.strip() if isinstance(value, str) else ""   # a file is no answer
            if value:
                fields[field] = value if field == "reason" else \
                    check_key(value, field) if field == "improve" else \
                    security.checked_name(value, field)
        if action != "rollback" and "version" not in fields:
            raise InvalidInput("name a version", field="version")
        if action in ("set_alias",) and "target" not in fields:
            raise InvalidInput("name an alias", field="target")
        return fields

    def confirm(self, request: Request) -> Response:
        if not self.allow_actions:
            return self._actions_off(request)
        name = security.checked_name(request.path_params["name"], "model")
        self.ops.registry.get_model(name)
        fields = self._action_form(name, request.query_params)
        user = security.request_user(request.headers, self.trusted_user_header)
        metrics: list[str] = []
        if fields["action"] == "promote":
            metrics = sorted(self.ops.registry.get_version(name, fields["version"]).metrics)
        return self.render(request, "confirm.html", title="Confirm", name=name, fields=fields,
                           sentence=_sentence(name, fields), user=user, metrics=metrics)

    async def act(self, request: Request) -> Response:
        if not self.allow_actions:
            return self._actions_off(request)
        form = await request.form()
        cookie = request.cookies.get(security.CSRF_COOKIE)
        if not self.csrf.valid(cookie, str(form.get(security.CSRF_FIELD) or "")):
            return self.render(request, "error.html", status=403, title="Refused",
                               kind="Forbidden", error="the form's token does not match "
                               "this browser's: reload the page and try again")
        if form.get("confirm") != "yes":
            raise InvalidInput("the action was not confirmed", field="confirm")
        name = security.checked_name(request.path_params["name"], "model")
        fields = self._action_form(name, form)
        user = security.request_user(request.headers, self.trusted_user_header)
        from starlette.concurrency import run_in_threadpool

        event = await run_in_threadpool(self._do, name, fields, user)
        return RedirectResponse(f"/models/{name}?{urlencode({'done': event.seq})}",
                                status_code=303)

    def _do(self, name: str, fields: dict[str, str], user: str) -> Any:
        registry = self.ops.registry
        reason = fields.get("reason") or f"from modelops ui by {user}"
        with modelops.acting_as(user):
            action = fields["action"]
            if action == "promote":
                # the registry's rule, when asked: refused unless the metric beats the
                # current holder's (a refusal is recorded in the history and shown)
                policy = MetricImprovement(fields["improve"]) if "improve" in fields else None
                return registry.promote(name, fields["version"],
                                        fields.get("target") or "production", reason=reason,
                                        policy=policy)
            if action == "archive":
                return registry.promote(name, fields["version"], "archived", reason=reason)
            if action == "set_alias":
                return registry.promote(name, fields["version"], alias=fields["target"],
                                        reason=reason)
            target = fields.get("target") or "production"
            if target in {s.value for s in modelops.Stage}:
                return registry.rollback(name, target, reason=reason)
            return registry.rollback(name, alias=target, reason=reason)

    def _actions_off(self, request: Request) -> Response:
        return self.render(request, "error.html", status=403, title="Actions are off",
                           kind="Forbidden", error="this UI only reads: start it with "
                           "'modelops ui --allow-actions' to promote, roll back, archive "
                           "or set aliases")


_ACTIONS = ("promote", "rollback", "archive", "set_alias")


def _sentence(name: str, fields: dict[str, str]) -> str:
    action, version = fields["action"], fields.get("version")
    if action == "promote":
        return f"Promote {name} {version} to {fields.get('target') or 'production'}"
    if action == "archive":
        return f"Archive {name} {version}"
    if action == "set_alias":
        return f"Give {name} {version} the alias {fields['target']}"
    return f"Roll {name}'s {fields.get('target') or 'production'} back to the version " \
        "that held it before"


def _parent(path: str | None) -> str | None:
    if not path or "/" not in path:
        return None
    return path.rsplit("/", 1)[0]


def _number(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _x_and_y(series: Any, x_axis: str) -> tuple[list[float], list[float]]:
    if x_axis == "step":
        xs = [float(s) for s in series.steps]
    else:
        times = [float(t) for t in series.timestamps]
        first = min(times) if times else 0.0
        xs = times if x_axis == "time" else [t - first for t in times]
    return xs, [float(v) for v in series.values]
