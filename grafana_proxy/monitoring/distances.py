"""Histogram distances and drift tests, vectorised over features.

Every function takes 2-D arrays with one row per feature and one column per (padded) bin or category:
``actual`` is the live window ("t" in MLRun), ``expected`` the reference ("u"). Rows are probability
vectors (counts divided by the feature's count, MLRun's ``dict_to_histogram``); rows of different
lengths are right-padded with zeros, which adds nothing to any of the sums below.

MLRun's three distances (``mlrun/model_monitoring/metrics/histogram_distance.py``):
- TVD = Σ|t − u| / 2
- Hellinger = sqrt(max(1 − Σ sqrt(t·u), 0))
- KLD = KL(t‖u) + KL(u‖t), where KL(a‖b) = Σ_{a≠0} a·ln(a / b') and b' = b, or 1e-4 where b = 0
  (terms with zero "actual" are skipped, zero "expected" is replaced by 1e-4; no capping).

The extra tests take Evidently's names, directions and default thresholds (p-value tests drift when
p < 0.05, distances when value >= 0.1). Evidently computes them from raw rows; here the reference is
kept as stats, so every test works on the stored reference histogram (20 equal bins over the training
range, plus one outer bin per side for the window) or category counts. docs/drift.md gives each one's
measured error against the raw-data statistic and its false-positive rate.
- ``ks``: D = max_k |F_ref(e_k) − F_cur(e_k)|, the two ECDFs at the padded bin edges. Never above the
  raw-data statistic and at most the largest bin share below it (inside a bin each ECDF rises by at
  most its share). Its p-value is that of the binned statistic itself (``bridge``: a Brownian bridge
  observed at the edges' pooled ECDF values), not the Kolmogorov distribution of the raw-data
  statistic (``scipy.stats.ks_2samp``, which Evidently runs on the rows): applied to the smaller binned
  D, that one flagged 0.3-3.7% of null windows at threshold 0.05 instead of 5%.
- ``chisquare``: two-sample χ² test of homogeneity (``scipy.stats.chi2_contingency`` without continuity
  correction) of the window counts against the reference counts. Evidently's categorical test instead
  treats the reference shares as exact (one-sample ``scipy.stats.chisquare``), which is only right
  when the reference is much larger than the window; on numerical bins it flagged 75% of same-
  distribution 5,000-row windows. Sparse cells break the χ² approximation, so bins are first pooled
  until each holds 5 / min(n_ref, n_cur) of the reference (Cochran's 5 expected values): adjacent
  bins for numerical features, categories from the most to the least frequent for categorical ones
  (rare and new categories end up together). Fewer than two pools (e.g. a 5-row window): no p-value.
- ``psi``: Σ (p_cur − p_ref)·ln(p_cur / p_ref) with Evidently's fill for an empty share (1e-4, or the
  smallest non-empty share / 1e6 when that is <= 1e-4, per side); bins empty on both sides add 0.
- ``wasserstein``: W1 between the two histograms with each inner bin's mass at its midpoint and each
  outer bin's at the mean of the window's values there (exact outside the training range), raised to
  |mean_cur − mean_ref| when below it (a lower bound of W1 from the exact means), then divided by
  max(reference std with ddof=0, 0.001) as Evidently's normed Wasserstein (``np.std``). Within one bin
  width / std of the raw-data value.
- ``jensenshannon``: Jensen–Shannon *distance* with natural log (``scipy.spatial.distance``) on the same
  histograms (Evidently bins the raw rows of both sides itself: Sturges' rule over the combined data)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from grafana_proxy.monitoring.bridge import bridge_sf

Matrix = npt.NDArray[np.float64]
Vector = npt.NDArray[np.float64]

KLD_ZERO_EXPECTED = 1e-4  # MLRun's zero_scaling
PSI_ZERO = 1e-4  # Evidently's fill for an empty share (see _fill_empty)
WASSERSTEIN_STD_FLOOR = 0.001  # Evidently's floor on the normalising std
CHI2_MIN_EXPECTED = 5.0  # Cochran's rule: the χ² approximation needs about 5 expected values per cell


def tvd(actual: Matrix, expected: Matrix) -> Vector:
    return np.asarray(np.abs(actual - expected).sum(axis=1) / 2, dtype=np.float64)


def hellinger(actual: Matrix, expected: Matrix) -> Vector:
    overlap = np.sqrt(actual * expected).sum(axis=1)
    return np.asarray(np.sqrt(np.maximum(1.0 - overlap, 0.0)), dtype=np.float64)


def _kl(actual: Matrix, expected: Matrix) -> Vector:
    present = actual != 0
    ratio = np.where(present, actual, 1.0) / np.where(expected != 0, expected, KLD_ZERO_EXPECTED)
    with np.errstate(divide="ignore", over="ignore"):
        terms = np.where(present, actual * np.log(ratio), 0.0)
    return np.asarray(terms.sum(axis=1), dtype=np.float64)


def kld(actual: Matrix, expected: Matrix) -> Vector:
    return _kl(actual, expected) + _kl(expected, actual)


DISTANCES: dict[str, Callable[[Matrix, Matrix], Vector]] = {"tvd": tvd, "hellinger": hellinger, "kld": kld}


@dataclass(frozen=True)
class TestInput:
    """What a drift test may use besides the two probability matrices."""

    n_actual: Vector  # window count per feature
    n_expected: Vector  # reference count per feature
    points: Matrix | None  # bin positions for ordered (numerical) rows, None for categorical
    ordered: npt.NDArray[np.bool_]  # per row: bins are ordered (numerical) rather than categories
    expected_std: Vector | None  # ddof=0
    mean_gap: Vector | None = None  # |window mean - reference mean| of ordered rows (NaN when unknown)


@dataclass(frozen=True)
class TestSpec:
    name: str
    default_threshold: float
    p_value: bool  # True: drift when p < threshold; False: drift when statistic >= threshold
    numerical: bool
    categorical: bool


TESTS: dict[str, TestSpec] = {
    "ks": TestSpec("ks", 0.05, True, True, False),
    "chisquare": TestSpec("chisquare", 0.05, True, True, True),
    "psi": TestSpec("psi", 0.1, False, True, True),
    "wasserstein": TestSpec("wasserstein", 0.1, False, True, False),
    "jensenshannon": TestSpec("jensenshannon", 0.1, False, True, True),
}


def ks(actual: Matrix, expected: Matrix, extra: TestInput) -> tuple[Vector, Vector]:
    cur, ref = np.cumsum(actual, axis=1), np.cumsum(expected, axis=1)
    d = np.abs(cur - ref).max(axis=1)
    n, m = extra.n_actual, extra.n_expected
    pooled = (n[:, None] * cur + m[:, None] * ref) / (n + m)[:, None]  # F at the edges under "no drift"
    return d, bridge_sf(np.sqrt(n * m / (n + m)) * d, pooled[:, :-1])


def _pools(shares: Vector, min_share: float, ordered: bool) -> npt.NDArray[np.int64]:
    """Pool number of every bin: adjacent bins (ordered rows) or categories from the most to the least
    frequent are pooled until each pool holds ``min_share`` of the reference; a short remainder joins
    the last pool. Pools depend on the reference only, so the window cannot choose its own bins."""
    order = np.arange(shares.size) if ordered else np.argsort(-shares, kind="stable")
    pools = np.empty(shares.size, dtype=np.int64)
    pool, filled = 0, 0.0
    for j in order:
        pools[j] = pool
        filled += float(shares[j])
        if filled >= min_share * (1 - 1e-9):
            pool, filled = pool + 1, 0.0
    if pool > 0:  # bins after the last full pool (possibly empty in the reference) join it
        pools[pools == pool] = pool - 1
    return pools


def chisquare(actual: Matrix, expected: Matrix, extra: TestInput) -> tuple[Vector, Vector]:
    # scipy.stats takes a second to import: only the p-value tests pay it (not seed, demo or TVD-only runs).
    from scipy import stats as sps

    statistic = np.full(actual.shape[0], np.nan)
    dof = np.ones(actual.shape[0])
    for i in range(actual.shape[0]):
        n_cur, n_ref = float(extra.n_actual[i]), float(extra.n_expected[i])
        if n_cur <= 0 or n_ref <= 0:
            continue
        pools = _pools(expected[i], CHI2_MIN_EXPECTED / min(n_cur, n_ref), bool(extra.ordered[i]))
        cur = np.bincount(pools, weights=actual[i] * n_cur)
        ref = np.bincount(pools, weights=expected[i] * n_ref)
        total = cur + ref
        cur, ref, total = cur[total > 0], ref[total > 0], total[total > 0]
        if total.size < 2:
            continue
        want_cur, want_ref = total * n_cur / (n_cur + n_ref), total * n_ref / (n_cur + n_ref)
        statistic[i] = float((((cur - want_cur) ** 2) / want_cur + ((ref - want_ref) ** 2) / want_ref).sum())
        dof[i] = total.size - 1
    return statistic, np.asarray(sps.chi2.sf(statistic, dof), dtype=np.float64)


def _fill_empty(shares: Matrix) -> Matrix:
    """Evidently's fill for empty shares, per row: 1e-4, or the smallest non-empty share / 1e6 when that
    share is itself at most 1e-4 (so a fill never exceeds a real share)."""
    smallest = np.where(shares > 0, shares, np.inf).min(axis=1, keepdims=True)
    fill = np.where(smallest <= PSI_ZERO, smallest / 1e6, PSI_ZERO)
    return np.where(shares > 0, shares, fill)


def psi(actual: Matrix, expected: Matrix, _extra: TestInput) -> tuple[Vector, None]:
    a, e = _fill_empty(actual), _fill_empty(expected)
    active = (actual > 0) | (expected > 0)  # bins empty on both sides (padding included) add nothing
    return np.where(active, (a - e) * np.log(a / e), 0.0).sum(axis=1), None


def wasserstein(actual: Matrix, expected: Matrix, extra: TestInput) -> tuple[Vector, None]:
    if extra.points is None or extra.expected_std is None:
        raise ValueError("wasserstein needs ordered bins")
    gaps = np.abs(np.cumsum(actual, axis=1) - np.cumsum(expected, axis=1))[:, :-1]
    steps = np.diff(extra.points, axis=1)
    binned = (gaps * steps).sum(axis=1)
    # W1 >= |mean difference| (Jensen), and both means are exact: raising the binned value to that bound
    # can only bring it closer to the raw-data distance. It matters when most mass shares one wide bin.
    if extra.mean_gap is not None:
        binned = np.fmax(binned, extra.mean_gap)
    return binned / np.maximum(extra.expected_std, WASSERSTEIN_STD_FLOOR), None


def jensenshannon(actual: Matrix, expected: Matrix, _extra: TestInput) -> tuple[Vector, None]:
    p = actual / np.maximum(actual.sum(axis=1, keepdims=True), 1e-300)
    q = expected / np.maximum(expected.sum(axis=1, keepdims=True), 1e-300)
    m = (p + q) / 2

    def rel(a: Matrix) -> Vector:
        return np.asarray(
            np.where(a > 0, a * np.log(np.where(a > 0, a, 1.0) / np.where(m > 0, m, 1.0)), 0.0).sum(axis=1),
            dtype=np.float64,
        )

    return np.sqrt(np.maximum((rel(p) + rel(q)) / 2, 0.0)), None


TEST_FUNCTIONS: dict[str, Callable[[Matrix, Matrix, TestInput], tuple[Vector, Vector | None]]] = {
    "ks": ks,
    "chisquare": chisquare,
    "psi": psi,
    "wasserstein": wasserstein,
    "jensenshannon": jensenshannon,
}


def check_tests(names: Sequence[str]) -> tuple[str, ...]:
    """Validate test names from settings; the error lists the valid ones."""
    unknown = [name for name in names if name not in TESTS]
    if unknown:
        raise ValueError(f"unknown drift test(s) {', '.join(unknown)}; choose from {', '.join(TESTS)}")
    return tuple(names)
