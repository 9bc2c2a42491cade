"""Data-quality checks of one window against the endpoint's reference (training) statistics, feature
by feature, with numpy and pandas only.

Per feature of the reference:
- ``missing_share``: null cells / rows (a feature absent from the window counts as all missing);
- ``wrong_type_share``: present cells of the wrong type / rows. A numerical reference feature expects
  numbers: text that does not parse as one is wrong. A categorical one whose categories are text expects
  text: a number that is not one of its categories is wrong;
- ``out_of_range_share`` (numerical): values below the training min or above its max / valid values;
- ``unseen_category_share`` (categorical): values that are not a training category / present values.
  None when the reference kept only the most frequent categories (the rest summed under ``__other__``),
  since a value outside that list may still be a training category.
A share is None when it cannot be judged (no valid value, or a check that does not apply)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from grafana_proxy.monitoring.stats import OTHER, as_float_array, is_numeric, reference_kind

if TYPE_CHECKING:
    import pandas as pd

CHECKS = ("missing_share", "wrong_type_share", "out_of_range_share", "unseen_category_share")


@dataclass
class FeatureQuality:
    missing_share: float | None = None
    wrong_type_share: float | None = None
    out_of_range_share: float | None = None
    unseen_category_share: float | None = None

    def as_dict(self) -> dict[str, float | None]:
        return {check: getattr(self, check) for check in CHECKS}


@dataclass
class QualityReport:
    rows: int
    features: dict[str, FeatureQuality] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)  # reference features with no column in the window

    def worst(self, check: str) -> tuple[str | None, float | None]:
        """The feature with the highest share of ``check`` and that share (None when none applies)."""
        best: tuple[str | None, float | None] = (None, None)
        for name, quality in self.features.items():
            value = getattr(quality, check)
            if value is not None and (best[1] is None or value > best[1]):
                best = (name, value)
        return best


def _share(count: int | np.integer[Any], total: int) -> float | None:
    return float(count) / total if total else None


def _numeric(column: pd.Series, stats: Mapping[str, Any], rows: int) -> FeatureQuality:
    present = column.notna().to_numpy()
    values = as_float_array(column)
    valid = ~np.isnan(values)
    quality = FeatureQuality(missing_share=_share(rows - int(present.sum()), rows))
    # Text that is not a number: present in the column, NaN once parsed.
    quality.wrong_type_share = 0.0 if is_numeric(column) else _share(int((present & ~valid).sum()), rows)
    low, high = stats.get("min"), stats.get("max")
    if low is not None and high is not None:
        x = values[valid]
        quality.out_of_range_share = _share(int(((x < float(low)) | (x > float(high))).sum()), int(x.size))
    return quality


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _categorical(column: pd.Series, stats: Mapping[str, Any], rows: int) -> FeatureQuality:
    present = column.dropna()
    quality = FeatureQuality(missing_share=_share(rows - len(present), rows))
    categories: Mapping[str, Any] = stats.get("categories") or {}
    known = [str(c) for c in categories if c != OTHER]
    if not known:
        return quality
    text = present.astype(str)
    seen = text.isin(known).to_numpy()
    if OTHER not in categories:
        quality.unseen_category_share = _share(int((~seen).sum()), len(text))
    if any(_looks_numeric(c) for c in known):
        quality.wrong_type_share = 0.0  # numbers are valid categories here
    elif is_numeric(present):
        quality.wrong_type_share = _share(int((~seen).sum()), rows)
    else:
        import pandas as pd

        parsed = pd.to_numeric(text[~seen], errors="coerce")
        quality.wrong_type_share = _share(int(parsed.notna().sum()), rows)
    return quality


def check_quality(features: pd.DataFrame, reference: Mapping[str, Mapping[str, Any]]) -> QualityReport:
    """Every check for every feature of the reference, on the window's feature columns."""
    rows = len(features)
    report = QualityReport(rows=rows)
    for name, stats in reference.items():
        if name not in features.columns:
            report.absent.append(name)
            report.features[name] = FeatureQuality(missing_share=1.0 if rows else None)
            continue
        column = features[name]
        kind = reference_kind(stats)
        if kind == "numerical":
            report.features[name] = _numeric(column, stats, rows)
        elif kind == "categorical":
            report.features[name] = _categorical(column, stats, rows)
        else:  # statistics without a histogram or categories: only missing values can be told
            report.features[name] = FeatureQuality(missing_share=_share(int(column.isna().sum()), rows))
    return report
