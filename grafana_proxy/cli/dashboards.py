"""``grafana-proxy dashboards build`` (write or check the generated dashboards and alert rules) and
``grafana-proxy provision`` (push datasource, folder, dashboards and alert rules into a Grafana)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from grafana_proxy.cli.common import err, fail, out

app = typer.Typer(help="Grafana dashboards generated from one Python definition.", no_args_is_help=True)


@app.callback()
def dashboards() -> None:
    """Grafana dashboards generated from one Python definition (a group even with one command)."""


@app.command()
def build(
    out_dir: Annotated[Path, typer.Option("--out", help="Repository root to write into.")] = Path("."),
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 when a committed file differs from the build.")
    ] = False,
) -> None:
    """Render the four dashboards for SimpleJSON and Infinity (importable and provisioning variants)
    and the alert-rule provisioning file."""
    from grafana_proxy.dashboards.render import stale_files, write_files

    if check:
        stale = stale_files(out_dir)
        if stale:
            for rel in stale:
                err.print(f"stale: {rel}")
            raise fail(f"{len(stale)} generated file(s) differ; run `grafana-proxy dashboards build`")
        out.print("all generated files are up to date")
        return
    changed = write_files(out_dir)
    for rel in changed:
        out.print(f"wrote {rel}")
    out.print(f"{len(changed)} file(s) changed")


def provision(
    grafana_url: Annotated[str, typer.Option("--grafana-url", help="Grafana's base URL, e.g. http://localhost:3000.")],
    token: Annotated[str | None, typer.Option("--token", help="Service-account token (Admin role).")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Grafana admin user (with --password).")] = None,
    password: Annotated[str | None, typer.Option("--password", help="Password of --user.")] = None,
    flavour: Annotated[
        Literal["infinity", "simplejson"], typer.Option("--flavour", help="Datasource plugin to use.")
    ] = "infinity",
    key: Annotated[
        str | None, typer.Option("--key", help="grafana-proxy read key Grafana sends as X-V3io-Session-Key.")
    ] = None,
    proxy_url: Annotated[
        str, typer.Option("--proxy-url", help="grafana-proxy's URL as seen from the Grafana server.")
    ] = "http://localhost:8080",
    project: Annotated[
        list[str] | None,
        typer.Option(
            "--project",
            help="Limit the alert rules to this project (repeatable; default: every project the key may read).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite dashboards that were changed in Grafana since the last push.")
    ] = False,
) -> None:
    """Create or update the datasource, the "Model monitoring" folder, the dashboards and (Infinity)
    the alert rules in a running Grafana. A second run changes nothing.

    A dashboard changed in Grafana since it was last pushed is kept (and the command fails) unless
    --force is given."""
    from grafana_proxy.dashboards.alerts import ALERT_PROJECTS
    from grafana_proxy.dashboards.provision import ProvisionError, ProvisionOptions
    from grafana_proxy.dashboards.provision import provision as run

    if bool(token) == bool(user):
        raise fail("give either --token or --user with --password")
    if user and password is None:
        raise fail("--user needs --password")
    opts = ProvisionOptions(
        grafana_url=grafana_url,
        token=token,
        user=user,
        password=password,
        flavour=flavour,
        key=key,
        proxy_url=proxy_url,
        projects=tuple(project or ALERT_PROJECTS),
        force=force,
    )
    try:
        report = run(opts)
    except ProvisionError as error:
        raise fail(str(error)) from None
    for line in report.lines:
        out.print(line)
    out.print("changes made" if report.changed else "nothing to change")
