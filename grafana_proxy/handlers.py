"""Which exception becomes which answer (``grafana_proxy.errors`` shape): ``create_app`` installs these.
Bad input of any layer is a 4xx naming what to fix, a database that cannot be reached a 503, anything
unexpected a 500 with no detail (the reason goes to the log, never to the caller)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from grafana_proxy.errors import ApiError, describe_validation, error_response
from grafana_proxy.stores.base import StoreUnavailable
from grafana_proxy.targets.base import TargetError

logger = logging.getLogger("grafana_proxy")


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
