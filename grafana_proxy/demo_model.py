"""A small real classifier served over HTTP, to put behind the gateway in demos and tests.

A logistic model over four iris-like features (fixed weights, so every run answers the same), with the
routes model services commonly expose: MLRun V2 ``POST /v2/models/{name}/infer`` (``{"inputs": [[...]]}`` or
Open Inference tensors) and KServe V1 ``POST /v1/models/{name}:predict`` (``{"instances": [[...]]}``)."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import numpy.typing as npt
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
# Typical training means/stds of the features (the traffic generator draws from these).
FEATURE_MEANS = (5.8, 3.0, 3.8, 1.2)
FEATURE_STDS = (0.8, 0.4, 1.7, 0.7)
_WEIGHTS = np.array([-0.4, -1.1, 1.3, 1.9])
_BIAS = -3.2


def predict_proba(rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Probability of class 1 per row."""
    result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-(rows @ _WEIGHTS + _BIAS)))
    return result


def _rows(data: Any) -> npt.NDArray[np.float64]:
    """Accept ``[[4 values], ...]``, one ``[4 values]`` row, named rows, or Open Inference tensors."""
    if isinstance(data, list) and data and all(isinstance(t, dict) and "data" in t for t in data):
        data = np.asarray(data[0]["data"], dtype=np.float64).reshape(-1, len(FEATURES)).tolist()
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        data = [[r[name] for name in FEATURES] for r in data]
    array = np.asarray(data, dtype=np.float64)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2 or array.shape[1] != len(FEATURES):
        raise ValueError(f"each input row needs {len(FEATURES)} numbers: {', '.join(FEATURES)}")
    return array


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"message": message, "error": "bad request"}, status_code=400)


def create_demo_model_app() -> FastAPI:
    app = FastAPI(title="grafana-proxy demo model", description="A logistic classifier over four features.")

    async def _body_rows(request: Request, key: str) -> npt.NDArray[np.float64]:
        try:
            body = await request.json()
        except ValueError:
            raise ValueError("body is not JSON") from None
        if not isinstance(body, dict) or key not in body:
            raise ValueError(f'expected a JSON object with "{key}"')
        try:
            return _rows(body[key])
        except (TypeError, KeyError) as exc:
            raise ValueError(f"cannot read {key}: {exc}") from None

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v2/models/{name}")
    def metadata(name: str) -> dict[str, Any]:
        return {"name": name, "version": "1", "inputs": [{"name": f, "datatype": "FP64"} for f in FEATURES]}

    @app.post("/v2/models/{name}/infer", response_model=None)
    async def infer(name: str, request: Request) -> dict[str, Any] | JSONResponse:
        try:
            rows = await _body_rows(request, "inputs")
        except ValueError as exc:
            return _bad(str(exc))
        labels = (predict_proba(rows) >= 0.5).astype(int).tolist()
        return {"id": uuid.uuid4().hex, "model_name": name, "outputs": labels}

    @app.post("/v1/models/{name}:predict", response_model=None)
    async def predict(name: str, request: Request) -> dict[str, Any] | JSONResponse:
        del name  # any model name answers: the demo serves one model
        try:
            rows = await _body_rows(request, "instances")
        except ValueError as exc:
            return _bad(str(exc))
        return {"predictions": (predict_proba(rows) >= 0.5).astype(int).tolist()}

    return app
