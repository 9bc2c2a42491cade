"""Monitoring-application results of the synthetic endpoints, one per 10-minute window: the
``histogram-data-drift`` verdict (general_drift, data drift), a ``system-performance`` latency verdict
(system performance) and the ``model-performance`` verdict (accuracy of classifiers, MAE of regressors,
model performance), named and classified as the built-in applications do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from grafana_proxy import vocabulary as v
from grafana_proxy.model import AppResult, ResultKind, ResultStatus
from grafana_proxy.monitoring.binning import FloatArray
from grafana_proxy.monitoring.drift import DriftThresholds
from grafana_proxy.monitoring.thresholds import classify
from grafana_proxy.seeding.features import WindowDrift

IntArray = npt.NDArray[np.int64]

WINDOW_MS = 600_000  # MLRun 1.7's default controller base period: 10 minutes
DRIFT_APP = v.HISTOGRAM_DATA_DRIFT
DRIFT_RESULT = v.GENERAL_DRIFT
PERF_APP = v.SYSTEM_PERFORMANCE
PERF_RESULT = "latency"
# Window latency / the endpoint's typical latency at which the performance app raises its status.
LATENCY_POTENTIAL_RATIO = 1.6
LATENCY_DETECTED_RATIO = 2.5
MODEL_APP = v.MODEL_PERFORMANCE
# The model-performance app's defaults: ground truth is joined an hour after a window ends, accuracy
# below 0.8 is a potential problem, below 0.6 a detected one.
GROUND_TRUTH_DELAY_MS = 3_600_000
ACCURACY_POTENTIAL = 0.8
ACCURACY_DETECTED = 0.6
# Drifted inputs cost accuracy: this much per unit of general drift above 0.1.
ACCURACY_PER_DRIFT = 0.3
THRESHOLDS = DriftThresholds()


def general_drift_status(value: float) -> int:
    """The histogram-data-drift app's verdict with the default thresholds (potential 0.5, detected 0.7)."""
    return int(THRESHOLDS.classify(value))


def accuracy_after_drift(base: float, general_drift: FloatArray | float) -> FloatArray:
    out: FloatArray = np.clip(base - ACCURACY_PER_DRIFT * np.maximum(np.asarray(general_drift) - 0.1, 0.0), 0.0, 1.0)
    return out


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
        status = classify(ratio, LATENCY_POTENTIAL_RATIO, LATENCY_DETECTED_RATIO)
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


def performance_results(
    uid: str,
    win: Windows,
    has_data: npt.NDArray[np.bool_],
    base_accuracy: float,
    general_drift: FloatArray | None,
    classifier: bool,
    rng: np.random.Generator,
) -> list[AppResult]:
    """One result per window whose ground truth is due (the last hour has none yet): accuracy with
    labelling noise for classifiers, MAE growing with drift for regressors (status irrelevant, as the
    app reports without thresholds)."""
    due = has_data & (win.ends <= int(win.ends[-1]) - GROUND_TRUTH_DELAY_MS)
    drift = general_drift if general_drift is not None else np.zeros(win.starts.size)
    accuracy = np.clip(accuracy_after_drift(base_accuracy, drift) + rng.normal(0.0, 0.01, drift.size), 0.0, 1.0)
    out = []
    for i in np.flatnonzero(due):
        if classifier:
            value = round(float(accuracy[i]), 4)
            status = classify(value, ACCURACY_POTENTIAL, ACCURACY_DETECTED, lower_is_worse=True)
            name, extra = "accuracy", {"accuracy": value, "task": "classification"}
        else:
            value = round(float(1.0 - accuracy[i]) * 10.0, 4)  # in the target's units; only the trend matters
            status, name, extra = ResultStatus.irrelevant, "mae", {"mae": value, "task": "regression"}
        out.append(
            AppResult(
                endpoint_uid=uid,
                application=MODEL_APP,
                name=name,
                kind=int(ResultKind.model_performance),
                status=int(status),
                value=value,
                start_infer_time=int(win.starts[i]),
                end_infer_time=int(win.ends[i]),
                extra_data=extra,
            )
        )
    return out
