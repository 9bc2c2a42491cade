"""J3: what publishing to NATS JetStream adds to POST /events, against the embedded spool.

Two api roles (``grafana-proxy run api``, one process each, fresh data dirs, no ingest role behind
either, so only the publish path is timed): one with the embedded spool, one with ``stream_url`` set (a
stream of the run's own, deleted afterwards). The same kind of batch (I1's events) goes to both in turn
(A, B, A, B: a slow moment of the machine hits both), each with fresh request ids so JetStream stores
every one. The row is the JetStream median minus the spool median; both sides' median and p99 are in
the comparison column and the details.

    python -m benchmarks.publish_latency [--runs 200] [--warmup 20] [--events 1000]"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx

from benchmarks import pipeline, seeddata, streams
from benchmarks.report import Row, pending
from benchmarks.roles import start_stack
from benchmarks.timing import interleave


def poster(http: httpx.Client, url: str, write_key: str, bodies: Iterator[bytes]) -> Callable[[], object]:
    target = url + pipeline.events_path()
    headers = pipeline.write_headers(write_key)

    def post() -> object:
        answer = http.post(target, content=next(bodies), headers=headers)
        if answer.status_code != 202:
            raise RuntimeError(f"POST {target}: HTTP {answer.status_code}: {answer.text[:200]}")
        return answer

    return post


def measure_publish_latency(runs: int, warmup: int, events: int, work: Path, nats_url: str = streams.NATS_URL) -> Row:
    row = Row(
        "J3",
        f"POST /events, {events:,}-event batch: JetStream minus embedded spool (median added)",
        "ms",
        "reported",
    )
    missing = streams.nats_missing(nats_url)
    if missing is not None:
        return pending(row, missing)
    per_side = runs + warmup
    # Fresh request ids for every post on both sides, encoded before the clock runs.
    bodies = pipeline.i1_batches(2 * per_side * events, events)
    with ExitStack() as cleanup:
        stream_env = cleanup.enter_context(streams.scratch_stream(nats_url))
        http = cleanup.enter_context(httpx.Client(timeout=60))
        posts = []
        for side, env, share in (("spool", {}, bodies[0::2]), ("jetstream", stream_env, bodies[1::2])):
            data_dir = work / f"j3-{side}-data"
            _read_key, write_key = seeddata.create_keys(data_dir)
            stack = start_stack(f"j3-{side}", data_dir, work, env, ingest=False)
            cleanup.callback(stack.stop)
            posts.append(poster(http, stack.url, write_key, iter(share)))
        spool, jetstream = interleave(posts, runs, warmup)
    row.ours = jetstream.median - spool.median
    row.theirs_label = (
        f"JetStream: median {jetstream.median:.1f} ms, p99 {jetstream.p99:.1f} ms; "
        f"spool: median {spool.median:.1f} ms, p99 {spool.p99:.1f} ms"
    )
    row.details = {
        "batch_events": events,
        "batch_bytes": len(bodies[0]),
        "jetstream": jetstream.summary(),
        "spool": spool.summary(),
        "median_added_ms": round(row.ours, 3),
        "p99_added_ms": round(jetstream.p99 - spool.p99, 3),
        "order": f"interleaved spool, JetStream; {warmup} unmeasured rounds first",
    }
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.publish_latency", description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--nats", default=streams.NATS_URL)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="publish-latency-") as tmp:
        row = measure_publish_latency(args.runs, args.warmup, args.events, Path(tmp), args.nats)
    sys.stdout.write(json.dumps(row.as_json(), indent=2) + "\n")
    return 0 if row.status == "measured" else 1


if __name__ == "__main__":
    sys.exit(main())
