"""The OpenAPI 3.1 description of a server, written from the served version's signature."""

from __future__ import annotations

from typing import Any

_TYPES = {"float": "number", "int": "integer", "bool": "boolean", "str": "string",
          "bytes": "string", "complex": "number"}


def _column(spec: Any) -> dict[str, Any]:
    kind = _TYPES.get(spec.dtype)
    out: dict[str, Any] = {}
    if kind is not None:
        out["type"] = [kind, "null"] if spec.nullable else kind
    if spec.categories is not None:
        out["description"] = "seen in training: " + ", ".join(spec.categories[:20])
    return out


def _features(signature: Any, unknown: str) -> dict[str, Any]:
    if signature is None:
        return {"type": "object", "description": "feature -> value (the version has no "
                "signature: the model's columns are not known)",
                "additionalProperties": {"type": ["number", "string", "boolean", "null"]}}
    return {"type": "object",
            "properties": {c.name: _column(c) for c in signature.columns},
            "required": list(signature.names),
            "additionalProperties": unknown == "ignore"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, **_json({"$ref": "#/components/schemas/Error"})}


def openapi(name: str, version: str, signature: Any, *, unknown: str = "reject",
            key_field: str = "key", key_header: str = "x-request-key") -> dict[str, Any]:
    """The description of the server of ``name`` serving ``version``."""
    prediction = {"type": "object", "properties": {
        "id": {"type": "string", "description": "the prediction id, for /feedback"},
        "prediction": {"description": "what the model predicted"},
        "probability": {"type": ["number", "null"], "description":
                        "the positive class's probability (binary), the predicted class's "
                        "(more classes), null for a model without predict_proba"}},
        "required": ["id", "prediction", "probability"]}
    served = {"version": {"type": "string"},
              "route": {"type": ["string", "null"], "enum": ["champion", "challenger", None]},
              "logged": {"type": "string", "enum": ["stored", "queued", "failed", "off"],
                         "description": "stored: written to the store before this response; "
                                        "queued: in the logger's buffer (written within its "
                                        "flush interval); failed: not logged; off: the "
                                        "server logs no predictions"}}
    one = {"type": "object", "properties": {**prediction["properties"], **served,
                                            "model": {"type": "string"}},
           "required": ["id", "prediction", "probability", "version", "logged"]}
    batch = {"type": "object", "properties": {
        "model": {"type": "string"}, **served,
        "predictions": {"type": "array", "items": {"$ref": "#/components/schemas/Prediction"}}},
        "required": ["predictions", "version", "logged"]}
    features = {"$ref": "#/components/schemas/Features"}
    request = {"oneOf": [
        {"type": "object", "properties": {"features": features,
                                          key_field: {"type": ["string", "integer"]}},
         "required": ["features"]},
        {"type": "array", "items": features},
        {"type": "object", "description": "pandas' split orient",
         "properties": {"columns": {"type": "array", "items": {"type": "string"}},
                        "data": {"type": "array", "items": {"type": "array"}},
                        key_field: {"type": ["string", "integer"]}},
         "required": ["columns", "data"]}]}
    feedback_item = {"type": "object", "properties": {"id": {"type": "string"},
                                                      "actual": {}},
                     "required": ["id", "actual"]}
    plain = {"200": {"description": "OK", **_json({"type": "object"})}}
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{name} (modelops serve)", "version": version,
                 "description": f"Predictions of {name}, every one logged."},
        "paths": {
            "/predict": {"post": {
                "summary": "Predict one record or a batch",
                "parameters": [{"name": key_header, "in": "header", "required": False,
                                "schema": {"type": "string"},
                                "description": "the routing key (sticky champion/challenger)"}],
                "requestBody": {"required": True, **_json(request)},
                "responses": {"200": {"description": "the predictions", **_json(
                                  {"oneOf": [{"$ref": "#/components/schemas/Predicted"},
                                             {"$ref": "#/components/schemas/Batch"}]})},
                              "400": _error("the body is not JSON"),
                              "413": _error("the body is larger than the limit"),
                              "422": _error("the input breaks the signature: every bad field "
                                            "is listed")}}},
            "/feedback": {"post": {
                "summary": "The actual outcome of logged predictions",
                "requestBody": {"required": True, **_json(
                    {"oneOf": [feedback_item, {"type": "array", "items": feedback_item}]})},
                "responses": {**plain, "400": _error("the body is not JSON"),
                              "422": _error("a bad id or actual")}}},
            "/health": {"get": {
                "summary": "The monitor's health of the served model",
                "parameters": [{"name": "window", "in": "query", "required": False,
                                "schema": {"type": "string", "default": "1h"}}],
                "responses": {**plain, "422": _error("a bad window")}}},
            "/ready": {"get": {"summary": "200 when the model is loaded", "responses": {
                **plain, "503": {"description": "not ready"}}}},
            "/live": {"get": {"summary": "200 while the process runs", "responses": plain}},
            "/version": {"get": {"summary": "What is served", "responses": plain}},
            "/metrics": {"get": {"summary": "Prometheus exposition", "responses": {
                "200": {"description": "text/plain; version=0.0.4",
                        "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        },
        "components": {"schemas": {
            "Features": _features(signature, unknown),
            "Prediction": prediction,
            "Predicted": one,
            "Batch": batch,
            "Error": {"type": "object", "properties": {
                "error": {"type": "string"},
                "fields": {"type": "array", "items": {"type": "object", "properties": {
                    "field": {"type": "string"}, "problem": {"type": "string"},
                    "rows": {"type": "array", "items": {"type": "integer"}},
                    "count": {"type": "integer"}}, "required": ["field", "problem"]}}},
                "required": ["error"]},
        }},
    }
