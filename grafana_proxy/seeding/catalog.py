"""What the synthetic endpoints look like: a few familiar use cases, their features' training
distributions, and the plan (names, uids, traffic and drift parameters) for N endpoints."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from grafana_proxy.model import EndpointType
from grafana_proxy.monitoring.binning import FloatArray

Sampler = Callable[[np.random.Generator, int], FloatArray]


def _normal(mu: float, sd: float) -> Sampler:
    return lambda rng, n: rng.normal(mu, sd, n)


def _lognormal(mu: float, sigma: float) -> Sampler:
    return lambda rng, n: rng.lognormal(mu, sigma, n)


def _gamma(shape: float, scale: float) -> Sampler:
    return lambda rng, n: rng.gamma(shape, scale, n)


def _uniform(low: float, high: float) -> Sampler:
    return lambda rng, n: rng.uniform(low, high, n)


def _poisson(lam: float) -> Sampler:
    return lambda rng, n: rng.poisson(lam, n).astype(np.float64)


def _beta(a: float, b: float, scale: float = 1.0) -> Sampler:
    return lambda rng, n: rng.beta(a, b, n) * scale


@dataclass(frozen=True)
class UseCase:
    function: str
    model: str
    model_class: str
    team: str
    features: tuple[tuple[str, Sampler], ...]


USE_CASES: tuple[UseCase, ...] = (
    UseCase(
        "churn-serving",
        "churn-classifier",
        "XGBClassifier",
        "growth",
        (
            ("tenure_months", _gamma(2.0, 12.0)),
            ("monthly_charges", _normal(70.0, 25.0)),
            ("support_calls", _poisson(1.5)),
            ("data_usage_gb", _lognormal(2.0, 0.6)),
            ("contract_months", _uniform(1.0, 36.0)),
            ("discount_pct", _beta(2.0, 8.0, 100.0)),
        ),
    ),
    UseCase(
        "fraud-serving",
        "fraud-detector",
        "LGBMClassifier",
        "risk",
        (
            ("amount", _lognormal(3.5, 1.1)),
            ("hour_of_day", _uniform(0.0, 24.0)),
            ("merchant_risk", _beta(2.0, 5.0)),
            ("distance_km", _lognormal(1.5, 1.0)),
            ("tx_last_hour", _poisson(2.0)),
            ("account_age_days", _gamma(3.0, 300.0)),
        ),
    ),
    UseCase(
        "credit-serving",
        "credit-scorer",
        "RandomForestClassifier",
        "risk",
        (
            ("income", _lognormal(10.8, 0.5)),
            ("debt_ratio", _beta(2.0, 4.0)),
            ("age", _normal(42.0, 12.0)),
            ("credit_score", _normal(680.0, 70.0)),
            ("loan_amount", _lognormal(9.5, 0.8)),
            ("open_accounts", _poisson(4.0)),
        ),
    ),
    UseCase(
        "demand-serving",
        "demand-forecaster",
        "GradientBoostingRegressor",
        "supply",
        (
            ("temperature_c", _normal(18.0, 8.0)),
            ("price", _normal(9.9, 1.5)),
            ("promo_depth", _beta(1.2, 6.0)),
            ("day_of_week", _uniform(0.0, 7.0)),
            ("sales_lag_7d", _gamma(5.0, 40.0)),
            ("stock_level", _normal(500.0, 120.0)),
        ),
    ),
    UseCase(
        "housing-serving",
        "house-pricer",
        "LinearRegression",
        "realestate",
        (
            ("living_area_m2", _lognormal(4.6, 0.35)),
            ("bedrooms", _poisson(3.0)),
            ("age_years", _gamma(2.5, 12.0)),
            ("lot_size_m2", _lognormal(6.2, 0.6)),
            ("distance_center_km", _gamma(2.0, 5.0)),
            ("school_rating", _normal(6.5, 1.8)),
        ),
    ),
    UseCase(
        "iris-serving",
        "iris-classifier",
        "SVC",
        "demo",
        (
            ("sepal_length", _normal(5.8, 0.8)),
            ("sepal_width", _normal(3.05, 0.43)),
            ("petal_length", _normal(3.76, 1.76)),
            ("petal_width", _normal(1.2, 0.76)),
        ),
    ),
)
ROUTER_CLASS = "VotingEnsemble"


@dataclass(frozen=True)
class DriftPlan:
    """A mean shift of ``magnitude`` reference standard deviations on some features, ramping in
    over ``ramp_s`` seconds from ``start_fraction`` of the seeded range."""

    start_fraction: float
    magnitude: float
    features: tuple[str, ...]
    ramp_s: float = 6 * 3600.0


@dataclass(frozen=True)
class Incident:
    """A stretch of slow, error-prone serving: what the system-performance app should flag."""

    start_fraction: float
    duration_s: float
    latency_factor: float


@dataclass
class EndpointPlan:
    uid: str
    name: str
    function_uri: str
    model: str
    model_class: str
    labels: dict[str, str]
    endpoint_type: int
    features: list[tuple[str, Sampler]]
    base_rate: float  # predictions per second at the daily mean
    daily_amplitude: float
    peak_hour: float
    base_latency_us: float
    error_rate: float
    accuracy: float
    sampling_percentage: float
    drift: DriftPlan | None = None
    incidents: list[Incident] = field(default_factory=list)
    children: list[int] = field(default_factory=list)  # indexes into the plan list (routers only)


def endpoint_uid(project: str, function: str, tag: str, model: str, version: str) -> str:
    """MLRun's uid scheme: sha1 of "<project>_<function>_<tag>_<model>_<version>" (40 hex chars)."""
    return hashlib.sha1(f"{project}_{function}_{tag}_{model}_{version}".encode()).hexdigest()


