"""The traffic generator against the real demo model: named rows, the failing share, the drift phase,
the stop event and the loopback guard."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from fastapi import FastAPI, Request

from grafana_proxy.demo_model import FEATURE_MEANS, FEATURE_STDS, FEATURES, create_demo_model_app
from grafana_proxy.traffic import DRIFT_SHIFT_STDS, run_traffic, training_frame
from tests.servers import serve_in_thread


def _recording_model() -> tuple[FastAPI, list[dict[str, object]]]:
    app = create_demo_model_app()
    seen: list[dict[str, object]] = []

    @app.middleware("http")
    async def record(request: Request, call_next):  # type: ignore[no-untyped-def]
        seen.append(await request.json())
        return await call_next(request)

    return app, seen


def test_named_rows_errors_and_drift_reach_the_model() -> None:
    app, seen = _recording_model()
    with serve_in_thread(app) as url:
        report = run_traffic(url, rate=200, duration=1.5, drift_after=0.75, error_share=0.2, seed=5)
    # Enough calls for the statistics below; no throughput claim (that lives in benchmarks/).
    assert report.sent == len(seen) and report.sent >= 60
    assert 0 < report.failed < report.sent / 2 and 0 < report.drifted < report.sent
    rows = [body["inputs"][0] for body in seen]  # type: ignore[index]
    complete = [r for r in rows if set(r) == set(FEATURES)]
    assert len(rows) - len(complete) == report.failed  # exactly the calls lacking a feature failed
    early = np.array([[r[f] for f in FEATURES] for r in complete[: len(complete) // 4]])
    late = np.array([[r[f] for f in FEATURES] for r in complete[-len(complete) // 4 :]])
    shift = (late.mean(axis=0) - early.mean(axis=0)) / np.array(FEATURE_STDS)
    assert np.allclose(shift, DRIFT_SHIFT_STDS, atol=0.6)


def test_stop_event_ends_it_and_remote_urls_are_refused() -> None:
    stop = threading.Event()
    with serve_in_thread(create_demo_model_app()) as url:
        timer = threading.Timer(0.5, stop.set)
        timer.start()
        report = run_traffic(url, rate=20, duration=60, stop=stop)
    assert report.seconds < 5 and report.failed == 0
    with pytest.raises(ValueError, match="loopback"):
        run_traffic("http://192.0.2.1:80", duration=1)
    with pytest.raises(ValueError, match="error share"):
        run_traffic(url, error_share=1.0)


def test_training_frame_is_the_undrifted_distribution() -> None:
    frame = training_frame(rows=4000)
    assert list(frame.columns) == list(FEATURES)
    assert np.allclose(frame.mean().to_numpy(), FEATURE_MEANS, atol=0.1)
