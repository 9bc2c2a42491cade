"""Helpers that walk generated dashboards: every panel query, variable query and annotation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
Json = dict[str, Any]


def load(rel: str) -> Json:
    data: Json = json.loads((ROOT / rel).read_text(encoding="utf-8"))
    return data


def dashboard_files() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "dashboards").glob("*/*/*.json"))


def panel_targets(dash: Json) -> Iterator[tuple[Json, Json]]:
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            yield panel, target


def target_string(query: Json) -> str:
    """The target string of a SimpleJSON target or of an Infinity /rows query body."""
    if "target" in query:
        return str(query["target"])
    body = query["url_options"]["data"]
    return str(json.loads(resolve_macros(body))["target"])


def resolve_macros(
    text: str,
    start: int = 1_700_000_000_000,
    end: int = 1_700_003_600_000,
    interval_ms: int = 60_000,
    variables: dict[str, str] | None = None,
) -> str:
    """What Grafana does to an Infinity URL/body before sending it."""
    text = text.replace("${__from}", str(start)).replace("${__to}", str(end))
    text = text.replace("${__interval_ms}", str(interval_ms))
    for name, value in sorted((variables or {}).items(), key=lambda kv: -len(kv[0])):
        text = text.replace("${" + name + "}", value).replace("$" + name, value)
    return text


def variable_queries(dash: Json) -> Iterator[tuple[Json, Any]]:
    for var in dash["templating"]["list"]:
        yield var, var["query"]
