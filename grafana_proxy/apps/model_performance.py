"""``model-performance``: predictions of a window joined with ground truth posted later by ``request_id``.

Ground truth arrives after the predictions, so this application analyses a window only
``ground_truth_delay_minutes`` (default 60) after it ends; labels posted later than that are not joined.
A label is one value (it applies to row 0 of the request) or a list with one value per row.

- Classifiers: metrics ``accuracy``, ``f1_macro`` (F1 averaged over the classes seen in labels or
  predictions), result ``accuracy`` (kind model_performance; potential below ``accuracy_potential``,
  default 0.8, detected below ``accuracy_detected``, default 0.6) and the record's ``accuracy``.
- Regressors: metrics ``mae``, ``rmse``; result ``mae`` (detected/potential above ``mae_detected`` /
  ``mae_potential`` when set, else status irrelevant).
Both: metric ``labelled_count``. The task comes from parameter ``task`` (classification|regression),
else the model class name, else the labels (text or few integral values = classification)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from grafana_proxy.model import ResultKind, ResultStatus
from grafana_proxy.monitoring.applications import (
    ApplicationContext,
    EndpointUpdate,
    MetricValue,
    MonitoringApplication,
    Output,
    ResultValue,
)
from grafana_proxy.monitoring.thresholds import classify
from grafana_proxy.vocabulary import MODEL_PERFORMANCE

if TYPE_CHECKING:  # imported where used: the controller role loads this application at start, before any window
    import pandas as pd

_FEW_CLASSES = 20


def _label_for_row(value: Any, row: int) -> Any:
    if isinstance(value, list):
        return value[row] if row < len(value) else None
    return value if row == 0 else None


def _prediction(prediction: Any, output: Any) -> Any:
    """The row's prediction: the numeric column, else the first element of the JSON output."""
    if isinstance(prediction, float) and not math.isnan(prediction):
        return prediction
    if isinstance(output, str):
        try:
            parsed = json.loads(output)
        except ValueError:
            return output
        if isinstance(parsed, list):
            return parsed[0] if parsed else None
        return parsed
    return None


def _as_class(value: Any) -> str:
    """Compare classes as text, with 1, 1.0 and "1" the same class."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float) and float(value).is_integer():
        return str(int(value))
    return str(value)


def joined(ctx: ApplicationContext) -> pd.DataFrame:
    """Rows of the window that have a label: columns ``prediction`` and ``label``."""
    import pandas as pd

    events = ctx.events
    if ctx.ground_truth is None or "request_id" not in events.columns or events.empty:
        return pd.DataFrame({"prediction": [], "label": []})
    labels = ctx.ground_truth.get(ctx.project, [str(r) for r in events["request_id"].dropna().unique()])
    rows = events["row"] if "row" in events.columns else pd.Series(0, index=events.index)
    predictions = events["prediction"] if "prediction" in events.columns else pd.Series(np.nan, index=events.index)
    outputs = events["output"] if "output" in events.columns else pd.Series(None, index=events.index)
    pairs = []
    for request_id, row, prediction, output in zip(events["request_id"], rows, predictions, outputs, strict=True):
        truth = labels.get(str(request_id))
        if truth is None:
            continue
        label = _label_for_row(truth.value, int(row))
        guess = _prediction(prediction, output)
        if label is not None and guess is not None:
            pairs.append((guess, label))
    return pd.DataFrame(pairs, columns=["prediction", "label"])


def _task(ctx: ApplicationContext, labels: pd.Series) -> str:
    import pandas as pd

    task = str(ctx.param("task", "") or "").lower()
    if task in ("classification", "regression"):
        return task
    model_class = ctx.endpoint.model_class.lower()
    if "classif" in model_class:
        return "classification"
    if "regress" in model_class:
        return "regression"
    numeric = pd.to_numeric(labels, errors="coerce")
    if numeric.isna().any():
        return "classification"
    integral = bool(np.all(np.mod(numeric.to_numpy(dtype=np.float64), 1) == 0))
    return "classification" if integral and numeric.nunique() <= _FEW_CLASSES else "regression"


def classification_metrics(predictions: list[str], labels: list[str]) -> dict[str, float]:
    pred, true = np.asarray(predictions), np.asarray(labels)
    f1s = []
    for cls in sorted(set(predictions) | set(labels)):
        tp = float(np.sum((pred == cls) & (true == cls)))
        fp = float(np.sum((pred == cls) & (true != cls)))
        fn = float(np.sum((pred != cls) & (true == cls)))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return {"accuracy": float(np.mean(pred == true)), "f1_macro": float(np.mean(f1s))}


def regression_metrics(predictions: np.ndarray[Any, Any], labels: np.ndarray[Any, Any]) -> dict[str, float]:
    errors = predictions - labels
    return {"mae": float(np.mean(np.abs(errors))), "rmse": float(np.sqrt(np.mean(errors**2)))}


class ModelPerformance(MonitoringApplication):
    name = MODEL_PERFORMANCE
    params_schema: ClassVar[Mapping[str, type] | None] = {
        "task": str,
        "ground_truth_delay_minutes": float,
        "accuracy_potential": float,
        "accuracy_detected": float,
        "mae_potential": float,
        "mae_detected": float,
    }

    def delay_ms(self, params: Mapping[str, Any]) -> int:
        return int(float(params.get("ground_truth_delay_minutes", 60)) * 60_000)

    def do_tracking(self, context: ApplicationContext) -> list[Output]:
        import pandas as pd

        pairs = joined(context)
        out: list[Output] = [MetricValue("labelled_count", float(len(pairs)))]
        if pairs.empty:
            return out
        if _task(context, pairs["label"]) == "classification":
            metrics = classification_metrics(
                [_as_class(v) for v in pairs["prediction"]], [_as_class(v) for v in pairs["label"]]
            )
            # Accuracy is worse when lower: potential below 0.8, detected below 0.6 by default.
            potential = context.float_param("accuracy_potential", 0.8)
            detected = context.float_param("accuracy_detected", 0.6)
            accuracy = metrics["accuracy"]
            status = classify(accuracy, potential, detected, lower_is_worse=True)
            out += [MetricValue(k, v) for k, v in metrics.items()]
            out.append(
                ResultValue(
                    "accuracy",
                    accuracy,
                    ResultKind.model_performance,
                    status,
                    {**metrics, "labelled": len(pairs), "task": "classification"},
                )
            )
            out.append(EndpointUpdate({"accuracy": accuracy}))
            return out
        predictions = pd.to_numeric(pairs["prediction"], errors="coerce").to_numpy(dtype=np.float64)
        labels = pd.to_numeric(pairs["label"], errors="coerce").to_numpy(dtype=np.float64)
        usable = np.isfinite(predictions) & np.isfinite(labels)
        if not usable.any():
            return out
        metrics = regression_metrics(predictions[usable], labels[usable])
        out += [MetricValue(k, v) for k, v in metrics.items()]
        status = ResultStatus.irrelevant
        if context.param("mae_detected") is not None and context.param("mae_potential") is not None:
            potential, detected = context.float_param("mae_potential", 0.0), context.float_param("mae_detected", 0.0)
            status = classify(metrics["mae"], potential, detected)
        out.append(
            ResultValue(
                "mae",
                metrics["mae"],
                ResultKind.model_performance,
                status,
                {**metrics, "labelled": int(usable.sum()), "task": "regression"},
            )
        )
        return out
