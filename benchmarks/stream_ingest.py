"""Stream-ingest throughput: events/s through JetStream into PostgreSQL with 1 or 2 `grafana-proxy run
ingest` processes, and events per CPU-second of those processes (their CPU time while folding, start-up
excluded).

    python -m benchmarks.stream_ingest [--workers 1] [--batches 60] [--batch 1000]

Publishes the batches first (events-API spool records, as the events API does), then starts the workers
on a fresh PostgreSQL schema and times them from the first folded event to the last."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.conftest import PG_ADMIN_URL
from tests.servers import NATS_URL
from tests.stream.helpers import batch, publish, record, request_ids, settings_for

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    from grafana_proxy.stores.engine import close_stores, open_stores

    token = secrets.token_hex(4)
    stream = {
        "stream_url": NATS_URL,
        "stream_name": f"GP_BENCH_{token}",
        "stream_subject_prefix": f"gp-bench-{token}",
        "stream_consumer": f"gp-bench-{token}",
    }
    schema = f"gp_bench_{token}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db_url = f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(
            stream, db_url, Path(tmp) / "data", archive_batch_seconds=5, window_period_seconds=30, sample_window=10
        )
        stores = open_stores(settings)
        publish(settings, [record(batch(n, args.batch)) for n in range(args.batches)])
        total = args.batches * args.batch
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_PROXY_")}
        env |= {f"GRAFANA_PROXY_{k.upper()}": str(v) for k, v in stream.items()}
        env |= {
            "GRAFANA_PROXY_DB_URL": db_url,
            "GRAFANA_PROXY_ARCHIVE_URL": settings.archive_location,
            "GRAFANA_PROXY_ARCHIVE_BATCH_SECONDS": "5",
        }
        cli = [sys.executable, "-c", "from grafana_proxy.cli.main import app; app()", "run", "ingest"]
        procs = []
        for i in range(args.workers):
            procs.append(subprocess.Popen(cli, env=env | {"GRAFANA_PROXY_DATA_DIR": f"{tmp}/w{i}"}))
        try:
            while request_ids(stores) == 0:
                time.sleep(0.02)
            started = time.monotonic()
            cpu0 = sum(cpu_seconds(p.pid) for p in procs)
            while request_ids(stores) < total:
                time.sleep(0.02)
            elapsed = time.monotonic() - started
            cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu0
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait(30)
            close_stores(stores)
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    sys.stdout.write(
        f"workers={args.workers} events={total} batch={args.batch}: {elapsed:.2f} s, "
        f"{total / elapsed:,.0f} events/s, {cpu:.2f} CPU-s, {total / cpu:,.0f} events per CPU-second\n"
    )


if __name__ == "__main__":
    main()
