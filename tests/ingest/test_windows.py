from __future__ import annotations

from grafana_proxy.ingest.windows import WINDOW_1H, EndpointWindows, Windows

P = 30_000
T0 = 1_790_000_000_000 // 3_600_000 * 3_600_000  # an hour boundary


def _points(windows: Windows, now: int) -> dict[str, dict[int, float]]:
    emitted = windows.emit(now)
    out: dict[str, dict[int, float]] = {}
    for points, _ in emitted.values():
        for p in points:
            out.setdefault(p.name, {})[p.timestamp] = p.value
    return out


def test_counts_latency_and_rate_from_event_time() -> None:
    w = Windows(P, lateness_ms=P)
    for i in range(10):  # 10 events in the first minute, latency 100..1000 µs, one error
        w.add("p", "e", T0 + i * 6_000, rows=1, latency=100.0 * (i + 1), error=i == 3)
    pts = _points(w, T0 + 5 * 60_000 + 2 * P)
    assert pts["predictions_count_5m"][T0 + 60_000] == 10
    assert pts["predictions_count_5m"][T0 + 30_000] == 5
    assert pts["predictions_per_second"][T0 + 60_000] == 10 / 300
    assert pts["latency_avg_5m"][T0 + 60_000] == 550.0
    # 5 minutes after the first events they leave the 5m window but stay in the 1h one.
    assert pts["predictions_count_5m"][T0 + 5 * 60_000 + P] == 5
    assert pts["predictions_count_1h"][T0 + 5 * 60_000] == 10
    assert sum(pts["error_count"].values()) == 1
    state = w.state("p", "e")
    assert state is not None and state.error_count == 1
    assert (state.first_request, state.last_request) == (T0, T0 + 54_000)


def test_late_and_out_of_order_events_land_in_their_window() -> None:
    w = Windows(P, lateness_ms=60_000)
    w.add("p", "e", T0 + 50_000, 1, 10.0, False)
    w.add("p", "e", T0 + 5_000, 1, 10.0, False)  # out of order, same first bucket span
    # At T0+2min only points up to T0+60s are past the lateness horizon.
    first = _points(w, T0 + 120_000)
    assert max(first["predictions_count_5m"]) == T0 + 60_000
    w.add("p", "e", T0 + 70_000, 3, 10.0, False)  # late: arrives after T0+60s was written
    w.add("p", "e", T0 + 20_000, 1, 10.0, False)  # later than the horizon: no written point changes
    later = _points(w, T0 + 200_000)
    assert T0 + 60_000 not in later["predictions_count_5m"]
    assert later["predictions_count_5m"][T0 + 90_000] == 6  # 1 + 1 + 3 + the late one at +20 s
    assert later["predictions_count_5m"][T0 + 120_000] == 6


def test_silence_decays_to_zero_then_stops_and_old_buckets_are_dropped() -> None:
    w = Windows(P, lateness_ms=0)
    w.add("p", "e", T0, 1, None, False)
    pts = _points(w, T0 + 3 * WINDOW_1H)
    counts = pts["predictions_count_1h"]
    assert max(counts) == T0 + WINDOW_1H + P and counts[max(counts)] == 0
    assert "latency_avg_5m" not in pts  # no latency was ever given
    state = w.state("p", "e")
    assert state is not None and state.buckets == {}
    assert _points(w, T0 + 4 * WINDOW_1H) == {}
    # A new burst after the silence starts again at its own time.
    w.add("p", "e", T0 + 5 * WINDOW_1H, 2, None, False)
    assert min(_points(w, T0 + 6 * WINDOW_1H)["predictions_count_1h"]) == T0 + 5 * WINDOW_1H + P


def test_state_round_trips_through_json() -> None:
    w = Windows(P, lateness_ms=P)
    w.add("p", "e", T0, 2, 5.0, True)
    state = w.state("p", "e")
    assert state is not None
    again = EndpointWindows.from_json(state.to_json())
    assert again == state


def test_error_rate_is_failed_requests_over_all_requests_in_five_minutes() -> None:
    w = Windows(P, lateness_ms=0)
    w.add("p", "e", T0 + 1_000, rows=10, latency=1.0, error=False)  # one request of 10 predictions
    w.add("p", "e", T0 + 2_000, rows=1, latency=1.0, error=True)
    w.add("p", "e", T0 + 3_000, rows=1, latency=1.0, error=False)
    w.add("p", "e", T0 + 4_000, rows=1, latency=1.0, error=True)
    w.add("p", "e", T0 + 200_000, rows=1, latency=1.0, error=False)  # a clean request 3 minutes later
    pts = _points(w, T0 + 600_000)
    rate = pts["error_rate"]
    assert rate[T0 + P] == 0.5  # 2 of 4 requests, although 2 of 13 predictions
    assert rate[T0 + 210_000] == 2 / 5
    assert rate[T0 + 330_000] == 0.0  # the failures left the 5-minute window
    assert all(0.0 <= v <= 1.0 for v in rate.values())
    # Once nothing is left in the 5 minutes there is no rate to speak of (the 1h counts go on).
    assert T0 + 540_000 not in rate and pts["predictions_count_1h"][T0 + 540_000] == 14


def test_snapshot_without_request_counts_still_loads() -> None:
    old = {
        "buckets": {str(T0): [3, 30.0, 3, 1]},
        "emitted_until": None,
        "error_count": 1,
        "first_request": T0,
        "last_request": T0,
        "rows_seen": 3,
    }
    state = EndpointWindows.from_json(old)
    assert state.buckets[T0].requests == 3 and state.buckets[T0].errors == 1
