"""Understanding a model service call: which model, which inputs, which outputs.

Shapes recognised (request -> response):
- KServe V2 / Open Inference: ``{"inputs": [{"name", "shape", "datatype", "data"}]}`` -> ``{"outputs": [...]}``
- MLRun V2: ``POST /v2/models/{name}/infer`` ``{"inputs": [[...], ...]}`` -> ``{"outputs": [...]}``
- KServe V1: ``POST /v1/models/{name}:predict`` ``{"instances": [...]}`` -> ``{"predictions": [...]}``
- the monitor gateway document: ``{"inference_input": {"text": ..., "k": 1}}`` -> any JSON
Anything else is kept raw (a flat JSON object of plain values still counts as named features)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

_MODEL_PATH = re.compile(r"^/v[12]/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?(?:[:/]|$)")


@dataclass(frozen=True)
class Call:
    """What the gateway learnt from one call; ``raw`` holds the request when its shape was not understood."""

    shape: str
    model: str | None
    version: str | None
    inputs: Any
    feature_names: list[str] | None
    outputs: Any
    raw: Any


def model_from_path(path: str) -> tuple[str | None, str | None]:
    match = _MODEL_PATH.match(path)
    return (match.group("name"), match.group("version")) if match else (None, None)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _tensor_rows(tensor: dict[str, Any]) -> list[list[Any]]:
    """Rows of an Open Inference tensor: ``shape`` [N, F] (or [N]) over a flat or nested ``data``."""
    data = tensor.get("data") or []
    flat: list[Any] = []
    stack = [data]
    while stack:  # flatten nested lists in order without recursion limits
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        else:
            flat.append(item)
    shape = [int(s) for s in tensor.get("shape") or [len(flat)] if isinstance(s, int | float)]
    rows = shape[0] if shape else 1
    width = math.prod(shape[1:]) if len(shape) > 1 else 1
    if rows <= 0 or rows * width != len(flat):
        return [flat]
    return [flat[i * width : (i + 1) * width] for i in range(rows)]


def _open_inference(request: dict[str, Any]) -> tuple[Any, list[str] | None] | None:
    tensors = request.get("inputs")
    if not (isinstance(tensors, list) and tensors and all(isinstance(t, dict) and "data" in t for t in tensors)):
        return None
    per_tensor = [_tensor_rows(t) for t in tensors]
    if len(tensors) == 1:
        return per_tensor[0], None
    # Several tensors: one column per tensor (named), when each holds one value per row.
    if all(len(rows) == len(per_tensor[0]) and all(len(r) == 1 for r in rows) for rows in per_tensor):
        names = [str(t.get("name", f"input_{i}")) for i, t in enumerate(tensors)]
        return [[rows[i][0] for rows in per_tensor] for i in range(len(per_tensor[0]))], names
    return None


def _outputs(response: Any) -> Any:
    if not isinstance(response, dict):
        return response
    outputs = response.get("outputs")
    if isinstance(outputs, list) and outputs and all(isinstance(o, dict) and "data" in o for o in outputs):
        rows = _tensor_rows(outputs[0])
        return [r[0] if len(r) == 1 else r for r in rows]
    if "outputs" in response:
        return outputs
    if "predictions" in response:
        return response["predictions"]
    return response


def understand(path: str, request: Any, response: Any) -> Call:
    """Classify a call; never raises (the gateway must record every call, understood or not)."""
    model, version = model_from_path(path)
    outputs = _outputs(response)
    if isinstance(request, dict):
        tensors = _open_inference(request)
        if tensors is not None:
            return Call("kserve-v2", model, version, tensors[0], tensors[1], outputs, None)
        if isinstance(request.get("inputs"), list):
            return Call("mlrun-v2", model, version, request["inputs"], None, outputs, None)
        if isinstance(request.get("instances"), list):
            return Call("kserve-v1", model, version, request["instances"], None, outputs, None)
        named = request.get("inference_input")
        if isinstance(named, dict) and all(_scalar(v) for v in named.values()):
            return Call("inference-input", model, version, named, None, outputs, None)
        if request and all(_scalar(v) for v in request.values()):
            return Call("named", model, version, request, None, outputs, None)
    return Call("raw", model, version, None, None, outputs, request)
