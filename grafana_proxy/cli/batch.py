"""``grafana-proxy batch submit``: a batch-inference file into an endpoint's data, straight into the stores
and archive (like ``reference set``), with a progress bar. Wiring in main.py::

app.add_typer(batch.app, name="batch")
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from grafana_proxy.cli.common import err, fail, load_settings, opened_stores, out

app = typer.Typer(help="Batch inference: files of scored rows, analysed as one window each.", no_args_is_help=True)


@app.command("submit")
def submit(
    file: Annotated[
        Path, typer.Argument(help="A .parquet, .csv or .json (records) file.", exists=True, dir_okay=False)
    ],
    project: Annotated[str, typer.Option("--project", "-p", help="Project name.")],
    endpoint: Annotated[str | None, typer.Option("--endpoint", "-e", help="An existing endpoint's uid.")] = None,
    job: Annotated[
        str | None, typer.Option("--job", help="Without --endpoint: the job whose batch endpoint gets the rows.")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model name of the job's endpoint.")] = None,
    prediction: Annotated[
        list[str] | None, typer.Option("--prediction", help="Prediction column; repeatable (default: prediction).")
    ] = None,
    label: Annotated[str | None, typer.Option("--label", help="Label column (ground truth).")] = None,
    timestamp_column: Annotated[str | None, typer.Option("--timestamp-column", help="Column of row times.")] = None,
    time: Annotated[
        str | None, typer.Option("--time", help="Time of every row (epoch ms or ISO 8601); default: now.")
    ] = None,
    features: Annotated[str | None, typer.Option("--features", help="Feature columns, comma separated.")] = None,
    batch_id: Annotated[str | None, typer.Option("--batch-id", help="Re-using one replaces that batch.")] = None,
) -> None:
    """Store a batch's rows like served traffic (labels as ground truth); the controller analyses it."""
    from grafana_proxy.batch.ingest import BatchSpec, BatchWriter, ingest_file, job_endpoint
    from grafana_proxy.batch.reader import BadBatch, BatchFormat, format_of, total_rows
    from grafana_proxy.clock import InvalidTime, now_ms, parse_time

    if (endpoint is None) == (job is None):
        raise fail("give --endpoint (an existing endpoint) or --job (the job's own batch endpoint)")
    try:
        fmt = format_of(None, file.name)
        at = None if time is None else parse_time(time, now=now_ms(), field="--time")
    except (BadBatch, InvalidTime) as error:
        raise fail(str(error)) from None
    if fmt is BatchFormat.parquet and file.suffix.lower() not in (".parquet", ".pq"):
        raise fail(f"{file.name}: name the file .parquet, .csv or .json")
    spec = BatchSpec(
        predictions=tuple(prediction or ["prediction"]),
        label=label,
        timestamp=timestamp_column,
        time=at,
        features=None if features is None else tuple(f.strip() for f in features.split(",") if f.strip()),
    )
    settings = load_settings()
    with opened_stores(settings) as stores:
        fields = None
        if endpoint is None:
            uid, fields = job_endpoint(project, str(job), model)
        else:
            uid = endpoint
            if stores.endpoints.get(project, uid) is None:
                raise fail(f"endpoint {uid!r} not found in project {project!r}; use --job for a batch endpoint")
        writer = BatchWriter(
            stores,
            stores.ground_truth,
            stores.monitoring,
            settings.archive_location,
            project,
            uid,
            batch_id or uuid.uuid4().hex[:16],
            spec,
            now_ms(),
            settings.sample_window,
        )
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        try:
            with Progress(*columns, console=err, transient=True) as bar:
                task = bar.add_task(f"{file.name} rows", total=total_rows(file, fmt))
                report = ingest_file(writer, file, fmt, fields, lambda rows: bar.advance(task, rows))
        except BadBatch as error:
            raise fail(str(error)) from None
    out.print(
        f"batch {report.batch_id}: {report.rows} rows of {project}/{uid} ({len(report.features)} features, "
        f"{report.labels} labels); the controller analyses it as one window"
    )
