"""The drift module against scipy on fixed scenarios, with stated tolerances.

Histograms are rebuilt here from the raw values with numpy (20 equal bins over the training range plus
one outer bin on each side), independently of ``binning``. Then:
- exact up to float rounding (rel 1e-9): TVD, Hellinger, KLD, Jensen–Shannon (``scipy.spatial``), PSI,
  the binned KS statistic, χ² (``scipy.stats.chi2_contingency`` without continuity correction, on the
  pooled bins);
- the binned KS p-value within 2e-3 of a Brownian bridge's box probability at the edges
  (``scipy.stats.multivariate_normal.cdf``, Genz's integration, itself accurate to about 1e-4);
- against the raw-data statistic, with proven bounds: KS ``0 <= D_raw - D_binned <= largest bin share``
  (inside a bin each ECDF rises by at most its share); normed Wasserstein within one bin width / std
  (inner values move at most half a bin, outer mass sits at its exact mean)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy import special
from scipy import stats as sps
from scipy.spatial import distance

from grafana_proxy.monitoring.drift import analyze, choose_tests
from grafana_proxy.monitoring.stats import reference_stats

ALL_TESTS = choose_tests(["ks", "chisquare", "psi", "wasserstein", "jensenshannon"])
EXACT = 1e-9

Sampler = Callable[[np.random.Generator, int], np.ndarray]
# name: (training sampler, window sampler, training rows, window rows, drift expected from KS and χ²)
SCENARIOS: dict[str, tuple[Sampler, Sampler, int, int, bool]] = {
    "normal, same": (lambda r, n: r.normal(size=n), lambda r, n: r.normal(size=n), 5000, 5000, False),
    "normal, shift 0.2 std": (lambda r, n: r.normal(size=n), lambda r, n: r.normal(0.2, size=n), 5000, 5000, True),
    "normal, std x1.5": (lambda r, n: r.normal(size=n), lambda r, n: r.normal(0, 1.5, size=n), 5000, 1000, True),
    "lognormal, same": (lambda r, n: r.lognormal(size=n), lambda r, n: r.lognormal(size=n), 5000, 200, False),
    "window beyond the range": (lambda r, n: r.normal(size=n), lambda r, n: r.normal(4, size=n), 5000, 500, True),
    "student t df=3, same": (
        lambda r, n: r.standard_t(3, size=n),
        lambda r, n: r.standard_t(3, size=n),
        5000,
        2000,
        False,
    ),
    "integers with ties, +1 on half": (
        lambda r, n: r.integers(0, 10, n).astype(float),
        lambda r, n: np.clip(r.integers(0, 10, n) + r.integers(0, 2, n), 0, 9).astype(float),
        4000,
        3000,
        True,
    ),
}


def padded_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts below e0 | 20 inner bins (last one closed) | above e20."""
    inner = np.histogram(values[(values >= edges[0]) & (values <= edges[-1])], bins=edges)[0]
    return np.concatenate(([np.sum(values < edges[0])], inner, [np.sum(values > edges[-1])])).astype(float)


def binned_ks_p_value(d: float, cur: np.ndarray, ref: np.ndarray) -> float:
    """P(max_k |B(t_k)| >= d·sqrt(nm/(n+m))) for a Brownian bridge at the pooled ECDF of the edges:
    one minus a multivariate normal box probability (scipy's Genz integration)."""
    n, m = cur.sum(), ref.sum()
    times = np.unique(np.cumsum(cur + ref)[:-1] / (n + m))
    times = times[(times > 1e-12) & (times < 1 - 1e-12)]
    cov = np.minimum.outer(times, times) - np.outer(times, times)
    limit = np.full(times.size, d * np.sqrt(n * m / (n + m)))
    mvn = sps.multivariate_normal(mean=np.zeros(times.size), cov=cov, allow_singular=True)
    return float(1 - mvn.cdf(limit, lower_limit=-limit, rng=np.random.default_rng(0)))


