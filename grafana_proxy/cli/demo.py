"""``grafana-proxy demo``: the embedded set-up in one command. History (7 days, synthetic generator) when
the store is empty, a read key, then the live pipeline: demo model, gateway, traffic with a drift phase,
and serve with the controller in-process (grafana_proxy.seeding.live). Ctrl-C / SIGTERM stop it."""

from __future__ import annotations

import signal
import threading
from dataclasses import replace
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from grafana_proxy.cli.common import err, fail, load_settings, opened_stores, out
from grafana_proxy.cli.preflight import require_free_port, require_free_spool
from grafana_proxy.seeding.demo import DEMO_DAYS, KEY_HEADER, DemoInfo, prepare_demo

if TYPE_CHECKING:
    from grafana_proxy.seeding.live import LivePlan


def ready_block(info: DemoInfo, plan: LivePlan, base_period: float, history: list[str]) -> str:
    """What the demo prints once everything answers, the same on every run. ``history`` names the
    synthetic projects in the store; ``info.seeded`` says whether this run seeded them."""
    if info.seeded:
        days = (info.seeded[0].end_ms - info.seeded[0].start_ms) / 86_400_000
        seeded = f"{days:g} days of synthetic data (generator, not live) in {', '.join(history)}"
    elif history:
        seeded = f"synthetic data (generator, not live) in {', '.join(history)}, seeded by an earlier run"
    else:
        seeded = "none (not seeded)"
    drift = f"drift after {plan.drift_after:g} s" if plan.drift_after < plan.duration else "no drift"
    docs = info.url.split("/api/", 1)[0] + "/docs"
    lines = [
        "Ready. Add the datasource below in Grafana, or paste the curl line.",
        f"History:                {seeded}",
        f"Live:                   traffic {plan.rate:g}/s for {plan.duration:g} s ({drift}) -> "
        f"gateway {plan.gateway_url} -> model {plan.model_url}; project {plan.project}",
        f"Controller:             every {base_period:g} min (demo setting), in serve",
        f"Grafana datasource URL: {info.url}",
        f"Custom HTTP header:     {KEY_HEADER}",
        f"Read key:               {info.key}",
        f"Projects:               {', '.join([*history, plan.project])}",
        f"API docs:               {docs}",
        "Try it:",
        info.curl,
        "Ctrl-C stops everything (traffic, gateway, serve, model); the data stays for the next run.",
    ]
    return "\n".join(lines)


def _wait_for_signal() -> None:
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(1.0):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def demo(
    host: Annotated[str, typer.Option(help="Address every demo server binds to.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the datasource (serve).")] = 8080,
    gateway_port: Annotated[int, typer.Option(help="Port of the monitor gateway.")] = 8081,
    model_port: Annotated[int, typer.Option(help="Port of the demo model service.")] = 8090,
    no_seed: Annotated[bool, typer.Option("--no-seed", help="Do not seed the history projects.")] = False,
    history_days: Annotated[float, typer.Option(help="Days of synthetic history to seed.")] = DEMO_DAYS,
    rate: Annotated[float, typer.Option(help="Live requests per second.")] = 5.0,
    duration: Annotated[float, typer.Option(help="Seconds of live traffic (then it keeps serving).")] = 3600.0,
    drift_after: Annotated[float, typer.Option(help="Seconds of live traffic before the drift phase.")] = 300.0,
) -> None:
    """Seed history (if the store is empty), create a read key, run the live pipeline, print how to connect."""
    # Servers, pandas and the app load only when the demo runs, not for every other command.
    from grafana_proxy.logs import setup_logging
    from grafana_proxy.seeding.live import LIVE_PROJECT, LivePlan, demo_settings, start_live

    settings = demo_settings(load_settings())
    plan = replace(
        LivePlan(),
        host=host,
        port=port,
        gateway_port=gateway_port,
        model_port=model_port,
        rate=rate,
        duration=duration,
        drift_after=drift_after,
    )
    if len({port, gateway_port, model_port}) < 3:
        raise fail("--port, --gateway-port and --model-port must differ")
    # Before anything is seeded or a key is made: a demo that cannot start leaves nothing behind.
    for server_port, what, option in (
        (port, "grafana-proxy serve or demo", "--port"),
        (gateway_port, "gateway or demo", "--gateway-port"),
        (model_port, "demo model or demo", "--model-port"),
    ):
        require_free_port(host, server_port, what, option)
    require_free_spool(settings, "serve", "`grafana-proxy serve` or `demo`")
    require_free_spool(settings, f"gateway-{gateway_port}", "gateway or `demo`")
    err.print(f"opening the store in {settings.data_dir}")
    with opened_stores(settings) as stores:
        progress = Progress(TextColumn("seeding {task.description}"), BarColumn(), MofNCompleteColumn(), console=err)
        tasks: dict[str, TaskID] = {}

        def report(project: str, done: int, total: int) -> None:
            if project not in tasks:
                tasks[project] = progress.add_task(project, total=total)
            progress.update(tasks[project], completed=done)

        existing = stores.endpoints.projects()
        if no_seed:
            err.print("not seeding (--no-seed)")
        elif existing:  # prepare_demo seeds an empty store only
            err.print(f"not seeding: the store already holds {', '.join(existing)}")
        else:
            err.print(f"empty store: seeding {history_days:g} days of history with the synthetic generator")
        with progress:
            info = prepare_demo(stores, host, port, seed=not no_seed, progress=report, days=history_days)
        history = [p for p in info.projects if p != LIVE_PROJECT]
        info = replace(info, projects=history, live_project=plan.project)
        setup_logging(settings.log_level, settings.log_json)
        err.print(
            f"starting the demo model (:{model_port}), the gateway (:{gateway_port}), serve (:{port}) "
            f"and {rate:g} calls/s of traffic"
        )
        try:
            live = start_live(settings, stores, plan)
        except Exception as error:
            # The read key was made for this run and is printed only once it runs: a key nobody saw must
            # not stay valid.
            stores.keys.revoke(info.key_id)
            if isinstance(error, RuntimeError | ValueError | OSError):
                raise fail(f"{error} (the demo's read key {info.key_id} was revoked)") from None
            raise
        try:
            out.print()
            out.print(ready_block(info, plan, settings.monitoring_base_period_minutes, history), markup=False)
            out.print()
            _wait_for_signal()
            err.print("stopping: traffic, gateway, serve, model")
        finally:
            live.stop()
