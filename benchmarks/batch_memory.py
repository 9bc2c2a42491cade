"""Peak memory of a large batch: ROWS x COLS float features (plus prediction and label) as one Parquet file,
submitted (1) by ``grafana-proxy batch submit`` (peak RSS of that process, from ``/usr/bin/time -v``) and
(2) over HTTP by the Python client to a ``grafana-proxy serve`` process: the VmHWM (from /proc) of its api
role, which receives the file, and of its ingest role, which reads it into the stores; the client's own
peak from getrusage. ``--no-cli`` skips (1).

    python -m benchmarks.batch_memory --rows 1000000 --cols 100 --work /tmp/batch-bench

The file is written row group by row group (50,000 rows), so making it needs little memory either."""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console

from benchmarks.memory import rss_mb
from benchmarks.procs import free_port

T0 = "2026-01-01T00:00:00Z"
console = Console(highlight=False)


def make_file(path: Path, rows: int, cols: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    names = [f"f{i}" for i in range(cols)]
    schema = pa.schema([*(pa.field(n, pa.float64()) for n in names), ("prediction", pa.int64()), ("label", pa.int64())])
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for start in range(0, rows, 50_000):
            n = min(50_000, rows - start)
            arrays = [pa.array(rng.normal(0, 1, n)) for _ in names]
            arrays += [pa.array(rng.integers(0, 2, n)), pa.array(rng.integers(0, 2, n))]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))


def cli_peak(path: Path, env: dict[str, str]) -> tuple[float, float]:
    """(peak RSS MB, seconds) of ``batch submit``."""
    command = [
        "/usr/bin/time", "-v", sys.executable, "-m", "grafana_proxy.cli.main", "batch", "submit", str(path),
        "-p", "bench", "--job", "cli-rss", "--label", "label", "--time", T0,
    ]  # fmt: skip
    began = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - began
    if done.returncode:
        raise SystemExit(f"batch submit failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    kb = next(int(line.split(":")[1]) for line in done.stderr.splitlines() if "Maximum resident set size" in line)
    return kb * 1024 / 1e6, seconds


def _role_pids(data_dir: Path) -> dict[str, int]:
    import orjson

    state = orjson.loads((data_dir / "spool" / "status" / "roles.json").read_bytes())
    return {name: int(role["pid"]) for name, role in state["roles"].items() if role["pid"] is not None}


def server_peak(path: Path, env: dict[str, str], work: Path) -> tuple[dict[str, float], float, float]:
    """({role: VmHWM MB}, client peak MB, seconds) of an upload through the Python client."""
    from grafana_proxy.client import Client

    port = free_port()
    env = {**env, "GRAFANA_PROXY_PORT": str(port), "GRAFANA_PROXY_AUTH": "none"}
    log = (work / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "grafana_proxy.cli.main", "serve"], env=env, stdout=log, stderr=log
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(url) as probe:
                    probe.monitoring(project="bench")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        began = time.monotonic()
        with Client(url, project="bench") as client:
            report = client.submit_batch(path, job="http-rss", label="label", time=T0)
        seconds = time.monotonic() - began
        assert report.rows > 0
        pids = _role_pids(Path(env["GRAFANA_PROXY_DATA_DIR"]))
        server_mb = {role: rss_mb(pids[role])["VmHWM"] for role in ("api", "ingest")}
    finally:
        server.terminate()
        server.wait(30)
    client_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6
    return server_mb, client_mb, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--no-cli", action="store_true", help="Only the HTTP upload.")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    path = args.work / f"batch-{args.rows}x{args.cols}.parquet"
    if not path.exists():
        make_file(path, args.rows, args.cols)
    env = {
        **os.environ,
        "GRAFANA_PROXY_DATA_DIR": str(args.work / "data"),
        "GRAFANA_PROXY_CONTROLLER_IN_SERVE": "false",
    }
    env.pop("GRAFANA_PROXY_DB_URL", None)
    size_mb = path.stat().st_size / 1e6
    console.print(f"file: {args.rows} rows x {args.cols} float columns + prediction + label, Parquet {size_mb:.0f} MB")
    if not args.no_cli:
        cli_mb, cli_s = cli_peak(path, env)
        console.print(f"batch submit (CLI): peak RSS {cli_mb:.0f} MB, {cli_s:.0f} s")
    server_mb, client_mb, http_s = server_peak(path, env, args.work)
    console.print(
        f"HTTP upload: api role peak RSS (VmHWM) {server_mb['api']:.0f} MB, ingest role {server_mb['ingest']:.0f} MB, "
        f"client peak RSS {client_mb:.0f} MB, {http_s:.0f} s (until the rows are stored)"
    )


if __name__ == "__main__":
    main()
