"""The one rule for identifiers: project, endpoint uid, application, result, metric and feature names.

Two families, because two kinds of values are named:
- *keys* (project, endpoint uid, application) become directory names in the event archive
  (``project=<p>/endpoint_id=<uid>/``) and key columns: ASCII letters, digits and ``_ . : -``, starting
  with a letter or digit (so never ``.``, ``..`` or an option-like ``-x``), no ``/`` or ``\\``.
- *names* (result, metric, feature) are labels shown in Grafana and stored as series names: any
  printable text (``sepal length (cm)`` is a feature name), but no control or format characters, no
  surrogates and no leading or trailing whitespace.

Both are compared exactly (byte for byte) on every backend; the lengths are those of the schema's
columns. Every entry point (write API, events API, ground truth, gateway, CLI, datasource queries)
checks with ``check``, so the answer is the same whatever the path or the backend."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Final, Literal

from pydantic import AfterValidator

Kind = Literal[
    "project", "endpoint_id", "application", "result", "metric", "feature", "request_id", "function_uri", "model"
]

KEY_KINDS: Final = frozenset({"project", "endpoint_id", "application"})
MAX_LENGTH: Final[dict[str, int]] = {
    "project": 128,
    "endpoint_id": 64,
    "application": 128,
    "result": 255,
    "metric": 255,
    "feature": 255,
    # Not names of stored things, but identifying text of an event, under the same rule as names.
    "request_id": 128,
    "function_uri": 255,
    "model": 255,
}
KEY_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"
_KEY = re.compile(KEY_PATTERN)
# Unicode categories refused in names: control (Cc), format (Cf: zero-width and bidi overrides that make
# two names look alike), surrogates (Cs: not storable as UTF-8), unassigned (Cn) and line/paragraph
# separators (Zl, Zp).
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Cn", "Zl", "Zp"})


class IdentifierError(ValueError):
    """``value`` is not a valid identifier of ``kind``; ``field`` names where it came from."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def problem(kind: Kind, value: object) -> str | None:
    """Why ``value`` is not a valid ``kind`` identifier, or None when it is."""
    if not isinstance(value, str):
        return f"{kind} must be a string"
    limit = MAX_LENGTH[kind]
    if not value:
        return f"{kind} must not be empty"
    if len(value) > limit:
        return f"{kind} is longer than {limit} characters"
    if kind in KEY_KINDS:
        if _KEY.match(value) is None:
            return (
                f"{kind} {value[:80]!r} may only hold ASCII letters, digits and _ . : - "
                "and must start with a letter or a digit"
            )
        return None
    if value != value.strip():
        return f"{kind} {value[:80]!r} must not start or end with whitespace"
    for char in value:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            return f"{kind} {value[:80]!r} holds a control or invisible character (U+{ord(char):04X})"
    return None


def check(kind: Kind, value: object, field: str | None = None) -> str:
    """``value`` when it is a valid ``kind`` identifier; otherwise ``IdentifierError`` naming ``field``."""
    reason = problem(kind, value)
    if reason is not None:
        raise IdentifierError(field or kind, reason)
    assert isinstance(value, str)
    return value


def is_valid(kind: Kind, value: object) -> bool:
    return problem(kind, value) is None


def _validator(kind: Kind) -> AfterValidator:
    def validate(value: str) -> str:
        reason = problem(kind, value)
        if reason is not None:
            raise ValueError(reason)
        return value

    return AfterValidator(validate)


# Pydantic field types for request bodies and path parameters: a 422 names the field.
ProjectName = Annotated[str, _validator("project")]
EndpointId = Annotated[str, _validator("endpoint_id")]
ApplicationName = Annotated[str, _validator("application")]
ResultName = Annotated[str, _validator("result")]
MetricName = Annotated[str, _validator("metric")]
FeatureName = Annotated[str, _validator("feature")]
RequestId = Annotated[str, _validator("request_id")]
FunctionUri = Annotated[str, _validator("function_uri")]
ModelName = Annotated[str, _validator("model")]
