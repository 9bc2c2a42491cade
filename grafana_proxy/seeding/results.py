"""Monitoring-application results of the synthetic endpoints, one per 10-minute window: the
``histogram-data-drift`` verdict (general_drift, data drift) and a ``system-performance`` latency
verdict (system performance)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from grafana_proxy.model import AppResult, ResultKind, ResultStatus
from grafana_proxy.seeding.features import WindowDrift
from grafana_proxy.seeding.histograms import FloatArray, general_drift_status

IntArray = npt.NDArray[np.int64]

WINDOW_MS = 600_000  # MLRun 1.7's default controller base period: 10 minutes
DRIFT_APP = "histogram-data-drift"
DRIFT_RESULT = "general_drift"
PERF_APP = "system-performance"
PERF_RESULT = "latency"
# Window latency / the endpoint's typical latency at which the performance app raises its status.
LATENCY_POTENTIAL_RATIO = 1.6
LATENCY_DETECTED_RATIO = 2.5


@dataclass
class Windows:
    starts: IntArray
    ends: IntArray
    of_step: IntArray  # the window each step falls in

    @property
    def mids(self) -> FloatArray:
        out: FloatArray = (self.starts + self.ends) / 2.0
        return out

    def sums(self, per_step: FloatArray) -> FloatArray:
        sums = np.bincount(self.of_step, weights=per_step, minlength=self.starts.size)
        out: FloatArray = sums.astype(np.float64, copy=False)
        return out


def windows(start_ms: int, end_ms: int, times_ms: IntArray) -> Windows:
    count = max(1, -(-(end_ms - start_ms) // WINDOW_MS))
    starts = start_ms + WINDOW_MS * np.arange(count, dtype=np.int64)
    ends = np.minimum(starts + WINDOW_MS, end_ms)
    of_step = np.minimum((times_ms - start_ms) // WINDOW_MS, count - 1)
    return Windows(starts=starts, ends=ends, of_step=of_step)


def drift_results(uid: str, win: Windows, drift: WindowDrift, has_data: npt.NDArray[np.bool_]) -> list[AppResult]:
    general = drift.general_drift
    last = int(np.flatnonzero(has_data)[-1]) if has_data.any() else -1
    out = []
    for i in np.flatnonzero(has_data):
        value = float(general[i])
        status = general_drift_status(value)
        extra: dict[str, Any] = {
            "tvd_mean": float(drift.tvd_mean[i]),
            "hellinger_mean": float(drift.hellinger_mean[i]),
            "kld_mean": float(drift.kld_mean[i]),
        }
        if i == last:
            # Like MLRun's app, the newest verdict carries the stats the record is updated with.
            extra.update(current_stats=drift.current_stats, drift_measures=drift.drift_measures, drift_status=status)
        out.append(
            AppResult(
                endpoint_uid=uid,
                application=DRIFT_APP,
                name=DRIFT_RESULT,
                kind=int(ResultKind.data_drift),
                status=status,
                value=value,
                start_infer_time=int(win.starts[i]),
                end_infer_time=int(win.ends[i]),
                extra_data=extra,
            )
        )
    return out


def latency_results(uid: str, win: Windows, counts: FloatArray, latency_us: FloatArray) -> list[AppResult]:
    """Mean latency per window against the endpoint's median window: incidents stand out."""
    totals = win.sums(counts)
    has_data = totals > 0
    if not has_data.any():
        return []
    mean = win.sums(counts * latency_us) / np.maximum(totals, 1.0)
    baseline = float(np.median(mean[has_data]))
    out = []
    for i in np.flatnonzero(has_data):
        ratio = float(mean[i]) / baseline
        status = ResultStatus.no_detection
        if ratio >= LATENCY_DETECTED_RATIO:
            status = ResultStatus.detected
        elif ratio >= LATENCY_POTENTIAL_RATIO:
            status = ResultStatus.potential_detection
        out.append(
            AppResult(
                endpoint_uid=uid,
                application=PERF_APP,
                name=PERF_RESULT,
                kind=int(ResultKind.system_performance),
                status=int(status),
                value=float(mean[i]),
                start_infer_time=int(win.starts[i]),
                end_infer_time=int(win.ends[i]),
                extra_data={"baseline_us": baseline, "ratio": ratio},
            )
        )
    return out
