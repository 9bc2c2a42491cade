"""MLRun's target-string grammar: ``key=value`` pairs separated by ``;``.

Empty parts are ignored (a trailing ``;`` is fine), whitespace around keys and values is dropped,
the last duplicate wins, and everything after the first ``=`` is the value. Backslashes that
Grafana's regex interpolation puts into ``endpoint_id`` are removed, as MLRun does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grafana_proxy.targets.base import TargetError

# Keys every target accepts: the dispatcher and Infinity's time range use them.
COMMON_KEYS: tuple[str, ...] = ("target_endpoint", "from", "to")


def parse_target(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for segment in text.split(";"):
        if not segment.strip():
            continue
        key, sep, value = segment.partition("=")
        if not sep:
            raise TargetError(
                "Query must contain both query key and query value. Expected query_key=query_value, "
                f"found {segment.strip()!r} instead."
            )
        key = key.strip()
        if not key:
            raise TargetError(f"Query part {segment.strip()!r} has an empty key. Expected key=value.")
        params[key] = value.strip().replace("\\", "")
    return params


def merge_payload(params: dict[str, str], payload: Mapping[str, Any] | None) -> dict[str, str]:
    """simPod's ``payload`` object carries the same keys as the target string; its values win.
    Lists (multi-select payload fields) become comma lists; None and empty values are dropped."""
    merged = dict(params)
    for key, value in (payload or {}).items():
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, list | tuple):
            merged[str(key)] = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            merged[str(key)] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            merged[str(key)] = str(value)
        else:
            raise TargetError(f"payload key {key!r} must be a string, number, boolean or list of strings")
    return merged


def require_target_endpoint(params: Mapping[str, str]) -> str:
    name = params.get("target_endpoint")
    if not name:
        raise TargetError(f"Expected 'target_endpoint' field in query, found {dict(params)} instead")
    return name


def check_keys(params: Mapping[str, str], allowed: tuple[str, ...], target: str) -> None:
    unknown = sorted(set(params) - set(allowed) - set(COMMON_KEYS))
    if unknown:
        supported = ", ".join(sorted(set(allowed) | set(COMMON_KEYS)))
        raise TargetError(f"unknown parameter {unknown[0]!r} for target_endpoint={target}; supported keys: {supported}")


def parse_bool(value: str | None, key: str) -> bool:
    """A real boolean: ``False``/``false``/``0``/``no``/empty mean no (unlike MLRun's truthiness)."""
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off", ""):
        return False
    raise TargetError(f"parameter {key!r} must be true or false, got {value!r}")


def parse_list(value: str | None) -> list[str]:
    """A comma list; Grafana's multi-value ``{a,b}`` and regex ``(a|b)`` forms are accepted too."""
    if not value:
        return []
    text = value.strip()
    if len(text) >= 2 and text[0] + text[-1] in ("{}", "()"):
        text = text[1:-1]
    separator = "|" if "|" in text and "," not in text else ","
    return [part.strip() for part in text.split(separator) if part.strip()]
