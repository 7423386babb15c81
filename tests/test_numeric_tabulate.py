"""Semi-analytic coefficients: unevaluated integrals tabulated at Chebyshev points."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from scipy import integrate
from scipy.special import iv

import symavg as sa
from symavg.numeric.pycode import effective_to_python
from symavg.numeric.tabulate import ChebyshevSeries, numeric_value

x, y, s = sp.symbols("x y s", real=True)
k = sp.Symbol("k", positive=True)
eps = sa.epsilon


def test_numeric_value_of_nested_integrals() -> None:
    inner = sp.Integral(sp.exp(x * sp.cos(y)), (y, 0, 2 * sp.pi))       # 2 pi I0(x)
    outer = sp.Integral(sp.cos(y) * sp.exp(x * sp.cos(y)) / inner, (y, 0, 2 * sp.pi))
    assert numeric_value(outer, {x: 0.8}) == pytest.approx(iv(1, 0.8) / iv(0, 0.8), rel=1e-12)


def test_chebyshev_series_prints_and_evaluates() -> None:
    assert float(ChebyshevSeries(sp.Float(0.3), 1, 2, 3)) == pytest.approx(
        np.polynomial.chebyshev.chebval(0.3, [1, 2, 3]))


def _integral_drift() -> sa.SDE:
    """dx = -k I(x) / (2 pi) dt + dW with I(x) = int_0^{2 pi} e^{x cos s} ds = 2 pi I0(x),
    left unevaluated."""
    I = sp.Integral(sp.exp(x * sp.cos(s)), (s, 0, 2 * sp.pi))
    return sa.SDE([x], [-k * x * I / (2 * sp.pi)], noise=[sp.Rational(1, 2)])


def test_tabulated_drift_matches_the_bessel_function() -> None:
    m = _integral_drift()
    with pytest.raises(sa.SimulationError, match=r"tabulate=\{x: \(lo, hi\)\}"):
        sa.simulate(m, {x: 0.5}, 0.1, params={k: 1.0}, paths=10, backend="numpy")
    ens = sa.simulate(m, {x: 0.5}, 0.5, params={k: 1.0}, paths=2000, seed=1, backend="numpy",
                      tabulate={x: (-3.0, 3.0)}, saveat=[0, 0.5])
    (row,) = ens.info["tabulated"]
    assert row["max interpolation error"] < 1e-9 and row["fraction outside"] == 0.0
    # independent: E x_T for dx = -x I0(x) dt + dW/2 by a fine NumPy Euler loop
    rng = np.random.default_rng(2)
    z = np.full(20000, 0.5)
    for _ in range(500):
        z += -z * iv(0, z) * 1e-3 + 0.5 * math.sqrt(1e-3) * rng.standard_normal(z.size)
    a = ens[x][-1]
    se = math.hypot(a.std() / math.sqrt(a.size), z.std() / math.sqrt(z.size))
    assert abs(a.mean() - z.mean()) < 4 * se + 5e-3


def test_paths_leaving_the_table_warn() -> None:
    m = _integral_drift()
    with pytest.warns(UserWarning, match="outside the tabulation interval"):
        sa.simulate(m, {x: 0.5}, 0.5, params={k: 1.0}, paths=500, seed=1, backend="numpy",
                    tabulate={x: (0.0, 0.6)})


def test_generated_module_bakes_the_table() -> None:
    m = _integral_drift()
    with pytest.raises(sa.ModelError, match="tabulate="):
        effective_to_python(m)
    src = effective_to_python(m, params={k: 1.0}, tabulate={x: (-3, 3)})
    ns: dict = {}
    exec(compile(src, "generated", "exec"), ns)
    assert ns["drift"]([1.2], {"k": 1.0})[0] == pytest.approx(-1.2 * iv(0, 1.2), rel=1e-9)


@pytest.mark.slow
def test_semi_analytic_averaged_drift_end_to_end() -> None:
    """Averaging with a fast diffusion on a circle whose Gibbs density
    exp(a(x) cos y + cos(2y)/2) has no closed-form normaliser: the averaged drift stays an
    integral, is tabulated, and the reduced ODE agrees with an independent solve_ivp of
    F(x) = <cos y> - x computed by scipy quadrature."""
    a = 1 + x**2
    m = sa.SDE([x, y], [sp.cos(y) - x, -(a * sp.sin(y) + sp.sin(2 * y)) / eps],
               noise=[[0], [sp.sqrt(2 / eps)]], periodic={y: 2 * sp.pi})
    red = sa.reduce(m, [y])
    assert red.is_semi_analytic

    def F(xv: float) -> float:
        w = lambda t: math.exp((1 + xv**2) * math.cos(t) + math.cos(2 * t) / 2)  # noqa: E731
        num = integrate.quad(lambda t: math.cos(t) * w(t), 0, 2 * math.pi)[0]
        return num / integrate.quad(w, 0, 2 * math.pi)[0] - xv

    exact = integrate.solve_ivp(lambda t, v: [F(v[0])], (0, 1.0), [1.0], rtol=1e-10).y[0, -1]
    ens = sa.simulate(red, {x: 1.0}, 1.0, paths=10, dt=1e-4, tabulate={x: (-2, 2)},
                      backend="numpy")
    assert ens[x][-1].mean() == pytest.approx(exact, abs=1e-4)


def test_numeric_value_with_special_functions_and_overflow() -> None:
    """besseli and erfi (from the Bessel table and the Gaussian substitution) evaluate;
    e^{y^4/4} erfc(y^2/2)^2 overflows in double precision and goes through mpmath:
    int_0^oo = 0.79564036203956 (mpmath.quad at 30 digits)."""
    from symavg.numeric.tabulate import numeric_value

    yy = sp.Symbol("yy", real=True)
    assert numeric_value(sp.besseli(0, x), {x: 1.0}) == pytest.approx(1.2660658777520084)
    assert numeric_value(sp.erfi(x), {x: 1.0}) == pytest.approx(1.6504257587975428)
    val = numeric_value(sp.Integral(sp.exp(yy**4 / 4) * sp.erfc(yy**2 / 2) ** 2,
                                    (yy, 0, sp.oo)), {})
    assert val == pytest.approx(0.79564036203956, rel=1e-9)
