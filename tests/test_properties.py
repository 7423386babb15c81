"""Property-based tests (Hypothesis) over every registered strategy (issue 14).

Each invariant-measure and Poisson strategy of the registries is exercised on random
instances of the class it claims, and its answer is checked by an independent
computation written here: the Lyapunov equation, the substitution of the corrector,
the spectral solver of :mod:`symavg.derive.numeric_cell`, or scipy quadrature.
``test_every_registered_strategy_has_a_property_test`` makes a new strategy add its own.
The random rate matrices are in tests/test_markov.py
(``test_property_random_rate_matrices``, extended there to go through the registries).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.integrate as si
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symavg as sa
from symavg.derive import invariant, poisson
from symavg.derive.numeric_cell import TorusGrid, numeric_density, spectral_operator
from symavg.io.modelfile import loads_model
from symavg.numeric.tabulate import numeric_value

y1, y2, y3, x = sp.symbols("y1 y2 y3 x", real=True)
FAST = (y1, y2, y3)
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# "spectral (numeric)" (both registries): test_reduce_against_the_numeric_route_on_random_
# small_models and test_random_periodic_potential_closed_form_against_the_spectral_solver
COVERED_MEASURES = {"finite chain", "product", "gaussian", "slow manifold", "circle",
                    "torus: divergence-free", "gibbs", "speed measure", "spectral (numeric)",
                    "transported circle and OU velocity"}
COVERED_POISSON = {"polynomial ansatz", "fourier", "finite chain", "independent blocks",
                   "quadrature (1-D)", "spectral (numeric)",
                   "Hermite-Fourier Galerkin (transported circle, OU velocity)"}


def test_every_registered_strategy_has_a_property_test():
    assert {n for n, _ in invariant.STRATEGIES} == COVERED_MEASURES
    assert {n for n, _ in poisson.STRATEGIES} == COVERED_POISSON


small = st.integers(-3, 3)


@st.composite
def stable_matrix(draw, n):
    """B = -(M M^T + I) + (K - K^T): every eigenvalue has real part <= -1."""
    M = sp.Matrix(n, n, [draw(small) for _ in range(n * n)])
    K = sp.Matrix(n, n, [draw(small) for _ in range(n * n)])
    return -(M * M.T + sp.eye(n)) + (K - K.T)


# ------------------------------------------------------------ Gaussian / product
@settings(max_examples=12, **SETTINGS)
@given(st.integers(1, 3).flatmap(lambda n: st.tuples(
    stable_matrix(n), st.lists(st.integers(1, 3), min_size=n, max_size=n),
    st.lists(small, min_size=n, max_size=n))))
def test_random_stable_linear_sde_solves_the_lyapunov_equation(data):
    B, noise, c = data
    n = B.shape[0]
    fast = FAST[:n]
    Y = sp.Matrix(fast)
    a = sp.diag(*noise)
    G = sa.Generator(fast, list(B * Y + sp.Matrix(c)), a)
    mu = sa.invariant_measure(G, fast)  # Gaussian, or a product of Gaussians
    m = sp.Matrix([mu.expect(v) for v in fast])  # moments through the measure's own expect
    S = sp.Matrix(n, n, lambda i, j: mu.expect(fast[i] * fast[j]) - m[i] * m[j])
    assert (B * S + S * B.T + a).applyfunc(sp.simplify).is_zero_matrix  # Lyapunov
    assert (B * m + sp.Matrix(c)).applyfunc(sp.simplify).is_zero_matrix  # b(m) = 0
    assert all(ch.passed for ch in mu.checks)
    assert all(not f.conditions for f in (mu, *mu.factors))  # numeric B: nothing to record


@settings(max_examples=8, **SETTINGS)
@given(st.integers(1, 4), st.integers(1, 4), small, small)
def test_independent_blocks_give_a_product_measure_and_a_block_corrector(k1, k2, c1, c2):
    # an OU block and a circle block: no single-block strategy covers both
    G = sa.Generator((y1, y2), [-k1 * y1 + c1, c2], sp.diag(2, 2 * k2), {y2: 2 * sp.pi})
    mu = sa.invariant_measure(G, (y1, y2))
    assert mu.strategy.startswith("product")
    h = y1**2 + sp.cos(y2) - mu.expect(y1**2 + sp.cos(y2))
    sol = sa.solve_poisson(G, h, (y1, y2), mu)
    assert "independent blocks" in sol.strategy
    assert sp.simplify(G.apply(sol.phi) + h) == 0


# ------------------------------------------------------------ polynomial ansatz
@settings(max_examples=12, **SETTINGS)
@given(st.integers(1, 2).flatmap(lambda n: st.tuples(
    stable_matrix(n), st.lists(st.integers(-3, 3), min_size=6, max_size=6))))
def test_random_polynomial_right_hand_side_has_zero_poisson_residual(data):
    B, coeffs = data
    n = B.shape[0]
    fast = FAST[:n]
    Y = sp.Matrix(fast)
    G = sa.Generator(fast, list(B * Y), 2 * sp.eye(n))
    mu = sa.invariant_measure(G, fast)
    monos = [fast[0], fast[-1] ** 2, fast[0] * fast[-1], fast[0] ** 3, x * fast[-1], 1]
    h = sum((c * mono for c, mono in zip(coeffs, monos)), sp.S.Zero)
    h = sp.expand(h - mu.expect(h))
    if h == 0:
        return
    sol = sa.solve_poisson(G, h, fast, mu)
    assert sol.strategy in ("polynomial ansatz", "trivial") or "blocks" in sol.strategy
    assert sp.simplify(G.apply(sol.phi) + h) == 0


# ------------------------------------------------------------ Fourier on the torus
@settings(max_examples=5, **SETTINGS)
@given(st.integers(-2, 2), st.integers(1, 3), st.lists(small, min_size=4, max_size=4))
def test_random_trigonometric_right_hand_side_on_the_circle(c, D, coeffs):
    G = sa.Generator((y1,), [c], [[2 * D]], {y1: 2 * sp.pi})
    mu = sa.invariant_measure(G, (y1,))
    h = (coeffs[0] * sp.cos(y1) + coeffs[1] * sp.sin(2 * y1) + coeffs[2] * sp.cos(3 * y1)
         + coeffs[3] * x * sp.sin(y1))
    if h == 0:
        return
    sol = sa.solve_poisson(G, h, (y1,), mu)
    assert sol.strategy == "fourier"
    assert sp.simplify(G.apply(sol.phi) + h) == 0


# ------------------------------------------------------------ circle: closed form vs spectral
def _potential(coeffs):
    a1, b1, a2 = (sp.Rational(c, 2) for c in coeffs)
    return a1 * sp.cos(y1) + b1 * sp.sin(y1) + a2 * sp.cos(2 * y1)


def _grid_values(expr, pts):
    f = sp.lambdify(y1, expr, "numpy")
    return np.broadcast_to(np.asarray(f(pts), dtype=float), pts.shape)


@pytest.mark.slow
@settings(max_examples=3, **SETTINGS)  # slow: sized for CI
@given(st.lists(st.integers(-3, 3), min_size=3, max_size=3).filter(any))
def test_random_periodic_potential_closed_form_against_the_spectral_solver(coeffs):
    """Gibbs law exp(-V) on the circle (closed form, strategy 'circle') against the numeric
    invariant density of the spectral solver, and the 1-D cell problem ('quadrature (1-D)')
    against its substitution. V = a1 cos y + b1 sin y + a2 cos 2y: a phase and several
    modes (restored: e^(several harmonics) integrands now go to quadrature at once instead
    of spending integrate's and simplify's budgets, about 20 s per example)."""
    V = _potential(coeffs)
    G = sa.Generator((y1,), [-sp.diff(V, y1)], [[2]], {y1: 2 * sp.pi})
    mu = sa.invariant_measure(G, (y1,))
    assert mu.strategy.startswith("circle")
    # proportional to exp(-V): (log rho)' = -V' (no simplify: the normaliser is an
    # unevaluated integral, which simplify evaluates numerically again and again)
    dlog = sp.diff(sp.expand_log(sp.log(mu.density), force=True), y1)
    assert sp.expand(dlog + sp.diff(V, y1)) == 0
    grid = TorusGrid((y1,), (2 * np.pi,), 48)
    rho_num, residual = numeric_density(spectral_operator(G, grid))
    pts = grid.points()[0]
    gibbs = _grid_values(sp.exp(-V), pts)
    gibbs = gibbs / (gibbs.mean() * 2 * np.pi)  # trapezoid: spectrally accurate
    assert residual < 1e-8 and np.allclose(rho_num, gibbs, rtol=1e-8, atol=1e-10)
    h = sp.sin(y1) - mu.expect(sp.sin(y1))
    sol = sa.solve_poisson(G, h, (y1,), mu)
    assert sol.strategy in ("quadrature (1-D)", "fourier")
    assert all(ch.passed for ch in sol.checks)


@pytest.mark.slow
@settings(max_examples=3, **SETTINGS)  # slow: sized for CI
@given(st.integers(1, 2), st.integers(-2, 2).filter(bool))
def test_tilted_periodic_potential_constant_flux_against_the_spectral_solver(F, a1):
    """Non-gradient circle drift F - V' (constant-flux formula) vs the spectral density."""
    V = sp.Rational(a1, 2) * sp.cos(y1)
    G = sa.Generator((y1,), [F - sp.diff(V, y1)], [[2]], {y1: 2 * sp.pi})
    mu = sa.invariant_measure(G, (y1,))
    assert "flux" in mu.strategy
    grid = TorusGrid((y1,), (2 * np.pi,), 32)
    rho_num, _ = numeric_density(spectral_operator(G, grid))
    pts = grid.points()[0]
    # the density is e^{psi(y)} int_y^{y+2pi} e^{-psi} / Z: numerator and Z by scipy quadrature
    # (sp.N of the nested integrals takes minutes)
    num, Z = mu.density.as_numer_denom()
    Zn = numeric_value(Z, {})
    vals = np.array([numeric_value(num, {y1: p}) / Zn for p in pts[::4]])
    assert np.allclose(vals, rho_num[::4], rtol=1e-6)


