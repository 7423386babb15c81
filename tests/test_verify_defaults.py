"""Issue 13: verify's defaults (control variates for an SDE, the path budget under a
time budget) and the planning of paths when an estimate sits inside the deterministic
reduced side's own error bar.

The model is the fast-OU homogenization ``dx = lam y / eps dt``,
``dy = -alpha y / eps^2 dt + s / eps dW`` (Pavliotis & Stuart 2008, Sec. 11.7.5), whose
``E x_T^2`` is computed here by quadrature of the stationary autocovariance (an
independent numeric computation)."""

from __future__ import annotations

import math

import pytest
import sympy as sp
from scipy import integrate

import symavg as sa
import symavg.numeric.kolmogorov as kolmogorov
import symavg.numeric.verify as verify_module
from symavg.numeric.kolmogorov import ReducedExpectations

x, y = sp.symbols("x y", real=True)
eps = sa.epsilon
lam, alpha, s = sp.symbols("lambda alpha s", positive=True)
OU = sa.SDE([x, y], [lam * y / eps, -alpha * y / eps**2], noise=[0, s / eps])
PARAMS = {lam: 1.0, alpha: 1.0, s: math.sqrt(2.0)}


def _second_moment(e: float, T: float = 0.5) -> float:
    """E x_T^2 = (lam/eps)^2 2 int_0^T (T - u) C(u) du with C(u) = s^2/(2 alpha)
    exp(-alpha u / eps^2), the stationary autocovariance of y (lam = alpha = 1, s^2 = 2)."""
    val, _ = integrate.quad(lambda u: (T - u) * math.exp(-u / e**2), 0, T, epsabs=1e-13)
    return 2 * val / e**2


@pytest.mark.slow
def test_auto_is_control_for_an_sde_and_unbiased() -> None:
    """The default estimator of an SDE full model is the control variate: its E x_T^2
    agrees with the quadrature within 4 standard errors and its variance is reduced (the
    slow variable is nearly sqrt(2) W_T)."""
    e = 0.15
    rep = sa.verify(OU, sa.reduce(OU, fast=[y]), {x: 0.0}, 0.5, eps_values=[e],
                    observables=[x**2], params=PARAMS, paths=2000, seed=5, check_dt=False,
                    progress=False)
    (r,) = rep.rows
    assert rep.info["variance reduction"] == "control"
    assert abs(r.full - _second_moment(e)) < 4 * r.full_se
    assert rep.info["variance reduction factor"][(e, x**2)] > 2


class _Stop(Exception):
    pass


