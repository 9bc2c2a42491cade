"""The registry finds every built-in module and each target declares the parameters it reads."""

from __future__ import annotations

import pytest

from grafana_proxy.targets.base import TargetError
from grafana_proxy.targets.params import check_keys
from grafana_proxy.targets.registry import load_registry


def test_registry_finds_every_builtin_target() -> None:
    registry = load_registry()
    assert set(registry.names("search")) >= {
        "list_projects",
        "list_endpoints",
        "list_metrics",
        "list_applications",
    }
    assert set(registry.names("query")) >= {
        "list_endpoints",
        "individual_feature_analysis",
        "overall_feature_analysis",
        "incoming_features",
        "metrics",
        "app_results",
        "project_summary",
    }
    assert set(registry.names("annotations")) >= {"detections"}


def test_private_helper_module_is_not_a_target() -> None:
    names = [t.name for t in load_registry()]
    assert not any(name.startswith("_") for name in names)


def test_undeclared_parameter_is_rejected_naming_supported_keys() -> None:
    target = load_registry().get("metrics", "query")
    with pytest.raises(TargetError) as err:
        check_keys({"target_endpoint": "metrics", "project": "p", "metrc": "x"}, target.params, "metrics")
    assert "'metrc'" in err.value.message and "metric" in err.value.message


def test_search_only_target_is_not_a_query() -> None:
    with pytest.raises(TargetError) as err:
        load_registry().get("list_projects", "query")
    assert "list_endpoints" in err.value.message
