"""Threshold pairs shared by the built-in applications: a value at or above ``potential`` is a potential
detection, at or above ``detected`` a detection. Both come from parameters (endpoint label > project >
global) named ``<stem>_potential`` and ``<stem>_detected``."""

from __future__ import annotations

from grafana_proxy.model import ResultStatus
from grafana_proxy.monitoring.applications import ApplicationContext
from grafana_proxy.monitoring.thresholds import classify


def threshold_pair(ctx: ApplicationContext, stem: str, potential: float, detected: float) -> tuple[float, float]:
    low = ctx.float_param(f"{stem}_potential", potential)
    high = ctx.float_param(f"{stem}_detected", detected)
    if not 0 <= low < high:
        raise ValueError(f"{stem} thresholds must satisfy 0 <= potential < detected (got {low}, {high})")
    return low, high


def status_of(value: float | None, pair: tuple[float, float]) -> ResultStatus:
    return classify(value, pair[0], pair[1])
