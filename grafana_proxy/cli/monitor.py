"""Monitoring commands: ``controller [--once]`` (the controller role, or one pass) and ``reference set``.
Wiring in main.py::

app.command()(monitor.controller)
app.add_typer(monitor.reference_app, name="reference")
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from grafana_proxy.cli.common import err, fail, load_settings, opened_stores, out

reference_app = typer.Typer(help="Reference (training) statistics of endpoints.", no_args_is_help=True)


def controller(
    once: Annotated[bool, typer.Option("--once", help="Run one pass (catching up missed windows) and exit.")] = False,
) -> None:
    """Run the monitoring applications on every endpoint's completed windows, every base period (the same
    as ``grafana-proxy run controller``)."""
    if not once:
        from grafana_proxy.cli.run import controller as run_controller

        run_controller()
        return
    from grafana_proxy.monitoring.build import build_controller
    from grafana_proxy.runtime import Runtime

    settings = load_settings()
    with opened_stores(settings) as stores:
        try:
            ctl = build_controller(Runtime.build(settings, stores))
        except ValueError as error:
            raise fail(str(error)) from None
        summary = ctl.run_once()
        out.print(
            f"windows {summary.windows} (empty {summary.empty}), results {summary.results}, "
            f"metric points {summary.points}, failures {len(summary.failures)}"
        )
        for failure in summary.failures:
            err.print(f"[yellow]failed:[/] {failure}")


@reference_app.command("set")
def reference_set(
    project: Annotated[str, typer.Option(help="Project of the endpoint.")],
    endpoint: Annotated[str, typer.Option(help="Endpoint uid.")],
    from_file: Annotated[Path, typer.Option("--from-file", help="Training set, .csv or .parquet.")],
    exclude: Annotated[list[str] | None, typer.Option(help="Column to leave out (e.g. the label); repeatable.")] = None,
    create: Annotated[
        bool, typer.Option("--create", help="Create the endpoint when it does not exist yet (default: refuse).")
    ] = False,
) -> None:
    """Compute feature_stats (MLRun's format, 20-bin histograms) from a training file and store them;
    keep a sample of the training rows in the archive storage for row-based applications (Evidently)."""
    from grafana_proxy.archive.reference import write_reference
    from grafana_proxy.identifiers import problem
    from grafana_proxy.monitoring.stats import load_training_file, reference_stats

    for option, reason in (
        ("--project", problem("project", project)),
        ("--endpoint", problem("endpoint_id", endpoint)),
    ):
        if reason is not None:
            raise fail(f"{option}: {reason}")
    settings = load_settings()
    try:
        frame = load_training_file(from_file)
        names = [str(c) for c in frame.columns if str(c) not in set(exclude or ())]
        stats = reference_stats(frame, names)
    except (OSError, ValueError) as error:
        raise fail(f"cannot read {from_file}: {error}") from None
    with opened_stores(settings) as stores:
        record = stores.endpoints.get(project, endpoint)
        if record is None and not create:
            known = ", ".join(stores.endpoints.uids(project)[:10]) or "none"
            raise fail(
                f"no endpoint {endpoint!r} in project {project!r} (known: {known}); check --endpoint, "
                "or add --create to register it"
            )
        fields: dict[str, object] = {"feature_stats": stats}
        if record is None or not record.feature_names:
            fields["feature_names"] = list(stats)
        stores.endpoints.upsert(project, endpoint, fields)
    archive_url = settings.archive_location
    try:
        kept = write_reference(archive_url, project, endpoint, frame[names])
    except OSError as error:
        raise fail(f"cannot keep the training rows in {archive_url}: {error}") from None
    out.print(f"reference of {project}/{endpoint}: {len(stats)} features from {from_file} ({kept} rows kept)")