def pooled_table(cur: np.ndarray, ref: np.ndarray, n_cur: int, n_ref: int) -> np.ndarray:
    """Adjacent bins pooled left to right until each holds 5 / min(n_cur, n_ref) of the reference."""
    need = 5 / min(n_cur, n_ref)
    pools: list[list[int]] = [[]]
    filled = 0.0
    for j, share in enumerate(ref / n_ref):
        pools[-1].append(j)
        filled += share
        if filled >= need * (1 - 1e-9):
            pools.append([])
            filled = 0.0
    if len(pools) > 1:
        tail = pools.pop()
        pools[-1].extend(tail)
    table = np.array([[cur[p].sum() for p in pools], [ref[p].sum() for p in pools]])
    return table[:, table.sum(axis=0) > 0]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_drift_module_agrees_with_scipy(scenario: str) -> None:
    train_draw, window_draw, n_ref, n_cur, drifted = SCENARIOS[scenario]
    rng = np.random.default_rng(sorted(SCENARIOS).index(scenario))
    ref, cur = train_draw(rng, n_ref), window_draw(rng, n_cur)
    report = analyze(pd.DataFrame({"x": cur}), reference_stats(pd.DataFrame({"x": ref})), tests=ALL_TESTS)
    got = report.features["x"]
    tests = got["tests"]

    edges = np.histogram_bin_edges(ref, bins=20)
    cur_counts, ref_counts = padded_shares(cur, edges), padded_shares(ref, edges)
    p, q = cur_counts / n_cur, ref_counts / n_ref
    assert report.current_stats["x"]["hist"][0] == cur_counts.astype(int).tolist()

    # MLRun's distances.
    assert got["tvd"] == pytest.approx(np.abs(p - q).sum() / 2, rel=EXACT)
    assert got["hellinger"] == pytest.approx(np.sqrt(max(1 - np.sqrt(p * q).sum(), 0)), rel=EXACT, abs=1e-7)
    q_filled, p_filled = np.where(q > 0, q, 1e-4), np.where(p > 0, p, 1e-4)
    kld = special.rel_entr(p, q_filled).sum() + special.rel_entr(q, p_filled).sum()
    assert got["kld"] == pytest.approx(kld, rel=EXACT)

    # Jensen–Shannon and PSI on the same histograms.
    assert tests["jensenshannon"]["statistic"] == pytest.approx(distance.jensenshannon(p, q), rel=EXACT)
    both = (p > 0) | (q > 0)
    fill_p = p[p > 0].min() / 1e6 if p[p > 0].min() <= 1e-4 else 1e-4
    fill_q = q[q > 0].min() / 1e6 if q[q > 0].min() <= 1e-4 else 1e-4
    pf, qf = np.where(p > 0, p, fill_p)[both], np.where(q > 0, q, fill_q)[both]
    assert tests["psi"]["statistic"] == pytest.approx(np.sum((pf - qf) * np.log(pf / qf)), rel=EXACT)

    # KS: the binned statistic, its asymptotic p-value, and the bound against the raw-data statistic.
    d = np.abs(np.cumsum(p) - np.cumsum(q)).max()
    assert tests["ks"]["statistic"] == pytest.approx(d, rel=EXACT, abs=1e-15)
    assert tests["ks"]["p_value"] == pytest.approx(binned_ks_p_value(d, cur_counts, ref_counts), abs=2e-3)
    raw_d = sps.ks_2samp(ref, cur).statistic
    assert -1e-12 <= raw_d - tests["ks"]["statistic"] <= max(p.max(), q.max()) + 1e-12

    # Normed Wasserstein within one bin width (in units of the ddof=0 std) of scipy's raw-data value.
    std = np.std(ref)
    raw_w = sps.wasserstein_distance(ref, cur) / std
    assert abs(tests["wasserstein"]["statistic"] - raw_w) <= (edges[1] - edges[0]) / std + 1e-9

    # χ²: scipy's contingency test on the pooled bins.
    expected = sps.chi2_contingency(pooled_table(cur_counts, ref_counts, n_cur, n_ref), correction=False)
    assert tests["chisquare"]["statistic"] == pytest.approx(expected.statistic, rel=EXACT)
    assert tests["chisquare"]["p_value"] == pytest.approx(expected.pvalue, rel=1e-6, abs=1e-300)

    if drifted:
        assert tests["ks"]["drift"] is True and tests["chisquare"]["drift"] is True
    else:  # calibrated tests flag 5% of unchanged windows; these fixed draws are not among the 1% extremes
        assert tests["ks"]["p_value"] > 0.01 and tests["chisquare"]["p_value"] > 0.01


def test_chisquare_pools_small_bins_of_an_ordered_histogram() -> None:
    # Reference shares 2/8/40/40/8/2 %; with 20 window values each pool needs 25% of the reference:
    # [outer, 2, 8, 40] and [40, 8, 2, outer] (the short remainder joins the last full pool).
    reference = {"x": {"count": 100, "mean": 3.0, "std": 1.0, "hist": [[2, 8, 40, 40, 8, 2], list(range(7))]}}
    window = pd.DataFrame({"x": [0.5] * 2 + [2.5] * 4 + [3.5] * 10 + [7.0] * 4})
    report = analyze(window, reference, tests=choose_tests(["chisquare"]))
    result = report.features["x"]["tests"]["chisquare"]
    expected = sps.chi2_contingency([[6, 14], [50, 50]], correction=False)
    assert result["statistic"] == pytest.approx(expected.statistic, rel=EXACT)
    assert result["p_value"] == pytest.approx(expected.pvalue, rel=EXACT)


def test_chisquare_pools_rare_and_new_categories() -> None:
    # Shares 50/30/15/4/1 %; with 40 window values each pool needs 12.5%: a | b | c + d + e + new "z".
    counts = {"a": 500, "b": 300, "c": 150, "d": 40, "e": 10}
    reference = {"c": {"count": 1000, "categories": counts}}
    window = pd.DataFrame({"c": ["a"] * 10 + ["b"] * 10 + ["c"] * 10 + ["d"] * 5 + ["z"] * 5})
    report = analyze(window, reference, tests=choose_tests(["chisquare"]))
    result = report.features["c"]["tests"]["chisquare"]
    expected = sps.chi2_contingency([[10, 10, 20], [500, 300, 200]], correction=False)
    assert result["statistic"] == pytest.approx(expected.statistic, rel=EXACT)
    assert result["p_value"] == pytest.approx(expected.pvalue, rel=EXACT)
