"""The ``grafana-proxy`` command: wiring only; each command group lives in its own module."""

from __future__ import annotations

import typer

from grafana_proxy.cli import dashboards, db, keys, monitor, pipeline, run
from grafana_proxy.cli.demo import demo
from grafana_proxy.cli.seed import seed
from grafana_proxy.cli.serve import serve

app = typer.Typer(
    name="grafana-proxy",
    help="One Grafana datasource for models in production.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold access keys
)
app.command()(serve)
app.add_typer(run.app, name="run")
app.command()(demo)
app.command()(seed)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(dashboards.app, name="dashboards")
app.command()(dashboards.provision)
# Pipeline (issue 3), wired as cli/pipeline.py and cli/monitor.py describe.
app.command()(pipeline.gateway)
app.command("demo-model")(pipeline.demo_model)
app.command()(pipeline.traffic)
app.add_typer(pipeline.archive_app, name="archive")
app.command()(monitor.controller)
app.add_typer(monitor.reference_app, name="reference")

if __name__ == "__main__":  # `python -m grafana_proxy.cli.main`, used by the tests' subprocesses
    app()
