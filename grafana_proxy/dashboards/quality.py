"""The Details dashboard's "Data quality" row: per-feature quality of the newest window, the status of
each data-quality check and the outlier share over time, and the reports applications kept (Evidently's
HTML report among them) with a link that opens each through Grafana's data proxy."""

from __future__ import annotations

from grafana_proxy.dashboards import names as n
from grafana_proxy.dashboards.panels import Board, override, thresholds
from grafana_proxy.dashboards.query import Query, cols

ONE = "project=$PROJECT;endpoint_id=$MODELENDPOINT"
SHARE_THRESHOLDS = thresholds(("green", None), ("orange", 0.05), ("red", 0.2))
STATUS_MAPPING = {
    "type": "value",
    "options": {
        "-1": {"text": "Irrelevant", "index": 0},
        "0": {"text": "OK", "index": 1},
        "1": {"text": "Potential", "index": 2},
        "2": {"text": "Detected", "index": 3},
    },
}
QUALITY_COLUMNS = cols(
    "feature_name:s missing_share wrong_type_share out_of_range_share unseen_category_share outlier_share time:t"
)
ARTIFACT_COLUMNS = cols("time:t endpoint_id:s application:s name:s content_type:s size link:s")


def quality_overrides() -> list[dict[str, object]]:
    titles = {
        "missing_share": "Missing",
        "wrong_type_share": "Wrong type",
        "out_of_range_share": "Out of range",
        "unseen_category_share": "Unseen categories",
        "outlier_share": "Outliers",
    }
    cell = {"type": "color-background", "mode": "basic"}
    out = [override("feature_name", displayName="Feature"), override("time", displayName="Window end")]
    for col, title in titles.items():
        out.append(
            override(
                col,
                displayName=title,
                unit="percentunit",
                decimals=2,
                custom__cellOptions=cell,
                thresholds=SHARE_THRESHOLDS,
                color={"mode": "thresholds"},
            )
        )
    return out


def artifact_link(ds_uid: str) -> list[dict[str, object]]:
    """Grafana's data proxy adds the datasource's key header, so the link works without handling a key."""
    return [
        {
            "title": "Open ${__data.fields.name}",
            "url": f"/api/datasources/proxy/uid/{ds_uid}/${{__data.fields.link}}",
            "targetBlank": True,
        }
    ]


def add_quality_row(b: Board) -> None:
    b.row("Data quality", "Input data quality, outliers and the reports of the monitoring applications.")
    b.table(
        "Data quality per feature",
        "Newest analysed window: share of missing values, of values of the wrong type, outside the training "
        "range, of categories unseen in training, and of outlying values (beyond 3 IQR of the training quartiles). "
        "Orange from 5%, red from 20%.",
        Query(f"target_endpoint=data_quality;{ONE}", "table", QUALITY_COLUMNS),
        (12, 8),
        quality_overrides(),
    )
    b.state_timeline(
        "Data quality status",
        "Status of each data-quality check and of the outlier share per analysed window.",
        Query(f"target_endpoint=app_results;{ONE};application={n.DATA_QUALITY_APP};field=status"),
        (12, 8),
        STATUS_MAPPING,
    )
    b.newline()
    b.timeseries(
        "Outlier share",
        "Share of each window's rows with a value far outside the training distribution; 1% potential, 5% detected.",
        [Query(f"target_endpoint=app_results;{ONE};application={n.OUTLIERS_APP};name={n.OUTLIER_RESULT};field=value")],
        (12, 8),
        unit="percentunit",
        extra={"min": 0},
        steps=thresholds(("green", None), ("orange", 0.01), ("red", 0.05)),
    )
    b.table(
        "Reports",
        "Files kept by the monitoring applications per window (Evidently's HTML report among them); "
        "click a name to open it.",
        Query(f"target_endpoint=list_artifacts;{ONE}", "table", ARTIFACT_COLUMNS),
        (12, 8),
        [
            override("time", displayName="Window end"),
            override("application", displayName="Application"),
            override("name", displayName="Report", links=artifact_link(b.flavour.ds_uid)),
            override("content_type", displayName="Type"),
            override("size", displayName="Size", unit="bytes"),
            override("endpoint_id", displayName="Endpoint ID"),
            # Hidden by an override, not removed by a transformation: the data link reads this field of
            # the row, and a field the organize transformation excludes is gone from the frame.
            override("link", custom__hidden=True),
        ],
    )
