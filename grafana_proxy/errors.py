"""One error shape for every failure: ``{"message": <what to fix>, "error": <short kind>}``.

Grafana shows ``message`` in the panel corner (``toDataQueryError`` reads ``data.message``), so the
message names the thing to fix. Nothing here ever echoes headers, keys or a stack trace."""

from __future__ import annotations

import json
import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from grafana_proxy.stores.base import StoreUnavailable
from grafana_proxy.targets.base import TargetError

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


async def _api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, exc.error)


async def _target_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, TargetError)
    return error_response(exc.status, exc.message)


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, describe_validation(list(exc.errors())))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        message = f"no route {request.url.path}; see /docs for the API"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    return error_response(exc.status_code, message)


async def _store_unavailable(_: Request, exc: Exception) -> Response:
    logger.warning("store unavailable: %s", exc)
    return error_response(503, f"the database is unavailable, retry shortly ({exc})")


async def _data_error(_: Request, exc: Exception) -> Response:
    # The database refused a value the request carried (NUL in PostgreSQL text, a number out of the
    # column's range, ...): the caller's input, not our fault. The driver message is not echoed: it
    # may quote the statement.
    assert isinstance(exc, DataError)
    logger.info("database refused a value: %s", type(exc.orig).__name__)
    return error_response(400, "a value in the request cannot be stored or searched (out of range or invalid text)")


async def _db_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBAPIError)
    if exc.connection_invalidated or "connect" in str(exc.orig).lower():
        logger.warning("database connection failed: %s", type(exc.orig).__name__)
        return error_response(503, "the database is unavailable, retry shortly")
    logger.exception("database error")
    return error_response(500, "internal database error; see the server log", "internal error")


async def _unexpected(_: Request, exc: Exception) -> Response:
    logger.error("unhandled error", exc_info=exc)
    return error_response(500, "internal error; see the server log", "internal error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(TargetError, _target_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(StoreUnavailable, _store_unavailable)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(DBAPIError, _db_error)
    app.add_exception_handler(Exception, _unexpected)
