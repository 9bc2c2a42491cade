"""The ``grafana-proxy`` command: wiring only; each command group lives in its own module."""

from __future__ import annotations

from typing import Annotated

import typer

from grafana_proxy import __version__
from grafana_proxy.cli import batch, dashboards, db, deadletter, keys, monitor, monitoring, pipeline, run
from grafana_proxy.cli.demo import demo
from grafana_proxy.cli.helptext import TidyGroup
from grafana_proxy.cli.seed import seed
from grafana_proxy.cli.serve import serve

app = typer.Typer(
    name="grafana-proxy",
    help="One Grafana datasource for models in production.",
    no_args_is_help=True,
    cls=TidyGroup,
    pretty_exceptions_show_locals=False,  # locals may hold access keys
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"grafana-proxy {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """One Grafana datasource for models in production."""


app.command()(serve)
app.add_typer(run.app, name="run")
app.command()(demo)
app.command()(seed)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(dashboards.app, name="dashboards")
app.command()(dashboards.provision)
# The monitoring pipeline: gateway, demo model, traffic generator, archive, controller, reference stats.
app.command()(pipeline.gateway)
app.command("demo-model")(pipeline.demo_model)
app.command()(pipeline.traffic)
app.add_typer(pipeline.archive_app, name="archive")
app.command()(monitor.controller)
app.add_typer(monitor.reference_app, name="reference")
app.add_typer(deadletter.app, name="deadletter")
app.add_typer(monitoring.app, name="monitoring")
app.add_typer(batch.app, name="batch")

if __name__ == "__main__":  # `python -m grafana_proxy.cli.main`, used by the tests' subprocesses
    app()
