"""Integrals are exact, budgeted, spot-checked, or left unevaluated: never silently wrong."""

import time

import sympy as sp

from symavg import _sympy_util
from symavg.derive import integrals
from symavg.derive.integrals import definite_integral, period_integral_exact, spot_check_integral

y = sp.Symbol("y", real=True)
k, D = sp.symbols("k D", positive=True)


def test_sympy_issue_23613_period_average():
    """integrate(1/(2+cos(y)), (y, 0, 2 pi)) = 2 pi/sqrt(3) (SymPy issue #23613;
    Gradshteyn & Ryzhik 3.613.2)."""
    res = definite_integral(1 / (2 + sp.cos(y)), y, 0, 2 * sp.pi, periodic=True)
    assert sp.simplify(res.value - 2 * sp.pi / sp.sqrt(3)) == 0
    assert res.check.passed


def test_bessel_table():
    """int_0^{2 pi} exp(k cos y) cos(n y) dy = 2 pi I_n(k) (Abramowitz & Stegun 9.6.19)."""
    val = period_integral_exact(sp.exp(k * sp.cos(y)), y, 2 * sp.pi)
    assert val == 2 * sp.pi * sp.besseli(0, k)
    val = period_integral_exact(sp.exp(k * sp.cos(y)) * sp.cos(2 * y), y, 2 * sp.pi)
    assert sp.simplify(val - 2 * sp.pi * sp.besseli(2, k)) == 0
    val = period_integral_exact(sp.exp(k * sp.sin(y)), y, 2 * sp.pi)
    assert sp.simplify(val - 2 * sp.pi * sp.besseli(0, k)) == 0


def test_trig_polynomial_over_a_period():
    assert period_integral_exact(sp.sin(y) ** 2 + sp.cos(3 * y), y, 2 * sp.pi) == sp.pi
    assert period_integral_exact(sp.sin(2 * sp.pi * y) ** 4, y, 1) == sp.Rational(3, 8)


def test_wrong_closed_form_is_rejected_and_left_unevaluated(monkeypatch):
    """A wrong answer from integrate is caught by the quadrature spot check."""
    monkeypatch.setattr(integrals, "_integrate_definite", lambda f, y_, lo, hi: sp.S(42))
    res = definite_integral(sp.exp(-(y**2)) * sp.cos(y) ** 2, y, -sp.oo, sp.oo)
    assert res.method == "unevaluated"
    assert isinstance(res.value, sp.Integral)


def test_spot_check_detects_an_error():
    chk = spot_check_integral(sp.pi, 1 / (2 + sp.cos(y)), y, 0, 2 * sp.pi)
    assert not chk.passed


def test_budget_stops_a_hanging_call():
    t0 = time.perf_counter()
    assert _sympy_util.with_budget(time.sleep, (30,), 0.5) is None
    assert time.perf_counter() - t0 < 5


def test_integral_that_sympy_cannot_do_is_left_unevaluated():
    res = definite_integral(sp.exp(sp.cos(y) / D) * sp.log(2 + sp.sin(y)), y, 0, 2 * sp.pi,
                            periodic=True, budget=1.0)
    assert res.method == "unevaluated"


def test_zero_check_numeric_route_with_undefined_functions():
    f = sp.Function("f")
    x = sp.Symbol("x")
    chk = _sympy_util.zero_check("identity", sp.diff(f(x) ** 2, x) - 2 * f(x) * sp.diff(f(x), x))
    assert chk.passed
    bad = _sympy_util.zero_check("not zero", sp.diff(f(x) ** 2, x) - f(x) * sp.diff(f(x), x))
    assert not bad.passed
