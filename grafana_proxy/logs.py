"""Logging set-up: plain text or JSON lines (``GRAFANA_PROXY_LOG_JSON``), request ids included.

Every line logged while a request is served carries its ``request_id`` (a context variable the
request middleware sets; it follows the request into worker threads), so one id finds the access
line and any warning or stack trace of the same request. As a last line of defence, anything shaped
like an access key (``gp_<key id>_<secret>``) is masked in the formatted output."""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from typing import Any

import orjson

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
# The shape of a secret (see stores/keys.py); the key id stays readable, the secret part does not.
_SECRET = re.compile(r"(gp_[0-9a-f]{8}_)[A-Za-z0-9_-]{8,}")
# uvicorn's own loggers; "uvicorn.access" is left out on purpose: the app logs requests itself
# (without query strings) and ``serve`` runs uvicorn with access_log=False.
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error")

request_id_var: ContextVar[str | None] = ContextVar("grafana_proxy_request_id", default=None)


def redact(text: str) -> str:
    return _SECRET.sub(r"\1[redacted]", text)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` of the request being served (if any) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            request_id = request_id_var.get()
            if request_id is not None:
                record.request_id = request_id
        return True


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", None)
        return redact(f"{text} [request_id={request_id}]" if request_id else text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return redact(orjson.dumps(payload, default=str).decode())


def make_handler(json_lines: bool) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_lines else TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(RequestIdFilter())
    return handler


def setup_logging(level: str = "INFO", json_lines: bool = False) -> None:
    """Our loggers and uvicorn's write through one handler, so ``GRAFANA_PROXY_LOG_JSON`` makes every
    line JSON. Run uvicorn with ``log_config=None`` so it keeps this set-up instead of its own."""
    handler = make_handler(json_lines)
    for name in ("grafana_proxy", *_UVICORN_LOGGERS):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False
    access.disabled = True  # uvicorn's access line carries the query string; ours does not
