"""Pipeline commands: ``gateway``, ``demo-model``, ``traffic``, ``archive compact``.

The gateway's options fall back on the settings ``GRAFANA_PROXY_GATEWAY_SERVICE_URL``, ``..._TABLE_NAME``
and ``..._DB_URL`` (which also accept the older names ``SERVICE_URL``, ``TABLE_NAME`` and ``DB_URL``)."""

from __future__ import annotations

from typing import Annotated

import typer

from grafana_proxy.cli.common import err, fail, load_settings, out

archive_app = typer.Typer(help="The raw-event Parquet archive.", no_args_is_help=True)


def gateway(
    project: Annotated[str, typer.Option("--project", help="Project the calls are recorded under.")],
    service_url: Annotated[
        str | None,
        typer.Option(
            "--service-url", help="URL of the model service to front (default: GRAFANA_PROXY_GATEWAY_SERVICE_URL)."
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="Port the gateway listens on.")] = 8081,
    host: Annotated[str | None, typer.Option(help="Address to bind (default: GRAFANA_PROXY_HOST).")] = None,
    table: Annotated[
        str | None,
        typer.Option(
            "--table", help="Also write one row per call to this table (default: GRAFANA_PROXY_GATEWAY_TABLE_NAME)."
        ),
    ] = None,
    db_url: Annotated[
        str | None,
        typer.Option(
            "--db-url",
            help="SQLAlchemy URL for --table (default: GRAFANA_PROXY_GATEWAY_DB_URL, else the stores' database).",
        ),
    ] = None,
    function: Annotated[str | None, typer.Option(help="Function name in the endpoint id (default: host).")] = None,
    model: Annotated[str | None, typer.Option(help="Model name (default: from the path, else 'default').")] = None,
) -> None:
    """Forward every call to the model service and record it as an inference event."""
    from grafana_proxy.gateway.run import run_gateway
    from grafana_proxy.identifiers import problem
    from grafana_proxy.roles import EXIT_CANNOT_START, CannotStart, check_port
    from grafana_proxy.runtime import Runtime
    from grafana_proxy.stores.base import StoreUnavailable

    for option, reason in (("--project", problem("project", project)), ("--function", _function_problem(function))):
        if reason is not None:
            raise fail(f"{option}: {reason}")
    settings = load_settings()
    host = host or settings.host
    service_url = service_url or settings.gateway_service_url
    if not service_url:
        raise fail("give --service-url URL (or set GRAFANA_PROXY_GATEWAY_SERVICE_URL): the model service to front")
    table = table or settings.gateway_table_name
    db_url = db_url or settings.gateway_db_url
    try:
        check_port(host, port)
        runtime = Runtime.build(settings)
    except CannotStart as exc:
        raise fail(f"gateway: {exc}", EXIT_CANNOT_START) from None
    except StoreUnavailable as exc:
        raise fail(f"gateway: {exc}") from None
    err.print(f"gateway on http://{host}:{port} -> {service_url} (project {project}); the ingest role folds its calls")
    try:
        run_gateway(runtime, service_url, project, host, port, table, db_url, function, model)
    finally:
        runtime.close()


def _function_problem(function: str | None) -> str | None:
    from grafana_proxy.identifiers import problem

    return None if function is None else problem("function_uri", function)


def demo_model(
    port: Annotated[int, typer.Option(help="Port of the demo model service.")] = 8090,
    host: Annotated[str | None, typer.Option(help="Address to bind (default: GRAFANA_PROXY_HOST).")] = None,
) -> None:
    """Serve a small logistic classifier (MLRun V2 and KServe V1 routes) to put behind the gateway."""
    import uvicorn

    from grafana_proxy.demo_model import create_demo_model_app
    from grafana_proxy.roles import EXIT_CANNOT_START, CannotStart, check_port

    host = host or load_settings().host
    try:
        check_port(host, port)
    except CannotStart as exc:
        raise fail(f"demo-model: {exc}", EXIT_CANNOT_START) from None
    err.print(f"demo model on http://{host}:{port}/v2/models/classifier/infer")
    uvicorn.run(create_demo_model_app(), host=host, port=port, log_level="warning")


def traffic(
    url: Annotated[str, typer.Option("--url", help="Gateway (or model service) base URL.")],
    rate: Annotated[float, typer.Option(help="Requests per second.")] = 10.0,
    duration: Annotated[float, typer.Option(help="Seconds to run.")] = 60.0,
    drift_after: Annotated[
        float | None, typer.Option("--drift-after", help="Shift the feature distributions after this many seconds.")
    ] = None,
    model: Annotated[str, typer.Option(help="Model name in the infer path.")] = "classifier",
    allow_remote: Annotated[bool, typer.Option(help="Allow a non-loopback URL.")] = False,
    error_share: Annotated[
        float, typer.Option("--error-share", help="Share of calls sent malformed (the model answers 400).")
    ] = 0.0,
) -> None:
    """Send demo inference traffic (bounded by --duration)."""
    from grafana_proxy.roles import stop_on_signals
    from grafana_proxy.traffic import run_traffic

    stop = stop_on_signals()  # SIGTERM / Ctrl-C end it early, with its report
    try:
        report = run_traffic(url, rate, duration, drift_after, model, allow_remote, error_share=error_share, stop=stop)
    except ValueError as exc:
        raise fail(str(exc)) from None
    out.print(
        f"sent {report.sent} requests in {report.seconds:.1f}s ({report.failed} failed, {report.drifted} drifted)"
    )


@archive_app.command("compact")
def archive_compact(
    project: Annotated[str | None, typer.Option(help="Only this project (default: all).")] = None,
    min_files: Annotated[int, typer.Option(help="Merge partitions with at least this many files.")] = 2,
    min_age: Annotated[float, typer.Option(help="Leave files younger than this many seconds.")] = 300.0,
) -> None:
    """Merge the small files of each archive partition into one."""
    from grafana_proxy.archive import compact
    from grafana_proxy.archive.config import ArchiveConfig

    url = ArchiveConfig.from_settings(load_settings()).archive_url
    report = compact(url, project, min_files, min_age)
    out.print(
        f"{url}: {report.partitions} partitions compacted, {report.files_merged} files merged, "
        f"{report.files_deleted} deleted"
    )