def test_auto_is_plain_monte_carlo_for_a_pdmp(monkeypatch: pytest.MonkeyPatch) -> None:
    """A PDMP has no Brownian sums: "auto" asks simulate for neither antithetic pairs nor
    recorded noise (the first simulate call is intercepted)."""
    seen = {}

    def fake_simulate(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        seen.update(kwargs)
        raise _Stop

    monkeypatch.setattr(verify_module, "simulate", fake_simulate)
    z = sp.Symbol("z", real=True)
    chain = sa.MarkovChain({("off", "on"): 1 / eps, ("on", "off"): 2 / eps})
    pdmp = sa.SwitchingSDE([z], chain, drift={"off": -z, "on": 3 - z})
    with pytest.raises(_Stop):
        sa.verify(pdmp, sa.reduce(pdmp), {z: 1.0}, 0.5, eps_values=[0.2], paths=500,
                  seed=1, progress=False)
    assert seen["antithetic"] is False and seen["record_noise"] is False
    with pytest.raises(_Stop):
        sa.verify(OU, sa.reduce(OU, fast=[y]), {x: 0.0}, 0.5, eps_values=[0.2],
                  params=PARAMS, paths=500, seed=1, progress=False)
    assert seen["antithetic"] is False and seen["record_noise"] is True


@pytest.mark.slow
def test_the_path_budget_is_larger_under_a_time_budget() -> None:
    """max_paths defaults to 64 x paths, or 1024 x paths when max_time is given."""
    red = sa.reduce(OU, fast=[y])
    kw = dict(eps_values=[0.5], observables=[x**2], params=PARAMS, paths=400, seed=2,
              check_dt=False, progress=False, target=2.0)
    assert sa.verify(OU, red, {x: 0.0}, 0.5, **kw).info["path budget"] == 64 * 400
    assert (sa.verify(OU, red, {x: 0.0}, 0.5, max_time=120, **kw).info["path budget"]
            == 1024 * 400)


@pytest.mark.slow
def test_paths_are_added_while_the_sampling_error_exceeds_the_reduced_error_bar(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The reduced side is replaced by the exact full-model value at the smallest eps with
    an error estimate delta = 0.01: there the error is zero, its estimate falls inside
    2 delta, so no number of paths resolves it, yet the sampling error (about 0.03 at 2000
    plain paths) is the larger part of the error bar. Paths are added there, up to about
    s_full^2 / delta^2, although the larger eps already fit an order."""
    e_small = 0.15
    exact = _second_moment(e_small)

    def fake(reduced, x0, T, obs, vals, functions, method):  # noqa: ANN001, ANN202
        return ReducedExpectations({o: exact for o in obs}, {o: 0.01 for o in obs},
                                   "gaussian", {})

    monkeypatch.setattr(kolmogorov, "reduced_expectations", fake)
    rep = sa.verify(OU, sa.reduce(OU, fast=[y]), {x: 0.0}, 0.5,
                    eps_values=[0.6, 0.3, e_small], observables=[x**2], params=PARAMS,
                    paths=2000, seed=3, check_dt=False, progress=False, target=2.0,
                    variance_reduction="none", max_paths=20_000)
    rows = {r.eps: r for r in rep.rows}
    assert rows[0.6].resolved and rows[0.3].resolved
    assert not rows[e_small].resolved
    assert rep.info["paths"][e_small] > 2000
    assert rep.order is not None


def test_commutativity_of_a_reduced_noise() -> None:
    """Kloeden & Platen 1992, eq. (10.3.13): L^1 sigma^2 = L^2 sigma^1 with
    L^j = sum_i sigma_ij d/dz_i. For sigma = [[1, 0], [0, x]]: L^1 sigma_{y,2} = 1 and
    L^2 sigma_{y,1} = 0 (by hand), so W1 and W2 do not commute in the equation of y; a
    diagonal noise depending on each equation's own variable commutes, and so does the
    matrix-friction Kramers model's noise on u alone (it depends on x only). verify's
    full-model weak2 is not carried over to such a reduced model (it falls back to
    'auto' with a note)."""
    from symavg.numeric.kernel import noncommuting

    u1, u2 = sp.symbols("u1 u2", real=True)
    assert noncommuting([[1, 0], [0, x]], [x, y]) == (0, 1, 1)
    assert noncommuting([[sp.sin(x), 0], [0, y**2]], [x, y]) is None
    assert noncommuting(sp.Matrix([[0, 0], [0, 0], [1 + x**2, 0], [0, 1 + x**2]]),
                        [x, y, u1, u2]) is None
    assert noncommuting(sp.Matrix([[1 + y**2, x], [0, 1]]), [x, y]) == (0, 1, 0)


def test_an_order_interval_reaching_zero_says_the_errors_do_not_shrink() -> None:
    """fit_order by hand: errors 0.02, 0.04, 0.03 at eps 0.2, 0.1, 0.05 (all resolved)
    give a negative slope, whose message says no convergence is shown; errors e = eps^2
    give order 2 and no such remark."""
    from symavg.numeric.verify import fit_order

    bad = fit_order([0.2, 0.1, 0.05], [0.02, 0.04, 0.03], [0.004, 0.004, 0.004], x)
    assert bad.order < 0 and "order <= 0" in bad.message
    good = fit_order([0.2, 0.1, 0.05], [0.04, 0.01, 0.0025], [1e-4, 1e-4, 1e-4], x)
    assert good.order == pytest.approx(2.0, abs=1e-9) and "order <= 0" not in good.message


@pytest.mark.slow
def test_a_noise_free_reduced_model_is_checked_up_to_its_step_bias(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Averaging dx = (-x + x y) dt, dy = -y/eps dt + sqrt(2/eps) dW: the reduced model is
    the ODE dx = -x dt (Pavliotis & Stuart 2008, Ch. 10, F = <f>_rho with <y> = 0), whose mean is
    x0 e^{-T}. Its Euler Monte Carlo at T/1000 is off by about T^2/(2 * 1000) e^{-T}
    relative, which is the scheme's, not a failed deterministic value: no note. A wrong
    deterministic value (1e-2 off) is still reported."""
    a = sp.Symbol("alpha", positive=True)
    m = sa.SDE([x, y], [-x + x * y, -a * y / eps], noise=[0, sp.sqrt(2 * a / eps)])
    red = sa.reduce(m, [y])
    kw = dict(eps_values=[0.1, 0.05], observables=[x], params={a: 1}, paths=500, seed=1,
              check_dt=False, progress=False)
    rep = sa.verify(m, red, {x: 1.0}, 1.0, **kw)
    assert rep.rows[0].reduced == pytest.approx(math.exp(-1.0), rel=1e-10)
    assert not any("reduced model's Monte Carlo" in n for n in rep.notes)
    good = kolmogorov.reduced_expectations

    def off(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        d = good(*args, **kwargs)
        return ReducedExpectations({o: v + 1e-2 for o, v in d.means.items()}, d.errors,
                                   d.method, d.checks)

    monkeypatch.setattr(kolmogorov, "reduced_expectations", off)
    rep2 = sa.verify(m, red, {x: 1.0}, 1.0, **kw)
    assert any("reduced model's Monte Carlo" in n for n in rep2.notes)
