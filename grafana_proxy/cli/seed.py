"""``grafana-proxy seed``: synthetic monitoring data for a project (the generator is
``grafana_proxy.seeding``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from grafana_proxy.cli.common import err, fail, load_settings, opened_stores
from grafana_proxy.seeding import SeedOptions, seed_project


def seed(
    project: Annotated[str, typer.Option("--project", "-p", help="Project to write into.")],
    endpoints: Annotated[int, typer.Option("--endpoints", "-n", help="How many endpoints.")] = 10,
    days: Annotated[float, typer.Option("--days", "-d", help="Length of the history, ending now.")] = 7.0,
    step_seconds: Annotated[int, typer.Option("--step-seconds", help="Seconds between points.")] = 60,
    features: Annotated[
        int | None, typer.Option("--features", "-f", help="Features per endpoint (default: 4 to 6).")
    ] = None,
    seed_value: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same data.")] = 0,
) -> None:
    """Write realistic endpoints, metrics, feature series (some drifting part-way) and results."""
    options = SeedOptions(
        project=project,
        endpoints=endpoints,
        days=days,
        step_seconds=step_seconds,
        features=features,
        seed=seed_value,
    )
    try:
        options.validate()
    except ValueError as error:
        raise fail(str(error)) from None
    with opened_stores(load_settings()) as stores:
        progress = Progress(
            TextColumn(f"seeding {project}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=False,
        )
        with progress:
            task = progress.add_task("seed", total=endpoints)
            report = seed_project(stores, options, lambda n: progress.advance(task, n))
    err.print(
        f"{report.project}: {report.endpoints} endpoints, {report.points:,} points, "
        f"{report.results:,} results in {report.seconds:.1f} s"
    )
