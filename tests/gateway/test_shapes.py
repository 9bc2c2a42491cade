from __future__ import annotations

from grafana_proxy.gateway.shapes import model_from_path, understand


def test_model_name_and_version_from_the_common_paths() -> None:
    assert model_from_path("/v2/models/churn/infer") == ("churn", None)
    assert model_from_path("/v2/models/churn/versions/3/infer") == ("churn", "3")
    assert model_from_path("/v1/models/churn:predict") == ("churn", None)
    assert model_from_path("/predict") == (None, None)


def test_each_request_shape() -> None:
    v2 = understand("/v2/models/m/infer", {"inputs": [[1, 2]]}, {"outputs": [1]})
    assert (v2.shape, v2.inputs, v2.outputs) == ("mlrun-v2", [[1, 2]], [1])
    v1 = understand("/v1/models/m:predict", {"instances": [[1, 2]]}, {"predictions": [0]})
    assert (v1.shape, v1.inputs, v1.outputs) == ("kserve-v1", [[1, 2]], [0])
    oip = understand(
        "/v2/models/m/infer",
        {
            "inputs": [
                {"name": "a", "shape": [2], "datatype": "FP32", "data": [1, 2]},
                {"name": "b", "shape": [2, 1], "datatype": "FP32", "data": [[3], [4]]},
            ]
        },
        {"outputs": [{"name": "y", "shape": [2], "datatype": "INT64", "data": [0, 1]}]},
    )
    assert (oip.shape, oip.inputs, oip.feature_names, oip.outputs) == (
        "kserve-v2",
        [[1, 3], [2, 4]],
        ["a", "b"],
        [0, 1],
    )
    seed = understand("/", {"inference_input": {"text": "famiglia wifi ", "k": 1}}, {"labels": ["x"]})
    assert (seed.shape, seed.inputs, seed.outputs) == (
        "inference-input",
        {"text": "famiglia wifi ", "k": 1},
        {"labels": ["x"]},
    )
    raw = understand("/", {"image": [[[0, 1]]]}, None)
    assert (raw.shape, raw.inputs, raw.raw) == ("raw", None, {"image": [[[0, 1]]]})
    assert understand("/", "not json", None).shape == "raw"
