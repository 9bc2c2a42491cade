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

The extra tests follow Evidently's names, directions and default thresholds (``TESTS`` below), computed
from the stored reference histogram because the reference is kept as stats, not rows:
- ``ks``: two-sample Kolmogorov–Smirnov statistic D = max_k |F_ref(e_k) − F_cur(e_k)|, both CDFs taken
  at the padded bin edges (cumulative sums of the two histograms). It equals the raw-data statistic
  when the largest ECDF gap falls on a bin edge and is otherwise a lower bound (20 bins: coarse but
  monotone in drift). p-value: asymptotic Kolmogorov distribution with n = round(n_ref·n_cur /
  (n_ref + n_cur)), as ``scipy.stats.ks_2samp(method="asymp")``. Drift when p < threshold.
- ``chisquare``: Pearson χ² of the window counts against the reference proportions scaled to the
  window count, over bins where either side is non-empty (df = bins − 1); a reference proportion of
  0 becomes 1e-4 (then renormalised) so new values show up as drift instead of dividing by zero.
- ``psi``: Σ (p_cur − p_ref)·ln(p_cur / p_ref), zeros replaced by 1e-4 on both sides.
- ``wasserstein``: W1 between the two histograms with each bin's mass at its midpoint (outer bins: the
  midpoint between the reference edge and the window's min/max), divided by max(reference std,
  0.001) like Evidently's normed Wasserstein.
- ``jensenshannon``: Jensen–Shannon *distance* with natural log (``scipy.spatial.distance``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float64]
Vector = npt.NDArray[np.float64]

KLD_ZERO_EXPECTED = 1e-4  # MLRun's zero_scaling
PSI_ZERO = 1e-4  # Evidently's fill for empty bins
WASSERSTEIN_STD_FLOOR = 0.001  # Evidently's floor on the normalising std


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
    expected_std: Vector | None


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
    # scipy.stats takes a second to import: only the p-value tests pay it (not seed, demo or TVD-only runs).
    from scipy import stats as sps

    d = np.abs(np.cumsum(actual, axis=1) - np.cumsum(expected, axis=1)).max(axis=1)
    big, small = np.maximum(extra.n_actual, extra.n_expected), np.minimum(extra.n_actual, extra.n_expected)
    effective = np.maximum(np.round(big * small / np.maximum(big + small, 1.0)), 1.0)
    return d, np.asarray(sps.kstwo.sf(d, effective), dtype=np.float64)


def chisquare(actual: Matrix, expected: Matrix, extra: TestInput) -> tuple[Vector, Vector]:
    from scipy import stats as sps  # imported here for the reason given in ks

    active = (actual > 0) | (expected > 0)
    proportions = np.where(active & (expected == 0), KLD_ZERO_EXPECTED, expected)
    proportions = proportions / proportions.sum(axis=1, keepdims=True)
    observed = actual * extra.n_actual[:, None]
    wanted = proportions * extra.n_actual[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(active, (observed - wanted) ** 2 / np.where(active, wanted, 1.0), 0.0)
    statistic = terms.sum(axis=1)
    dof = np.maximum(active.sum(axis=1) - 1, 1)
    return statistic, np.asarray(sps.chi2.sf(statistic, dof), dtype=np.float64)


def psi(actual: Matrix, expected: Matrix, _extra: TestInput) -> tuple[Vector, None]:
    a = np.where(actual == 0, PSI_ZERO, actual)
    e = np.where(expected == 0, PSI_ZERO, expected)
    active = (actual > 0) | (expected > 0)
    return np.where(active, (a - e) * np.log(a / e), 0.0).sum(axis=1), None


def wasserstein(actual: Matrix, expected: Matrix, extra: TestInput) -> tuple[Vector, None]:
    if extra.points is None or extra.expected_std is None:
        raise ValueError("wasserstein needs ordered bins")
    gaps = np.abs(np.cumsum(actual, axis=1) - np.cumsum(expected, axis=1))[:, :-1]
    steps = np.diff(extra.points, axis=1)
    return (gaps * steps).sum(axis=1) / np.maximum(extra.expected_std, WASSERSTEIN_STD_FLOOR), None


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
