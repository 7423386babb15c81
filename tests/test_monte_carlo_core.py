"""Monte Carlo evidence for the reductions of the opened-up core: the full model at
several eps against the reduced model, with error bars (``sa.verify``).

Independent blocks (two fast circles with separable potentials), the order-one
diffusion approximation of an OU-driven slow variable (the order-0 ODE is rejected by
the variance, the order-1 model is not) and the PDMP promoter are checked. Sized for CI;
marked ``slow``. The closed forms are checked in ``tests/test_reduce_core.py``.
"""

from __future__ import annotations

import pytest
import sympy as sp

import symavg as sa

pytestmark = pytest.mark.slow

eps = sa.epsilon
x, y = sp.symbols("x y", real=True)


def _rows(rep: sa.VerifyReport, obs: sp.Expr) -> list:
    return sorted((r for r in rep.rows if r.observable == obs), key=lambda r: r.eps)


def _converges(rep: sa.VerifyReport, obs: sp.Expr) -> None:
    rows = _rows(rep, obs)
    small, large = rows[0], rows[-1]
    ok = abs(small.error) <= 4 * small.error_se or abs(small.error) <= 0.5 * abs(large.error)
    assert ok, rep.table()


def test_two_fast_circles_in_blocks() -> None:
    """2-D Brownian motion in V1 cos(x1/eps) + V2 cos(x2/eps): the block-by-block
    Lifson-Jackson tensor diag(2D/I0(V1/D)^2, 2D/I0(V2/D)^2) predicts E[x_i^2]."""
    x1, x2, y1, y2 = sp.symbols("x1 x2 y1 y2", real=True)
    V1, V2 = sp.Integer(1), sp.Rational(1, 2)
    p1, p2 = V1 * sp.cos(y1), V2 * sp.cos(y2)
    s2 = sp.sqrt(2)
    m = sa.SDE([x1, x2, y1, y2],
               [-p1.diff(y1) / eps, -p2.diff(y2) / eps, -p1.diff(y1) / eps**2,
                -p2.diff(y2) / eps**2],
               noise=[[s2, 0], [0, s2], [s2 / eps, 0], [0, s2 / eps]],
               periodic={y1: 2 * sp.pi, y2: 2 * sp.pi})
    red = sa.reduce(m, [y1, y2])
    rep = sa.verify(m, red, {x1: 0.0, x2: 0.0}, 0.5, eps_values=[0.2, 0.1, 0.05],
                    observables=[x1**2, x2**2], paths=10_000, seed=21, check_dt=False)
    _converges(rep, x1**2)
    _converges(rep, x2**2)


def test_order_one_adds_the_variance_the_averaged_ode_misses() -> None:
    """dx = (-x + y) dt with a fast OU y (rate 1/eps): order 0 is dx = -x dt (Var x = 0),
    order 1 adds diffusion 2 eps; the full model's Var x(T) ~ eps (1 - e^{-2T})."""
    m = sa.SDE([x, y], [-x + y, -y / eps], noise=[[0], [sp.sqrt(2 / eps)]])
    r0, r1 = sa.reduce(m, [y]), sa.reduce(m, [y], order=1)
    assert sp.simplify(r1.diffusion[0, 0] - 2 * eps) == 0
    kw = dict(x0={x: 1.0}, T=1.0, eps_values=[0.1, 0.05, 0.025], observables=[x**2],
              paths=20_000, seed=22, check_dt=False)
    rep0, rep1 = sa.verify(m, r0, **kw), sa.verify(m, r1, **kw)
    e0, e1 = _rows(rep0, x**2), _rows(rep1, x**2)
    for a, b in zip(e0, e1):   # the order-1 error is far below the order-0 one at each eps
        assert abs(b.error) < 0.35 * abs(a.error), (rep0.table(), rep1.table())
    assert abs(e0[0].error) > 4 * e0[0].error_se, rep0.table()   # order 0 is rejected


def test_pdmp_promoter_reduced_by_reduce() -> None:
    """The two-state promoter through sa.reduce: the order-1 model's second moment error
    is well below the averaged ODE's."""
    a, b, g, k = sp.symbols("a b gamma k", positive=True)
    chain = sa.MarkovChain({("off", "on"): a / eps, ("on", "off"): b / eps})
    pdmp = sa.SwitchingSDE([x], chain, drift={"off": -g * x, "on": k - g * x})
    r0, r1 = sa.reduce(pdmp), sa.reduce(pdmp, order=1)
    kw = dict(x0={x: 1.0}, T=1.0, eps_values=[0.2, 0.1, 0.05], observables=[x, x**2],
              params={a: 1.0, b: 2.0, g: 1.0, k: 3.0}, paths=20_000, seed=23)
    rep0, rep1 = sa.verify(pdmp, r0, **kw), sa.verify(pdmp, r1, **kw)
    _converges(rep0, x)
    e0, e1 = _rows(rep0, x**2), _rows(rep1, x**2)
    assert abs(e1[0].error) < 0.35 * abs(e0[0].error), (rep0.table(), rep1.table())
