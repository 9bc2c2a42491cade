"""Seeded results of the ``data-quality`` and ``outliers`` applications, one per 10-minute window,
named and shaped as the applications write them: input problems follow the window's drift (drifted
values leave the training range and cross the outlier fences), plus a small share of missing values."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from grafana_proxy import vocabulary as v
from grafana_proxy.model import AppResult, ResultKind
from grafana_proxy.monitoring.binning import FloatArray
from grafana_proxy.monitoring.thresholds import classify
from grafana_proxy.seeding.results import Windows

QUALITY_APP = v.DATA_QUALITY
OUTLIERS_APP = v.OUTLIERS
# (potential, detected) of each check: the applications' defaults.
QUALITY_THRESHOLDS = {
    "missing_share": (0.05, 0.2),
    "wrong_type_share": (0.01, 0.05),
    "out_of_range_share": (0.05, 0.2),
}
OUTLIER_THRESHOLDS = (0.01, 0.05)


def _status(value: float, pair: tuple[float, float]) -> int:
    return int(classify(value, pair[0], pair[1]))


def _result(uid: str, app: str, name: str, kind: ResultKind, value: float, status: int, win: Windows, i: int,
            extra: dict[str, Any]) -> AppResult:  # fmt: skip
    return AppResult(uid, app, name, int(kind), status, value, int(win.starts[i]), int(win.ends[i]), extra)


def quality_results(
    uid: str,
    win: Windows,
    general_drift: FloatArray,
    has_data: npt.NDArray[np.bool_],
    features: list[str],
    rng: np.random.Generator,
) -> list[AppResult]:
    """``missing_share``, ``wrong_type_share``, ``out_of_range_share`` (worst feature, per-feature shares
    in extra_data) of the data-quality application and ``outlier_share`` of the outliers application."""
    out: list[AppResult] = []
    weights = rng.uniform(0.3, 1.0, len(features))  # how strongly each feature leaves the range as drift grows
    for i in (int(j) for j in np.flatnonzero(has_data)):
        drift = float(general_drift[i])
        shares: dict[str, FloatArray] = {
            "missing_share": np.round(rng.uniform(0.0, 0.01, len(features)), 4),
            "wrong_type_share": np.zeros(len(features)),
            "out_of_range_share": np.round(np.clip(weights * (max(drift - 0.1, 0.0) * 0.6), 0.0, 1.0), 4).astype(
                np.float64
            ),
        }
        for check, values in shares.items():
            pair = QUALITY_THRESHOLDS[check]
            per_feature = {f: float(v) for f, v in zip(features, values, strict=True)}
            worst = max(per_feature, key=per_feature.__getitem__)
            extra: dict[str, Any] = {
                "features": per_feature,
                "worst_feature": worst,
                "potential": pair[0],
                "detected": pair[1],
            }
            value = per_feature[worst]
            out.append(
                _result(uid, QUALITY_APP, check, ResultKind.data_drift, value, _status(value, pair), win, i, extra)
            )
        outlying = {f: float(v) for f, v in zip(features, np.round(shares["out_of_range_share"] * 0.2, 4), strict=True)}
        share = min(1.0, sum(outlying.values()))
        extra = {"features": outlying, "fence_iqr": 3.0, "potential": OUTLIER_THRESHOLDS[0], "detected": 0.05}
        status = _status(share, OUTLIER_THRESHOLDS)
        out.append(_result(uid, OUTLIERS_APP, v.OUTLIER_SHARE, ResultKind.mm_app_anomaly, share, status, win, i, extra))
    return out
