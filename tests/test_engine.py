"""The expansion engine: regimes, correlated noise, errors, derivation record."""

import pytest
import sympy as sp

import symavg as sa

x, y, z = sp.symbols("x y z", real=True)
eps = sa.epsilon
c = sp.Function("c")


def design_model():
    # dx = eps^-1 c(x) y dt + dW,  dy = -eps^-2 y dt + eps^-1 sqrt(2) dW  (one W)
    return sa.SDE([x, y], [c(x) * y / eps, -y / eps**2], noise=[[1], [sp.sqrt(2) / eps]])


def test_correlated_noise_example_of_the_design():
    """Derived by hand in docs/engine.md: drift (c + sqrt 2) c', diffusion
    (1 + sqrt 2 c)^2 (the shared Brownian motion gives the cross terms)."""
    red = sa.reduce(design_model(), fast=[y])
    assert red.regime == "homogenization"
    assert red.state == (x,)
    cx, dc = c(x), sp.diff(c(x), x)
    assert sp.simplify(red.drift[0] - (cx * dc + sp.sqrt(2) * dc)) == 0
    assert sp.simplify(red.diffusion[0, 0] - (1 + sp.sqrt(2) * cx) ** 2) == 0
    assert sp.simplify(red.noise * red.noise.T - red.diffusion) == sp.zeros(1, 1)
    assert red.steps.passed


def test_derivation_records_every_step():
    red = sa.reduce(design_model(), fast=[y])
    names = [s.name for s in red.steps]
    assert names == ["model", "generator split", "invariant measure", "centering",
                     "cell problem", "solvability", "effective coefficients"]
    md = red.steps.to_markdown()
    assert "cell problem" in md and "passed" in md
    tex = red.steps.to_latex()
    assert r"\begin{align*}" in tex
    assert red.steps._repr_latex_().startswith("$")
    assert red._repr_latex_().startswith("$")


def test_averaging_regime_detected():
    """Averaging, Pavliotis & Stuart 2008, Sec. 10.2: F(x) = <f(x, .)>_rho."""
    m = sa.SDE([x, y], [-x + y**2, (x - y) / eps], noise=[0, sp.sqrt(2 / eps)])
    red = sa.reduce(m, [y])
    assert red.regime == "averaging"
    assert sp.simplify(red.drift[0] - (-x + x**2 + 1)) == 0
    assert red.diffusion[0, 0] == 0


def test_average_and_homogenize_force_the_regime():
    m = sa.SDE([x, y], [-x + y, -y / eps], noise=[0, sp.sqrt(2 / eps)])
    assert sa.average(m, [y]).regime == "averaging"
    with pytest.raises(sa.ScaleSeparationError, match="use sa.homogenize"):
        sa.average(design_model(), [y])
    red = sa.homogenize(m, [y])  # empty middle order: the formula reduces to averaging
    assert sp.simplify(red.drift[0] + x) == 0


def test_half_integer_powers():
    """L = eps^-1 L0 + eps^-1/2 L1: homogenization in delta = sqrt(eps)."""
    m = sa.SDE([x, y], [y / sp.sqrt(eps), -y / eps], noise=[0, sp.sqrt(2 / eps)])
    red = sa.reduce(m, [y])
    assert red.regime == "homogenization"
    assert red.diffusion[0, 0] == 2


def test_x_dependent_invariant_measure_and_noise_induced_drift():
    """dx = eps^-1 y dt, dy = -eps^-2 g(x) y dt + eps^-1 sqrt(2) dW:
    Phi = y/g, effective generator d/dx of y*Phi/g... drift -g'/g^3, diffusion 2/g^2."""
    g = sp.Function("g")(x)
    m = sa.SDE([x, y], [y / eps, -g * y / eps**2], noise=[0, sp.sqrt(2) / eps])
    red = sa.reduce(m, [y])
    assert sp.simplify(red.diffusion[0, 0] - 2 / g**2) == 0
    assert sp.simplify(red.drift[0] + sp.diff(g, x) / g**3) == 0


def test_centering_failure_in_reduce():
    m = sa.SDE([x, y], [(1 + y) / eps, -y / eps**2], noise=[0, sp.sqrt(2) / eps])
    with pytest.raises(sa.CenteringError, match="faster time scale"):
        sa.reduce(m, [y])


@pytest.mark.parametrize(
    "model, fast, match",
    [
        (sa.SDE([x, y], [-x / eps, -y / eps], noise=[0, 1]), [y], "acts on the slow"),
        (sa.SDE([x, y], [-x, -y], noise=[0, 1]), [y], "does not appear"),
        (sa.SDE([x, y], [-x + y, -y / eps**3 + y / eps], noise=[0, 1 / eps]), [y],
         "between"),
    ],
)
def test_scale_separation_errors(model, fast, match):
    with pytest.raises(sa.ScaleSeparationError, match=match):
        sa.reduce(model, fast)


def test_input_errors():
    m = design_model()
    with pytest.raises(sa.ModelError, match="not a state variable"):
        sa.reduce(m, [z])
    with pytest.raises(sa.ModelError, match="leave at least one slow"):
        sa.reduce(m, [x, y])
    with pytest.raises(sa.ModelError, match="regime must be"):
        sa.reduce(m, [y], regime="magic")


def test_no_invariant_measure_in_reduce():
    m = sa.SDE([x, y], [y / eps, y / eps**2], noise=[0, sp.sqrt(2) / eps])
    with pytest.raises(sa.NoInvariantMeasureError):
        sa.reduce(m, [y])


def test_two_fast_variables_linear():
    """dx = eps^-1 (y + z) dt with two independent OU: D_eff = sum of Green-Kubo
    integrals, 2 * int_0^oo E[(y+z)(0)(y+z)(t)] dt = 2 (1 + 1/4) with z of rate 2."""
    m = sa.SDE([x, y, z], [(y + z) / eps, -y / eps**2, -2 * z / eps**2],
               noise=[0, sp.sqrt(2) / eps, sp.sqrt(2) / eps])
    red = sa.reduce(m, [y, z])
    # Var y = 1, rate 1: contributes 2*1/1; Var z = 1/2, rate 2: contributes 2*(1/2)/2
    assert red.diffusion[0, 0] == sp.Rational(5, 2)


def test_tidy_rational_coefficients_in_lowest_terms_without_simplify(monkeypatch):
    """Rational effective coefficients (also in undefined functions) are put in lowest
    terms by cancel/factor in-process; simplify (forked, budgeted) is not called."""
    from symavg.derive import engine

    monkeypatch.setattr(engine, "with_budget", lambda *a, **k: pytest.fail("simplify called"))
    g = sp.Function("g")(x)
    assert engine._tidy(x / (x**2 + 1) + 1 / (x * (x**2 + 1))) == 1 / x
    from symavg._sympy_util import is_rational_expression as rat

    assert rat(g / (1 + sp.diff(g, x)) ** 2)
    assert not rat(sp.sqrt(x)) and not rat(sp.sin(x))
