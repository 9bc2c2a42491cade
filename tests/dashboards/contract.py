"""The datasource contract of docs/TEAM-NOTES.md, as data: which target names exist for which kind
of request and which keys each accepts (``project`` etc.; target_endpoint/from/to are common)."""

from __future__ import annotations

FILTERS = ("model", "function", "labels", "uids", "filter_router")
QUERY_TARGETS: dict[str, tuple[str, ...]] = {
    "list_endpoints": ("project", *FILTERS),
    "individual_feature_analysis": ("project", "endpoint_id"),
    "overall_feature_analysis": ("project", "endpoint_id"),
    "incoming_features": ("project", "endpoint_id", "features"),
    "metrics": ("project", "endpoint_id", "metric", "agg", "filter_router"),
    "app_results": ("project", "endpoint_id", "application", "name", "field", "format"),
    "project_summary": ("project",),
    "data_quality": ("project", "endpoint_id"),
    "list_artifacts": ("project", "endpoint_id", "application", "name"),
}
SEARCH_TARGETS: dict[str, tuple[str, ...]] = {
    "list_projects": (),
    "list_endpoints": ("project",),
    "list_metrics": ("project", "endpoint_id", "kind", "application"),
    "list_applications": ("project", "endpoint_id"),
}
ANNOTATION_TARGETS: dict[str, tuple[str, ...]] = {"detections": ("project", "endpoint_id", "application")}
COMMON = ("target_endpoint", "from", "to")
# Columns of the contract's tables (a panel may only read these).
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "data_quality": (
        "feature_name",
        "missing_share",
        "wrong_type_share",
        "out_of_range_share",
        "unseen_category_share",
        "outlier_share",
        "time",
    ),
    "list_artifacts": (
        "time",
        "endpoint_id",
        "application",
        "name",
        "content_type",
        "size",
        "artifact_id",
        "link",
        "url",
        "start_infer_time",
    ),
    "list_endpoints": (
        "endpoint_id",
        "endpoint_name",
        "endpoint_function",
        "endpoint_model",
        "endpoint_model_class",
        "first_request",
        "last_request",
        "accuracy",
        "error_count",
        "drift_status",
        "predictions_per_second",
        "latency_avg_1h",
        "sampling_percentage",
    ),
    "individual_feature_analysis": (
        "feature_name",
        "actual_min",
        "actual_mean",
        "actual_max",
        "expected_min",
        "expected_mean",
        "expected_max",
        "tvd",
        "hellinger",
        "kld",
    ),
    "overall_feature_analysis": ("tvd_sum", "tvd_mean", "hellinger_sum", "hellinger_mean", "kld_sum", "kld_mean"),
    "project_summary": (
        "endpoints",
        "predictions_per_second",
        "latency_avg_1h",
        "error_count",
        "drift_detected",
        "drift_potential",
    ),
}