# ------------------------------------------------------------ torus, Gibbs in 2-D
@settings(max_examples=6, **SETTINGS)
@given(st.lists(st.integers(-2, 2), min_size=2, max_size=2).filter(any))
def test_random_cellular_flow_has_the_uniform_law(coeffs):
    psi = coeffs[0] * sp.sin(y1) * sp.sin(y2) + coeffs[1] * sp.cos(y1 + y2)
    drift = [sp.diff(psi, y2), -sp.diff(psi, y1)]
    G = sa.Generator((y1, y2), drift, 2 * sp.eye(2), {y1: 2 * sp.pi, y2: 2 * sp.pi})
    mu = sa.invariant_measure(G, (y1, y2))
    assert mu.strategy.startswith("torus")
    assert sp.simplify(G.adjoint(mu.density)) == 0 and mu.density == 1 / (4 * sp.pi**2)


@pytest.mark.slow
@settings(max_examples=3, **SETTINGS)  # slow: sized for CI
@given(st.lists(st.integers(-2, 2), min_size=2, max_size=2).filter(all))
def test_random_two_dimensional_periodic_potential_gibbs(coeffs):
    V = coeffs[0] * sp.cos(y1) + coeffs[1] * sp.cos(y2) + sp.cos(y1 - y2) / 2
    G = sa.Generator((y1, y2), [-sp.diff(V, y1), -sp.diff(V, y2)], 2 * sp.eye(2),
                     {y1: 2 * sp.pi, y2: 2 * sp.pi})
    mu = sa.invariant_measure(G, (y1, y2))
    assert mu.strategy.startswith("gibbs")
    # density * e^V is the constant 1/Z (not simplify: its doit() would try Z's integral)
    ratio = sp.powsimp(sp.expand_power_exp(mu.density * sp.exp(V)), combine="exp")
    assert ratio.free_symbols.isdisjoint({y1, y2})
    assert all(ch.passed for ch in mu.checks)


