"""``modelops_serve.app(ops, model="fraud")``: the ASGI application.

Endpoints: ``POST /predict``, ``POST /feedback``, ``GET /health``, ``/ready``, ``/live``,
``/metrics``, ``/version`` and ``/openapi.json``; see ``docs/serving.md``.

A prediction request is read (at most ``max_body_bytes``: else 413), parsed (malformed JSON:
400), shaped into records (``modelops_serve.requests``), checked against the served
version's signature by ``modelops.validation.conform`` — the same checks as
``ops.load_model(uri, enforce_signature=True)`` — (a 422 naming every bad field), predicted
by the model as ``modelops.lifecycle.scoring`` feeds it (its training columns in training
order), and logged through the version's prediction logger. Whatever a client sends, the
worker answers: an unexpected error is a 500 for that request, never a dead process.

Logging never fails a request: the response's ``logged`` says what became of the
predictions — ``queued`` (in the logger's buffer, written within ``flush_every``),
``stored`` (written to the store before the response was sent: ``durable=True``),
``failed`` (counted in ``/metrics`` as ``modelops_serve_log_failures_total``), or ``off``
(``log_predictions=False``). With
``durable=True`` a worker killed at any instant has lost no prediction whose response said
``stored``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelops._ids import new_ids
from modelops._json import loads
from modelops.errors import InvalidInput, ModelOpsError
from modelops.lifecycle.scoring import column_values, model_input, predict_scores
from modelops.predictions.logger import encode
from modelops.validation import UNKNOWN_POLICIES, InputMismatch, conform
from modelops_serve.deployment import Deployment, Served, model_uri
from modelops_serve.metrics import ServeMetrics
from modelops_serve.openapi import openapi
from modelops_serve.requests import BadRequest, feedback_request, predict_request

log = logging.getLogger("modelops.serve")

__all__ = ["ModelServer", "app"]

_JSON = "application/json"


def _response(content: Any, status: int = 200) -> Response:
    try:    # NaN and ±inf as null, as ``encode`` writes them
        body = orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)
    except TypeError:   # what orjson refuses (an integer beyond 64 bits): the plain encoder
        body = encode(content).encode()
    return Response(body, status_code=status, media_type=_JSON)


def _positive_number(value: Any, field: str, integer: bool = False) -> Any:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0 \
            or (not integer and not math.isfinite(value)):
        raise InvalidInput(f"expected a positive {'integer' if integer else 'number'}, got "
                           f"{value!r}", field=field)
    return value


class ModelServer:
    """The state behind one app: the deployment it serves, the prediction loggers of the
    versions it served, its metrics and options. ``app.state.server`` holds it."""

    def __init__(self, ops: Any, model: str, at: str | None = None, *,
                 challenger: str | None = None, share: float = 0.1, salt: str | None = None,
                 poll_interval: float = 5.0, max_body_bytes: int = 1 << 20,
                 unknown: str = "reject", durable: bool = False, flush_timeout: float = 5.0,
                 key_header: str = "x-request-key", key_field: str = "key",
                 health_window: str = "1h", logger_options: Mapping[str, Any] | None = None,
                 log_predictions: bool = True, trusted: bool = True) -> None:
        if not isinstance(unknown, str) or unknown not in UNKNOWN_POLICIES:
            raise InvalidInput(f"expected one of {', '.join(UNKNOWN_POLICIES)}, got "
                               f"{unknown!r}", field="unknown")
        for field, flag in (("durable", durable), ("log_predictions", log_predictions)):
            if not isinstance(flag, bool):
                raise InvalidInput(f"expected True or False, got {flag!r}", field=field)
        self.ops = ops
        self.max_body_bytes = _positive_number(max_body_bytes, "max_body_bytes", True)
        self.flush_timeout = _positive_number(flush_timeout, "flush_timeout")
        self.unknown = unknown
        self.durable = durable
        self.log_predictions = log_predictions
        self.key_header = key_header.lower()
        self.key_field = key_field
        self.health_window = health_window
        self.logger_options = dict(logger_options or {})
        self.deployment = Deployment(ops, model_uri(model, at), challenger=challenger,
                                     share=share, salt=salt, poll_interval=poll_interval,
                                     trusted=trusted)
        self.name = self.deployment.name
        self.metrics = ServeMetrics(self.name)
        self.metrics.serving(self.deployment.lineup)
        self._reloads_seen = 0
        self._loggers: dict[str, Any] = {}
        self._positive = _positive_label(ops, self.name)
        self.ready = True
        log.info("modelops serve: %s serves %s", self.deployment.uri,
                 self.deployment.lineup.champion.version)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start following the registry (also done on the first request, for an app
        mounted where its lifespan does not run)."""
        self.deployment.start()

    def close(self) -> None:
        """Stop polling, flush and close every prediction logger."""
        self.ready = False
        self.deployment.stop()
        loggers, self._loggers = list(self._loggers.values()), {}
        for logger in loggers:
            logger.close()

    def logger(self, version: str) -> Any:
        found = self._loggers.get(version)
        if found is None:
            found = self._loggers.setdefault(version, self.ops.predictions.logger(
                self.name, version=version, **self.logger_options))
        return found

    # -- predicting ------------------------------------------------------------------------

    def predict(self, body: Any, header_key: str | None) -> tuple[dict[str, Any], Any, list]:
        """The response body of a parsed ``/predict`` request, the logger its predictions
        went to, and their ids (raises ``BadRequest``)."""
        request = predict_request(body, self.key_field)
        key = request.key if request.key is not None else header_key
        served, route, metadata = self.deployment.pick(key)
        model, x, columns = self._input(served, request.records)
        started = time.perf_counter()
        try:
            predictions, score, proba = predict_scores(model, x, self._positive)
        except (ValueError, TypeError, KeyError, OverflowError) as exc:  # input it cannot take
            raise BadRequest(422, f"the model refused the input: {type(exc).__name__}: "
                                  f"{exc}") from None
        latency_ms = (time.perf_counter() - started) * 1000 / len(request.records)
        if score is None and proba is not None:
            score = proba.max(axis=1)
        values = predictions.tolist()
        probabilities = [None] * len(values) if score is None else score.tolist()
        if self.log_predictions:
            logger = self.logger(served.version)
            ids, logged = self._log(logger, request.records, columns,
                                    predictions if predictions.ndim == 1 else values, score,
                                    latency_ms, metadata)
        else:
            logger, ids, logged = None, new_ids(len(values)), "off"
        self.metrics.served(served.version, route, ids, values,
                            hasattr(served.model, "classes_"))
        rows = [{"id": i, "prediction": p, "probability": q}
                for i, p, q in zip(ids, values, probabilities)]
        head = {"model": self.name, "version": served.version, "route": route,
                "logged": logged}
        content = {**rows[0], **head} if request.single else {**head, "predictions": rows}
        self.deployment.pace.nudge()     # the registry's poller, if a busy worker kept it
        return content, logger if logged == "queued" else None, ids

    def _input(self, served: Served, records: list[dict[str, Any]]
               ) -> tuple[Any, Any, dict[str, Any] | None]:
        """The model to call, its input (the records checked by the signature, as a float
        array for the model's twin, else as the model takes them) and the records as the
        columns to log, or None when the log must keep fields the model was not given."""
        try:
            if served.signature is not None:
                columns = conform(served.signature, records, unknown=self.unknown)
                logged = columns if self.unknown == "reject" else None
                if served.twin is not None:
                    return served.twin.model, served.twin.input(columns), logged
                return served.model, model_input(served.model, columns,
                                                 served.signature.names), logged
            names = list(records[0])
            for i, row in enumerate(records):
                if list(row) != names and set(row) != set(names):
                    raise BadRequest(422, f"records[{i}] has other columns than records[0]",
                                     [{"field": f"records[{i}]",
                                       "problem": "has other columns than records[0]"}])
            columns = {n: column_values([row[n] for row in records]) for n in names}
            flat = all(getattr(c, "ndim", 0) == 1 for c in columns.values())
            return served.model, model_input(served.model, columns, names), \
                columns if flat else None
        except InputMismatch as exc:
            raise BadRequest(422, "the input does not match the model's signature",
                             exc.problems) from None
        except InvalidInput as exc:
            raise BadRequest(422, str(exc), [{"field": exc.field or "features",
                                              "problem": str(exc)}]) from None

    def _log(self, logger: Any, records: list[dict[str, Any]],
             columns: dict[str, Any] | None, values: Any, probabilities: Any,
             latency_ms: float, metadata: Mapping[str, Any] | None) -> tuple[list[str], str]:
        """Log a request's predictions (numpy arrays where they can be: numbers then reach
        the store without becoming Python objects); their ids and whether they were queued."""
        try:
            if columns is not None:
                return logger.log_columns(columns, values, probabilities, latency_ms,
                                          metadata), "queued"
            return logger.log_records(records, values, probabilities, latency_ms,
                                      metadata), "queued"
        except Exception as exc:   # a full buffer, a closed logger: the request still answers
            self.metrics.log_failures.labels(self.name).inc(len(values))
            log.warning("modelops serve: %d predictions of %s not logged: %s",
                        len(values), self.name, exc)
            return new_ids(len(values)), "failed"

    def feedback(self, body: Any) -> dict[str, Any]:
        pairs = feedback_request(body)
        logger = self.logger(self.deployment.lineup.champion.version)
        failed = 0
        for rid, actual in pairs:
            try:
                logger.feedback(rid, actual)
            except InvalidInput as exc:
                raise BadRequest(422, str(exc), [{"field": exc.field or "id",
                                                  "problem": str(exc)}]) from None
            except Exception as exc:
                failed += 1
                log.warning("modelops serve: feedback for %s not logged: %s", rid, exc)
                continue
            self.metrics.feedback(rid, actual)
        if failed:
            self.metrics.log_failures.labels(self.name).inc(failed)
        return {"accepted": len(pairs) - failed, "failed": failed}

    def version_info(self) -> dict[str, Any]:
        deployment = self.deployment
        lineup = deployment.lineup

        def describe(served: Served) -> dict[str, Any]:
            record = served.record
            return {"version": served.version, "stage": getattr(record.stage, "value",
                                                                record.stage),
                    "aliases": list(record.aliases), "digest": served.digest,
                    "flavor": record.flavor, "framework": record.framework,
                    "signature": None if record.signature is None else
                    dict(record.signature),
                    "input_example": [dict(r) for r in record.input_example]}

        out = {"name": self.name, "uri": deployment.uri, "follows": deployment.at,
               **describe(lineup.champion), "reloads": deployment.reloads}
        if lineup.challenger is not None:
            out["challenger"] = {**describe(lineup.challenger),
                                 "follows": deployment.challenger_uri,
                                 "share": lineup.router.share,
                                 "salt": lineup.router.salt}
        return out

    def health(self, window: str) -> dict[str, Any]:
        version = self.deployment.lineup.champion.version
        health = self.ops.monitor(self.name, version).health(window, alert=False)
        return {**health.to_dict(), "serving": version}

    def sync_metrics(self) -> None:
        reloads = self.deployment.reloads
        if reloads != self._reloads_seen:
            self.metrics.reloads.labels(self.name).inc(reloads - self._reloads_seen)
            self._reloads_seen = reloads
            self.metrics.serving(self.deployment.lineup)


