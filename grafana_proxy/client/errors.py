"""Errors the client raises: the server's answer as an exception carrying its message."""

from __future__ import annotations

from typing import Any


class GrafanaProxyError(Exception):
    """Base of every client error."""


class ServerError(GrafanaProxyError):
    """The server refused the call: ``status`` and the server's ``message`` (what to fix) and ``error``."""

    def __init__(self, status: int, message: str, error: str | None = None, body: Any = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.error = error
        self.body = body


class BadRequest(ServerError):
    """400/413/415/422: the request itself is wrong; the message names the field or value."""


class AccessDenied(ServerError):
    """401/403: no key, a wrong key, a read key used to write, or a key of another project."""


class NotFound(ServerError):
    """404: no such endpoint, application or batch."""


class UploadTimeout(GrafanaProxyError, TimeoutError):
    """The server accepted the upload but had not stored it when the client stopped waiting: it is still
    queued (an ingest process reads it); ``status_url`` tells when it is."""

    def __init__(self, message: str, upload_id: str, status_url: str) -> None:
        super().__init__(message)
        self.upload_id = upload_id
        self.status_url = status_url


def error_for(status: int, body: Any, text: str) -> ServerError:
    message, error = text or f"HTTP {status}", None
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("detail") or message)
        error = None if body.get("error") is None else str(body["error"])
    kind: type[ServerError] = ServerError
    if status in (401, 403):
        kind = AccessDenied
    elif status == 404:
        kind = NotFound
    elif status in (400, 413, 415, 422):
        kind = BadRequest
    return kind(status, message, error, body)