def _features(case: UseCase, count: int | None) -> list[tuple[str, Sampler]]:
    features = list(case.features)
    if count is None:
        return features
    # Asked for more features than the use case has: extra generic ones keep the count honest.
    extra = [(f"feature_{i}", _normal(float(i), 1.0 + i / 10)) for i in range(len(features), count)]
    return (features + extra)[:count]


def _plan_leaf(
    project: str,
    case: UseCase,
    function: str,
    version: str,
    name: str,
    rng: np.random.Generator,
    n_features: int | None,
    endpoint_type: int,
) -> EndpointPlan:
    features = _features(case, n_features)
    drift = None
    if rng.random() < 0.4 and features:
        # General drift is a mean over all features: most of them must move for a verdict to show.
        size = int(rng.integers(-(-3 * len(features) // 5), len(features) + 1))
        drifted = rng.choice(len(features), size=size, replace=False)
        drift = DriftPlan(
            start_fraction=float(rng.uniform(0.55, 0.85)),
            magnitude=float(rng.uniform(1.0, 3.0)),
            features=tuple(features[int(i)][0] for i in sorted(drifted)),
        )
    incidents = [
        Incident(float(rng.uniform(0.02, 0.98)), float(rng.uniform(1800, 7200)), float(rng.uniform(2.5, 6)))
        for _ in range(int(rng.poisson(1.5)))
    ]
    return EndpointPlan(
        uid=endpoint_uid(project, function, "latest", case.model, version),
        name=name,
        function_uri=f"{project}/{function}:latest",
        model=f"{case.model}:{version}",
        model_class=case.model_class,
        labels={"team": case.team, "env": "prod" if rng.random() < 0.7 else "staging", "use_case": case.model},
        endpoint_type=endpoint_type,
        features=features,
        base_rate=float(rng.lognormal(1.0, 0.9)),
        daily_amplitude=float(rng.uniform(0.3, 0.7)),
        peak_hour=float(rng.uniform(12, 20)),
        base_latency_us=float(rng.lognormal(np.log(8000), 0.6)),
        error_rate=float(rng.uniform(0.0002, 0.003)),
        accuracy=float(rng.uniform(0.82, 0.97)),
        sampling_percentage=100.0 if rng.random() < 0.8 else 50.0,
        drift=drift,
        incidents=incidents,
    )


def _plan_router(project: str, number: int, first_child: int, rng: np.random.Generator) -> EndpointPlan:
    case = USE_CASES[number % len(USE_CASES)]
    function = f"{case.function}-ensemble-{number + 1}"
    return EndpointPlan(
        uid=endpoint_uid(project, function, "latest", "ensemble", "latest"),
        name=f"{function}-router",
        function_uri=f"{project}/{function}:latest",
        model="ensemble:latest",
        model_class=ROUTER_CLASS,
        labels={"team": case.team, "env": "prod", "use_case": case.model},
        endpoint_type=int(EndpointType.router),
        features=[],
        # A router's traffic and latency are derived from its children; these are its own overhead.
        base_rate=0.0,
        daily_amplitude=0.0,
        peak_hour=0.0,
        base_latency_us=float(rng.uniform(300, 900)),
        error_rate=0.0,
        accuracy=0.0,
        sampling_percentage=100.0,
        children=[first_child, first_child + 1],
    )


def plan_endpoints(project: str, count: int, n_features: int | None, seed: int) -> list[EndpointPlan]:
    """``count`` endpoints; about one in ten (from 5 endpoints on) is a router over two leaf children,
    which come before it in the list so their traffic exists when the router sums it."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    routers = count // 10 if count >= 5 else 0
    plans: list[EndpointPlan] = []
    for i in range(count - 3 * routers):
        case = USE_CASES[i % len(USE_CASES)]
        version = f"v{i // len(USE_CASES) + 1}"
        name = f"{case.model}-{version}"
        plans.append(_plan_leaf(project, case, case.function, version, name, rng, n_features, EndpointType.node_ep))
    for r in range(routers):
        case = USE_CASES[r % len(USE_CASES)]
        function = f"{case.function}-ensemble-{r + 1}"
        first = len(plans)
        for c in range(2):
            version, name = f"v{c + 1}", f"{case.model}-ens{r + 1}-v{c + 1}"
            plans.append(_plan_leaf(project, case, function, version, name, rng, n_features, EndpointType.leaf_ep))
        plans.append(_plan_router(project, r, first, rng))
    return plans