def _positive_label(ops: Any, model: str) -> Any:
    from modelops.monitoring.settings import load_settings

    with contextlib.suppress(ModelOpsError):
        return load_settings(ops, model).positive
    return None


async def _read(request: Request, limit: int) -> Any:
    """The parsed JSON body: 413 past ``limit`` bytes (by Content-Length or as it
    streams), 400 when it is not JSON."""
    length = request.headers.get("content-length")
    if length is not None:
        if not (length.isascii() and length.isdigit()):   # "²".isdigit() is true
            raise BadRequest(400, "Content-Length is not a number")
        if int(length) > limit:
            raise BadRequest(413, f"the body has {length} bytes, more than the limit of "
                                  f"{limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(413, f"the body is more than the limit of {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass    # what orjson refuses and Python's json takes (NaN, integers beyond 64 bits)
    try:
        return loads(body)
    except ValueError as exc:   # UnicodeDecodeError, and nesting too deep, included
        raise BadRequest(400, f"the body is not valid JSON: {exc}") from None


def app(ops: Any, model: str, at: str | None = None, **options: Any) -> Starlette:
    """An ASGI app serving ``model`` — a registered model's name with ``at`` (a stage,
    ``@alias`` or version; default ``production``), or a ``models:/`` URI — from ``ops``
    (a ``modelops.Client``). Mount it into your Starlette/FastAPI service or run it with
    uvicorn (``modelops serve`` does).

    Options (see :class:`ModelServer`): ``challenger`` (a stage, ``@alias`` or version) and
    ``share`` route that share of request keys to it (``key_header``, ``key_field``; sticky,
    through ``ops.router``'s hashing); ``poll_interval`` (seconds) how often the registry
    is asked whether the stage moved; ``max_body_bytes`` (1 MiB) the largest request;
    ``unknown="reject"|"ignore"`` columns the signature does not know; ``durable=True``
    writes each request's predictions to the store before answering; ``log_predictions=False``
    logs none (the response says ``"logged": "off"``); ``logger_options`` go to the
    prediction loggers; ``health_window`` is ``/health``'s default window.
    """
    server = ModelServer(ops, model, at, **options)

    def endpoint(name: str, handler: Any) -> Any:
        async def run(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await handler(request)
            except BadRequest as exc:
                response = _response(exc.body, exc.status)
            except Exception as exc:   # a bug or a store failure: this request only
                log.exception("modelops serve: %s failed", name)
                response = _response({"error": f"{type(exc).__name__}: {exc}"}, 500)
            server.metrics.request(name, response.status_code, time.perf_counter() - started)
            return response
        return run

    async def predict(request: Request) -> Response:
        server.start()
        server.sync_metrics()
        body = await _read(request, server.max_body_bytes)
        content, pending, _ = server.predict(body, request.headers.get(server.key_header))
        if server.durable and pending is not None:
            from starlette.concurrency import run_in_threadpool

            if await run_in_threadpool(pending.flush, server.flush_timeout):
                content["logged"] = "stored"
        return _response(content)

    async def feedback(request: Request) -> Response:
        body = await _read(request, server.max_body_bytes)
        return _response(server.feedback(body))

    async def health(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        window = request.query_params.get("window", server.health_window)
        try:
            return _response(await run_in_threadpool(server.health, window))
        except InvalidInput as exc:
            raise BadRequest(422, str(exc), [{"field": "window", "problem": str(exc)}]) \
                from None

    async def ready(request: Request) -> Response:
        server.start()
        if not server.ready:
            return _response({"ready": False}, 503)
        return _response({"ready": True, "version": server.deployment.lineup.champion.version})

    async def live(request: Request) -> Response:
        return _response({"live": True})

    async def version(request: Request) -> Response:
        server.sync_metrics()
        return _response(server.version_info())

    async def metrics(request: Request) -> Response:
        server.sync_metrics()
        return Response(server.metrics.exposition(),
                        media_type="text/plain; version=0.0.4; charset=utf-8")

    async def spec(request: Request) -> Response:
        champion = server.deployment.lineup.champion
        return _response(openapi(server.name, champion.version, champion.signature,
                                 unknown=server.unknown, key_field=server.key_field,
                                 key_header=server.key_header))

    routes = [Route("/predict", endpoint("predict", predict), methods=["POST"]),
              Route("/feedback", endpoint("feedback", feedback), methods=["POST"]),
              Route("/health", endpoint("health", health)),
              Route("/ready", endpoint("ready", ready)),
              Route("/live", endpoint("live", live)),
              Route("/version", endpoint("version", version)),
              Route("/metrics", endpoint("metrics", metrics)),
              Route("/openapi.json", endpoint("openapi", spec))]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> Any:
        server.start()
        try:
            yield
        finally:
            from starlette.concurrency import run_in_threadpool

            await run_in_threadpool(server.close)

    application = Starlette(routes=routes, lifespan=lifespan)
    application.state.server = server
    return application
