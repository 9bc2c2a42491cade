"""One error shape for every failure: ``{"message": <what to fix>, "error": <short kind>}``.

Grafana shows ``message`` in the panel corner (``toDataQueryError`` reads ``data.message``), so the
message names the thing to fix. Nothing here ever echoes headers, keys or a stack trace.

This module only builds answers, so any route may use it; which exception becomes which answer is
``grafana_proxy.handlers``, installed by ``create_app``."""

from __future__ import annotations

import json
import logging
from typing import Any

import orjson
from fastapi.responses import Response

logger = logging.getLogger("grafana_proxy")

_REASONS = {
    400: "bad request",
    401: "unauthorized",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    413: "payload too large",
    422: "validation error",
    503: "service unavailable",
    507: "insufficient storage",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, error: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error = error or _REASONS.get(status, "error")


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # NaN/inf become null in orjson, which Grafana reads as a gap rather than failing to parse.
    try:
        body = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        # Stored data orjson refuses (integers beyond 64 bits, lone surrogates, deep nesting, e.g. from
        # before input checks existed) must not make every later read of it a 500: the slower
        # standard encoder takes them (surrogates escaped as \uXXXX).
        logger.warning("response needed the fallback JSON encoder")
        body = json.dumps(payload, default=str, ensure_ascii=True, allow_nan=False).encode()
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def error_response(status: int, message: str, error: str | None = None) -> Response:
    return json_response({"message": message, "error": error or _REASONS.get(status, "error")}, status)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or "body"


def describe_validation(errors: list[Any]) -> str:
    """The first validation problem as `field: what is wrong` (and how many more there are)."""
    first = errors[0]
    message = f"{_location(tuple(first.get('loc', ())))}: {first.get('msg', 'invalid value')}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return message
