"""The API schema made true to the answers (issue 16), by a drf-spectacular post-processing hook.

Every operation can answer 400 (a body or a cursor it cannot read), 401 (no key, or a revoked one), 403 (a key
without the operation's scope), 404, 413 (a body over DATA_UPLOAD_MAX_MEMORY_SIZE) and 429 (the per-key rate limit):
the views name their own successes and domain errors, and this hook adds the rest to each operation, once, instead of
seven views repeating them. It also writes the "exactly one of" and "at least one of" rules of the request bodies as
JSON Schema (``oneOf``/``anyOf``), which serializer fields cannot say. A schema-driven fuzzer holds all of it to the
live answers (tests/api/test_schema_fuzz.py).
"""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
SCOPE_ERROR = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "missing_scopes": {
            "type": "array",
            "items": {"type": "string", "enum": ["read", "ingest", "customers:write", "loyalty"]},
        },
    },
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": "Messages per field (`non_field_errors` for the whole body), or `detail`.",
    "additionalProperties": True,
}


def _json(ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


COMMON_RESPONSES = {
    "400": _json("#/components/schemas/FieldErrors", "Invalid: the body, a field or the page cursor."),
    "401": {
        **_json("#/components/schemas/Error", "No API key, or an unknown or revoked one."),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": 'Bearer realm="api"'}},
    },
    "403": _json(
        "#/components/schemas/ScopeError", "The key lacks a scope this operation needs (named in missing_scopes)."
    ),
    "404": _json("#/components/schemas/Error", "No such customer (or other object named in the path)."),
    "413": _json("#/components/schemas/Error", "The body is larger than the server accepts: send less at a time."),
    "429": {
        **_json(
            "#/components/schemas/Error",
            "Too many requests with this key (TSUNAGU_API_RATE_LIMIT, 600 a minute by default): wait for the "
            "seconds in the Retry-After header.",
        ),
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
    },
}


def _exactly_one(*fields: str) -> list[dict[str, Any]]:
    return [{"required": [f], "not": {"anyOf": [{"required": [o]} for o in fields if o != f]}} for f in fields]


# component name -> the keywords added to it
REQUEST_RULES: dict[str, dict[str, Any]] = {
    "TouchpointInRequest": {"oneOf": _exactly_one("customer_id", "customer_external_id", "customer_email")},
    "RedemptionInRequest": {"oneOf": _exactly_one("membership_id", "member_number")},
    "CustomerUpsertRequest": {
        "anyOf": [
            {"required": ["external_id"], "properties": {"external_id": {"pattern": r"\S"}}},
            {"required": ["email"], "properties": {"email": {"minLength": 3}}},
        ]
    },
}


def add_error_responses(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR)
    schemas.setdefault("ScopeError", SCOPE_ERROR)
    schemas.setdefault("FieldErrors", FIELD_ERRORS)
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for code, response in COMMON_RESPONSES.items():
                documented = responses.get(code)
                if documented is None:
                    responses[code] = response
                elif "content" not in documented:  # a view's own words for it, with the body's shape added
                    documented["content"] = response["content"]
    for name, rules in REQUEST_RULES.items():
        if name in schemas:
            schemas[name].update(rules)
    return result
