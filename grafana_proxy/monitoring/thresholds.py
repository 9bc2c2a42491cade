"""The one rule turning a measured value and two thresholds into a result status, for every
application and the seeder: ``detected`` past the detected threshold, else ``potential_detection`` past
the potential one, else ``no_detection``; a missing value is ``irrelevant``.

"Past" depends on the measure: a distance, a latency or an error rate is worse when higher (reached
at ``>=``); an accuracy is worse when lower (``lower_is_worse``: reached below the threshold)."""

from __future__ import annotations

import math

from grafana_proxy.model import ResultStatus


def classify(value: float | None, potential: float, detected: float, *, lower_is_worse: bool = False) -> ResultStatus:
    if value is None or math.isnan(value):
        return ResultStatus.irrelevant
    if lower_is_worse:
        if value < detected:
            return ResultStatus.detected
        if value < potential:
            return ResultStatus.potential_detection
        return ResultStatus.no_detection
    if value >= detected:
        return ResultStatus.detected
    if value >= potential:
        return ResultStatus.potential_detection
    return ResultStatus.no_detection