# ------------------------------------------------------------ speed measure on the line
@pytest.mark.slow
@settings(max_examples=3, **SETTINGS)  # slow: sized for CI
@given(st.integers(-2, 2), st.integers(-2, 2))
def test_random_confining_potential_speed_measure_against_quadrature(a, b):
    V = y1**4 / 4 + sp.Rational(a, 2) * y1**2 + b * y1
    G = sa.Generator((y1,), [-sp.diff(V, y1)], [[2]])
    mu = sa.invariant_measure(G, (y1,))
    assert mu.strategy.startswith("speed")
    Vn = sp.lambdify(y1, V)
    Z = si.quad(lambda t: np.exp(-Vn(t)), -np.inf, np.inf)[0]
    m1 = si.quad(lambda t: t * np.exp(-Vn(t)), -np.inf, np.inf)[0] / Z
    assert abs(float(sp.N(mu.expect(y1), 12)) - m1) < 1e-7


# ------------------------------------------------------------ slow manifold
@settings(max_examples=8, **SETTINGS)
@given(st.integers(1, 2).flatmap(lambda n: st.tuples(
    stable_matrix(n), st.lists(small, min_size=n, max_size=n))))
def test_random_linear_fast_relaxation_point_mass(data):
    B, c = data
    n = B.shape[0]
    fast = FAST[:n]
    forcing = sp.Matrix([ci * sp.sin(x) for ci in c])
    G = sa.Generator((x, *fast), [0, *(B * sp.Matrix(fast) + forcing)],
                     sp.zeros(n + 1, n + 1))  # x frozen: a parameter of the fast flow
    mu = sa.invariant_measure(G, fast)
    assert "point mass" in mu.strategy
    assert (B * sp.Matrix(mu.point) + forcing).applyfunc(sp.simplify).is_zero_matrix
    assert mu.expect(fast[0] + 1) == sp.simplify(mu.point[0] + 1)


