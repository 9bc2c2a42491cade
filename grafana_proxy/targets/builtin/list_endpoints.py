"""``list_endpoints``: as a search, the endpoint uids of a project (for the MODELENDPOINT variable; as
variable options named by the endpoint name);
as a query, the endpoints table with MLRun 1.7's columns plus 1.8's ``endpoint_name`` and
``sampling_percentage``. Both honour the same filters, so a variable and a table agree.

Unlike MLRun, every row is exactly as long as the header, numbers are numbers (``accuracy`` is null
rather than the string "N/A") and ``filter_router=False`` really means no filter."""

from __future__ import annotations

from grafana_proxy.model import EndpointSummary
from grafana_proxy.targets.base import Choice, Column, Frame, QueryContext, Table, Target
from grafana_proxy.targets.builtin._common import FILTER_PARAMS, endpoint_filter

COLUMNS: tuple[Column, ...] = (
    Column("endpoint_id", "string"),
    Column("endpoint_name", "string"),
    Column("endpoint_function", "string"),
    Column("endpoint_model", "string"),
    Column("endpoint_model_class", "string"),
    Column("first_request", "time"),
    Column("last_request", "time"),
    Column("accuracy", "number"),
    Column("error_count", "number"),
    Column("drift_status", "number"),
    Column("predictions_per_second", "number"),
    Column("latency_avg_1h", "number"),
    Column("sampling_percentage", "number"),
)


# The summary fields behind COLUMNS, in column order (the store returns rows as tuples of these).
ROW_FIELDS: tuple[str, ...] = (
    "uid",
    "name",
    "function_uri",
    "model",
    "model_class",
    "first_request",
    "last_request",
    "accuracy",
    "error_count",
    "drift_status",
    "predictions_per_second",
    "latency_avg_1h",
    "sampling_percentage",
)


def _summaries(ctx: QueryContext) -> list[EndpointSummary]:
    return ctx.stores.endpoints.summaries(ctx.project(), endpoint_filter(ctx))


def search(ctx: QueryContext) -> list[str]:
    return [s.uid for s in _summaries(ctx)]


def choices(ctx: QueryContext) -> list[Choice]:
    # Drop-downs show the endpoint's name; the variable's value stays the uid every target takes.
    return [Choice(s.name or s.uid, s.uid) for s in _summaries(ctx)]


def query(ctx: QueryContext) -> list[Frame]:
    # Tuples straight from the store: 10,000 endpoints cost no object and no list per row.
    rows = ctx.stores.endpoints.summary_rows(ctx.project(), endpoint_filter(ctx), ROW_FIELDS)
    return [Table(columns=COLUMNS, rows=rows)]


TARGETS: tuple[Target, ...] = (
    Target(
        name="list_endpoints",
        description="Endpoints of a project: uids (search) or the endpoints table (query).",
        params=("project", *FILTER_PARAMS),
        search=search,
        query=query,
        choices=choices,
    ),
)
