"""Frames to JSON: the SimpleJSON/simPod shapes Grafana's ``toDataFrame`` reads, and the flat rows
Infinity's backend parser reads. Also Grafana's ad hoc filters, applied to frames by label/column."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

import regex

from grafana_proxy.targets.base import Annotation, Cell, Column, Frame, Series, Table, TargetError


def simplejson_frame(frame: Frame, ref_id: str) -> dict[str, Any]:
    if isinstance(frame, Series):
        return {
            "target": frame.name,
            # (value, time) tuples encode as the same JSON arrays as lists, without a list per point.
            "datapoints": list(zip(frame.values, frame.times, strict=True)),
            "refId": ref_id,
        }
    return {
        "type": "table",
        "columns": [{"text": column.text, "type": column.type} for column in frame.columns],
        # Lists and tuples encode as JSON arrays as they are: no copy of each row.
        "rows": [row if isinstance(row, list | tuple) else list(row) for row in frame.rows],
        "refId": ref_id,
    }


def flat_rows(frames: Sequence[Frame], extra: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """One object per table row, or per series point with the series' labels (and ``extra``, e.g. the
    project) as extra columns.

    The points of all series of one target are merged into one list ascending by time: Infinity's
    backend turns a long frame (time, value, series name) into one field per series only when the
    frame is sorted by time, and Grafana's alerting needs those uniquely labelled fields. Series
    after series, time would go backwards at each boundary and the panel would draw one line."""
    rows: list[dict[str, Any]] = []
    series: list[Series] = []
    for frame in frames:
        if isinstance(frame, Table):
            names = [column.text for column in frame.columns]
            rows.extend(dict(zip(names, row, strict=True)) for row in frame.rows)
        else:
            series.append(frame)
    if series:
        # heapq.merge is stable: points at the same time keep the order of their series.
        rows.extend(heapq.merge(*(_points(s, extra or {}) for s in series), key=lambda row: row["time"]))
    return rows


def with_project(frame: Frame, project: str) -> Frame:
    """The frame with its project as a series label or as a leading table column."""
    if isinstance(frame, Series):
        return replace(frame, labels={"project": project, **frame.labels})
    return Table(columns=[Column("project", "string"), *frame.columns], rows=[(project, *row) for row in frame.rows])


def _points(series: Series, extra: Mapping[str, str]) -> Iterator[dict[str, Any]]:
    labels = {**extra, **series.labels}
    for time, value in zip(series.times, series.values, strict=True):
        yield {"time": time, "value": value, "series": series.name, **labels}


def annotation_json(annotation: Annotation, echo: Mapping[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "annotation": dict(echo),
        "time": annotation.time,
        "title": annotation.title,
        "text": annotation.text,
        "tags": list(annotation.tags),
    }
    if annotation.time_end is not None:
        item["timeEnd"] = annotation.time_end
    return item


def annotation_row(annotation: Annotation) -> dict[str, Any]:
    """An annotation as a flat row with the field names Grafana's annotation support maps by default
    (time, timeEnd, title, text, tags as one comma-separated string)."""
    return {
        "time": annotation.time,
        "timeEnd": annotation.time_end if annotation.time_end is not None else annotation.time,
        "title": annotation.title,
        "text": annotation.text,
        "tags": ",".join(annotation.tags),
    }


REGEX_TIMEOUT_SECONDS = 0.05

# --- ad hoc filters -------------------------------------------------------------------------------

_ALIASES = {
    "endpoint_id": ("endpoint_id", "uid"),
    "model": ("endpoint_model", "model"),
    "function": ("endpoint_function", "function"),
}


def _matches(cell: Cell, operator: str, wanted: str) -> bool:
    text = "" if cell is None else str(cell)
    if operator == "=":
        return text == wanted
    if operator == "!=":
        return text != wanted
    if operator in ("=~", "!~"):
        # The pattern comes from the dashboard user: a time limit stops catastrophic backtracking.
        try:
            found = regex.fullmatch(wanted, text, timeout=REGEX_TIMEOUT_SECONDS) is not None
        except regex.error as exc:
            raise TargetError(f"ad hoc filter regex {wanted!r} is invalid: {exc}") from None
        except TimeoutError:
            raise TargetError(f"ad hoc filter regex {wanted!r} takes too long to match; simplify it") from None
        return found if operator == "=~" else not found
    if operator in ("<", ">"):
        try:
            number, limit = float(text), float(wanted)
        except ValueError:
            return False
        return number < limit if operator == "<" else number > limit
    raise TargetError(f"ad hoc filter operator {operator!r} is not supported; use =, !=, =~, !~, < or >")


def _names(key: str) -> tuple[str, ...]:
    return _ALIASES.get(key, (key,))


def _apply_to_table(table: Table, filters: Sequence[Mapping[str, Any]]) -> Table:
    positions = {column.text: index for index, column in enumerate(table.columns)}
    checks = []
    for flt in filters:
        index = next((positions[n] for n in _names(str(flt["key"])) if n in positions), None)
        if index is not None:
            checks.append((index, str(flt.get("operator", "=")), str(flt.get("value", ""))))
    if not checks:
        return table
    rows = [row for row in table.rows if all(_matches(row[i], op, v) for i, op, v in checks)]
    return Table(columns=table.columns, rows=rows)


def _keep_series(series: Series, filters: Sequence[Mapping[str, Any]]) -> bool:
    for flt in filters:
        for name in _names(str(flt["key"])):
            if name in series.labels:
                if not _matches(series.labels[name], str(flt.get("operator", "=")), str(flt.get("value", ""))):
                    return False
                break
    return True


def apply_filters(frames: list[Frame], filters: Sequence[Mapping[str, Any]]) -> list[Frame]:
    """Keep the rows and series that match every filter whose key they carry; filters on keys a
    frame doesn't have leave it alone (a project filter must not empty a per-feature table)."""
    if not filters:
        return frames
    kept: list[Frame] = []
    for frame in frames:
        if isinstance(frame, Table):
            kept.append(_apply_to_table(frame, filters))
        elif _keep_series(frame, filters):
            kept.append(frame)
    return kept