# ------------------------------------------------------------ reduce vs the numeric route
@pytest.mark.slow
@settings(max_examples=3, **SETTINGS)
@given(st.lists(st.integers(-2, 2), min_size=2, max_size=2).filter(any))
def test_reduce_against_the_numeric_route_on_random_small_models(coeffs):
    """dx = (-x + cos y) dt + dW, y a diffusion in a random periodic potential: the symbolic
    average against the spectral route (method='numeric')."""
    eps = sa.epsilon
    y = sp.Symbol("y", real=True)
    V = sp.Rational(coeffs[0], 2) * sp.cos(y) + sp.Rational(coeffs[1], 2) * sp.sin(y)
    m = sa.SDE([x, y], [-x + sp.cos(y), -sp.diff(V, y) / eps], noise=[1, sp.sqrt(2 / eps)],
               periodic={y: 2 * sp.pi})
    sym = sa.reduce(m)
    num = sa.reduce(m, params={}, method="numeric", n=48)
    at = {x: sp.Rational(1, 3)}
    assert abs(float(sp.N(sym.drift[0].subs(at), 12)) - float(sp.N(num.drift[0].subs(at)))) \
        < 1e-8


# ------------------------------------------------------------ fuzzing the model-file parser
@settings(max_examples=150, **SETTINGS)
@given(st.text(max_size=300))
def test_model_file_parser_on_arbitrary_text_raises_only_parse_errors(text):
    try:
        loads_model(text)
    except sa.ParseError:
        pass


_expr_chars = st.text(alphabet="xyeps0123456789+-*/^()._ ,[]'\"\\abcdfgijklmnoqrtuvwz=#!@$%&",
                      max_size=40)


@settings(max_examples=150, **SETTINGS)
@given(_expr_chars, _expr_chars, st.sampled_from(["x", "y", "eps", "sqrt", "z", "1x"]))
def test_model_file_parser_on_random_expressions_raises_only_parse_errors(e1, e2, name):
    text = (f'name = "fuzz"\n[state]\nslow = ["x"]\nfast = ["{name}"]\n[sde]\n'
            f'drift = {{ x = {e1!r}, y = {e2!r} }}\nnoise = [["0"], ["sqrt(2)/eps"]]\n')
    text = text.replace("'", '"') if "\\" not in e1 + e2 else text
    try:
        loads_model(text)
    except sa.ParseError:
        pass


@settings(max_examples=4, **SETTINGS)
@given(st.sampled_from([sp.Rational(1, 2), 1, sp.Rational(-3, 2)]),
       st.sampled_from([sp.Rational(1, 2), 1, 2]), st.sampled_from([sp.Rational(1, 2), 1]),
       st.sampled_from([0, sp.Rational(1, 2)]), st.sampled_from([0, sp.Rational(-1, 2)]),
       st.integers(1, 2), st.integers(-2, 2), st.integers(1, 2))
def test_transported_circle_against_the_green_kubo_integral(alpha, gamma, D, mu, c, k, A, B):
    r"""y on the circle moved by (c + alpha eta), eta an OU process (rate gamma, mean mu,
    diffusion 2D): the law is uniform x N(mu, D/gamma) (both strategies of
    symavg.derive.transport_ou), and for h = A cos ky + B sin ky the corrector satisfies
    <h Phi> = int_0^oo <h(y_0) h(y_t)> dt = (A^2 + B^2)/2 int_0^oo cos(k v t)
    exp(-k^2 alpha^2 s^2 (gamma t - 1 + e^{-gamma t})/gamma^2) dt, v = c + alpha mu,
    s^2 = D/gamma (the increment of y is Gaussian): scipy quadrature of that integral."""
    G = sa.Generator([y1, y2], [c + alpha * y2, gamma * (mu - y2)], sp.diag(0, 2 * D),
                     periodic={y1: 2 * sp.pi})
    h = A * sp.cos(k * y1) + B * sp.sin(k * y1)
    rho = invariant.invariant_measure(G, (y1, y2))
    assert rho.strategy.startswith("transported circle")
    assert all(ch.passed for ch in rho.checks)
    assert sp.simplify(rho.expect(y2**2) - (D / gamma + mu**2)) == 0
    sol = poisson.solve_poisson(G, h, (y1, y2), rho)
    assert sol.strategy.startswith("Hermite-Fourier") and all(ch.passed for ch in sol.checks)
    got = float(rho.expect(h * sol.phi))
    a_, g_, s2, v = float(alpha), float(gamma), float(D / gamma), float(c + alpha * mu)

    def corr(t: float) -> float:
        var = a_**2 * s2 * (g_ * t - 1 + np.exp(-g_ * t)) / g_**2
        return np.cos(k * v * t) * np.exp(-k**2 * var)

    want = (A**2 + B**2) / 2 * si.quad(corr, 0, np.inf, epsabs=0, epsrel=1e-12,
                                       limit=500)[0]
    assert abs(got - want) < 1e-9 * max(1.0, abs(want))
