r"""The numeric (spectral) route of reduce for a fast variable on the real line: the mapped
Chebyshev grid of symavg.derive.numeric_line, tested against independent scipy quadrature
of the one-dimensional formulas.

References for the formulas the quadratures evaluate:

* stationary density of a 1-D diffusion with natural boundaries,
  :math:`\rho = e^{-V}/Z` for :math:`dy = -V'(y)dt + \sqrt2\,dW` (Risken, *The
  Fokker-Planck Equation*, 2nd ed., 1989, Sec. 5.2, potential form of the stationary
  solution; Pavliotis, *Stochastic Processes and Applications*, 2014, Sec. 4.5);
* the 1-D cell problem: :math:`\mathcal L_0 = -V'\partial_y + \partial_y^2 =
  e^{V}\partial_y(e^{-V}\partial_y)`, so :math:`-\mathcal L_0\Phi = h` integrates once to
  :math:`\Phi'(y) = -e^{V(y)}\int_{-\infty}^y h(s)e^{-V(s)}ds` (the flux vanishes at
  :math:`-\infty`; the same formula as the ``quadrature (1-D)`` strategy of
  symavg.derive.poisson with :math:`\Psi = \int 2b/a = -V`);
* homogenization of :math:`dx = f(y)/\epsilon\,dt`: effective diffusion
  :math:`2\langle f\Phi\rangle` with :math:`-\mathcal L_0\Phi = f` (Pavliotis & Stuart,
  *Multiscale Methods*, 2008, Ch. 11, the homogenized SDE of Sec. 11.2-11.3), and by parts
  with the weight :math:`e^{-V}/Z`, :math:`\langle f\Phi\rangle = \langle -\mathcal
  L_0\Phi\cdot\Phi\rangle = \langle\Phi'^2\rangle`, so
  :math:`D = \frac2Z\int e^{V(y)}\Bigl(\int_{-\infty}^y f e^{-V}\Bigr)^2dy`
  (derived here; for the OU case :math:`V = y^2/2`, :math:`\Phi = y` and :math:`D = 2`).
"""

import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

import symavg as sa
from symavg.derive.numeric_line import line_axis, product_grid, product_operator
from symavg.derive.poisson import numeric_hint

eps = sa.epsilon
x, y = sp.symbols("x y", real=True)
c = sp.Symbol("c", positive=True)
#: scipy quadrature tolerances of the references (the defaults stop at 1.5e-8 absolute)
TOL = {"epsabs": 1e-13, "epsrel": 1e-12}


def _potential(V):
    return sp.lambdify(y, V, "math")


def _quad_reference(V, f=lambda s: s):
    r"""Z, <f>, Phi'(y) and D = 2<Phi'^2> for dy = -V' dt + sqrt(2) dW by scipy quadrature
    (module docstring). Phi' is evaluated in the overflow-free form
    :math:`\int e^{V(y) - V(s)}(f(s) - m)ds`, from the nearer end."""
    Vf = _potential(V)
    Z = quad(lambda s: np.exp(-Vf(s)), -np.inf, np.inf, **TOL)[0]
    m = quad(lambda s: f(s) * np.exp(-Vf(s)), -np.inf, np.inf, **TOL)[0] / Z
    mode = 0.0

    def dphi(t: float) -> float:
        if t < mode:
            return -quad(lambda s: (f(s) - m) * np.exp(Vf(t) - Vf(s)), -np.inf, t, **TOL)[0]
        return quad(lambda s: (f(s) - m) * np.exp(Vf(t) - Vf(s)), t, np.inf, **TOL)[0]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        D = 2 * quad(lambda t: dphi(t) ** 2 * np.exp(-Vf(t)) / Z, -np.inf, np.inf,
                     limit=200)[0]
    return Z, m, dphi, D


DOUBLE_WELL = y**4 / 4 - y**2 / 2


def _fast_generator(V):
    return sa.Generator([y], [-sp.diff(V, y)], [[2]])


def test_double_well_density_against_quadrature():
    """rho = exp(-V)/Z, V = y^4/4 - y^2/2 (Risken 1989, Sec. 5.2): averages under the grid
    law (what the engine uses) against scipy quadrature to 1e-11, and the density at the
    nodes, q_j / W_j (the discrete law over the Clenshaw-Curtis weights; it converges
    algebraically, 6e-8 measured at 128 points, while averages converge geometrically)."""
    G = _fast_generator(DOUBLE_WELL)
    op = product_operator(G, product_grid(G, (y,), {}, 128, line_factor=1))
    rho, residual = op.density()
    assert residual < 1e-12
    nodes = op.grid.axes[0].nodes
    Vf = _potential(DOUBLE_WELL)
    Z = quad(lambda s: np.exp(-Vf(s)), -np.inf, np.inf, **TOL)[0]
    # each g with its weighted integrand g e^{-V}, written so that it does not overflow
    cases = [(lambda s: s**2, lambda s: s**2 * np.exp(-Vf(s))),
             (lambda s: s**4, lambda s: s**4 * np.exp(-Vf(s))),
             (np.cos, lambda s: np.cos(s) * np.exp(-Vf(s))),
             (lambda s: np.exp(s / 2), lambda s: np.exp(s / 2 - Vf(s)))]
    for g, weighted in cases:
        exact = quad(weighted, -np.inf, np.inf, **TOL)[0] / Z
        assert op.grid.integrate(g(nodes) * rho) == pytest.approx(exact, rel=1e-11)
    assert op.grid.integrate(rho) == pytest.approx(1.0, rel=1e-13)
    exact = np.exp(-np.array([Vf(t) for t in nodes])) / Z
    assert np.max(np.abs(rho - exact)[1:-1]) < 1e-6
    assert rho[0] == rho[-1] == 0     # the walls carry no mass (density e^-70 there)


def test_grid_converges_geometrically_on_the_double_well():
    """The error of <y^2> falls geometrically with the number of points -- measured 3e-5 at
    32, 2e-7 at 48, 7e-12 at 64 -- down to rounding (1e-14) at 96."""
    G = _fast_generator(DOUBLE_WELL)
    Vf = _potential(DOUBLE_WELL)
    Z = quad(lambda s: np.exp(-Vf(s)), -np.inf, np.inf, **TOL)[0]
    y2 = quad(lambda s: s**2 * np.exp(-Vf(s)), -np.inf, np.inf, **TOL)[0] / Z
    errors = []
    for n in (32, 48, 64, 96):
        op = product_operator(G, product_grid(G, (y,), {}, n, line_factor=1))
        rho, _ = op.density()
        errors.append(abs(op.grid.integrate(op.grid.axes[0].nodes**2 * rho) - y2))
    assert errors[1] < errors[0] / 30 and errors[2] < errors[1] / 1000
    assert errors[3] < 1e-12


@pytest.mark.parametrize("V, f", [
    (DOUBLE_WELL, lambda s: s),
    (y**4 / 4 - y**2 / 2 - y / 2, lambda s: s),          # a tilted double well
    (DOUBLE_WELL, lambda s: s**2),                        # Phi ~ log|y|: unbounded
    (y**2 / 2, lambda s: s**3),                           # OU: Phi = y^3/3 + 2y, growing
])
def test_cell_problem_against_the_one_dimensional_formula(V, f):
    r"""Phi'(y) = -e^{V(y)} int_{-inf}^y (h - <h>) e^{-V} ds (module docstring; the
    quadrature (1-D) strategy of symavg.derive.poisson), at the nodes where the density is
    above e^-20 of its peak (the walls sit at e^-70)."""
    G = _fast_generator(V)
    op = product_operator(G, product_grid(G, (y,), {}, 128, line_factor=1))
    rho, _ = op.density()
    nodes = op.grid.axes[0].nodes
    h = f(nodes)
    phi, residual = op.cell(h)
    assert residual < 1e-9 * np.max(np.abs(h))
    assert op.grid.integrate(phi * rho) == pytest.approx(0.0, abs=1e-12)
    _, _, dphi, _ = _quad_reference(V, f)
    grad = op.grad(phi)[0]
    Vf = _potential(V)
    Vn = np.array([Vf(t) for t in nodes])
    bulk = Vn < Vn.min() + 20
    exact = np.array([dphi(t) for t in nodes[bulk]])
    assert np.max(np.abs(grad[bulk] - exact)) < 1e-8 * max(1.0, np.max(np.abs(exact)))


def test_effective_diffusion_of_the_double_well_cell_problem():
    """D = 2 <Phi'^2> = (2/Z) int e^V (int_{-inf}^y s e^{-V})^2 dy for dx = y/eps dt
    (derived in the module docstring from Pavliotis & Stuart 2008, Ch. 11), by nested
    quadrature, against 2 <y Phi> on the grid."""
    G = _fast_generator(DOUBLE_WELL)
    op = product_operator(G, product_grid(G, (y,), {}, 128, line_factor=1))
    rho, _ = op.density()
    nodes = op.grid.axes[0].nodes
    phi, _ = op.cell(nodes)
    _, _, _, D = _quad_reference(DOUBLE_WELL)
    assert 2 * op.grid.integrate(nodes * phi * rho) == pytest.approx(D, rel=1e-9)
    assert 2 * op.grid.integrate(op.grad(phi)[0] ** 2 * rho) == pytest.approx(D, rel=1e-9)


def _homogenization_model(V):
    return sa.SDE([x, y], [y / eps, -sp.diff(V, y) / eps**2], noise=[[0], [sp.sqrt(2) / eps]])


def test_reduce_numeric_double_well_end_to_end():
    """sa.reduce(..., method="numeric") on a fast double well: the effective diffusion
    against the nested quadrature D (module docstring), every check passed, the strategies
    named, and grid convergence recorded (2n = 128 against n = 64 mapped points)."""
    red = sa.reduce(_homogenization_model(DOUBLE_WELL), fast=[y], params={}, method="numeric")
    _, _, _, D = _quad_reference(DOUBLE_WELL)
    assert red.drift[0] == 0
    assert float(red.diffusion[0, 0]) == pytest.approx(D, rel=1e-9)
    assert red.steps.passed
    assert {s.strategy for s in red.steps if s.name in ("invariant measure", "cell problem")} \
        == {"spectral (numeric)"}
    conv = [ch for ch in red.steps.checks if ch.name == "grid convergence"]
    assert conv and all(ch.passed for ch in conv)
    assert any("Chebyshev points" in s.statement for s in red.steps
               if s.name == "invariant measure")


def test_double_well_without_method_numeric_spends_no_integrate_budget(monkeypatch):
    """sa.reduce(m, params={}) with the default method on the double well: the symbolic
    route no longer spends about 50 s on integrate before giving up. Liouville's rule
    gives Phi' in erf form, the normaliser and D are recognised as having no closed form
    and left for quadrature, so no budgeted integrate or limit is made; D equals the nested
    quadrature of the module docstring."""
    from symavg import _sympy_util
    from symavg.derive import integrals

    real = _sympy_util.run_budgeted

    def guarded(fn, args, work, kwargs=None):
        assert fn not in (sp.integrate, integrals._integrate_definite, sp.limit), \
            f"a budgeted {fn.__name__} was made"
        return real(fn, args, work, kwargs)

    monkeypatch.setattr(_sympy_util, "run_budgeted", guarded)
    red = sa.reduce(_homogenization_model(DOUBLE_WELL), fast=[y], params={})
    _, _, _, D = _quad_reference(DOUBLE_WELL)
    assert red.drift[0] == 0 and red.steps.passed
    assert {s.strategy for s in red.steps if s.name in ("invariant measure", "cell problem")} \
        == {"speed measure (1-D)", "quadrature (1-D)"}
    value = complex(_sympy_util._integrals_to_numbers(red.diffusion[0, 0]))
    assert value.real == pytest.approx(D, rel=1e-10) and value.imag == 0


def test_reduce_numeric_with_a_parameter_and_the_quartic_well():
    """A double well of depth c (V = y^4/4 - c y^2/2, params={c: 2}) and the pure quartic well
    V = y^4/4 of issue 14 (D about 0.975), both against the nested quadrature."""
    V = y**4 / 4 - c * y**2 / 2
    red = sa.reduce(_homogenization_model(V), fast=[y], params={c: 2}, method="numeric")
    assert float(red.diffusion[0, 0]) == pytest.approx(_quad_reference(V.subs(c, 2))[3],
                                                       rel=1e-8)
    quartic = sa.reduce(_homogenization_model(y**4 / 4), fast=[y], params={},
                        method="numeric")
    D = _quad_reference(y**4 / 4)[3]
    assert D == pytest.approx(0.975, abs=5e-4)
    assert float(quartic.diffusion[0, 0]) == pytest.approx(D, rel=1e-9)


def test_reduce_numeric_ou_equals_closed_form():
    """A polynomial (linear) drift: the numeric route gives the closed form D = 2 of the OU
    fast process (Pavliotis & Stuart 2008, Ch. 11; the symbolic route of the same model)."""
    m = _homogenization_model(y**2 / 2)
    assert sa.reduce(m, fast=[y]).diffusion[0, 0] == 2
    assert float(sa.reduce(m, fast=[y], params={}, method="numeric").diffusion[0, 0]) \
        == pytest.approx(2.0, rel=1e-8)


def test_averaging_a_slow_drift_over_the_double_well():
    r"""Averaging regime: dx = (y^2 - x) dt with a fast double well on the scale 1/eps: the
    averaged drift <y^2> - x, <y^2> by quadrature of y^2 e^{-V}/Z (Pavliotis & Stuart
    2008, Ch. 10)."""
    m = sa.SDE([x, y], [y**2 - x, -sp.diff(DOUBLE_WELL, y) / eps],
               noise=[[0], [sp.sqrt(2 / eps)]])
    red = sa.reduce(m, fast=[y], params={}, method="numeric")
    Vf = _potential(DOUBLE_WELL)
    Z = quad(lambda s: np.exp(-Vf(s)), -np.inf, np.inf, **TOL)[0]
    y2 = quad(lambda s: s**2 * np.exp(-Vf(s)), -np.inf, np.inf, **TOL)[0] / Z
    drift = red.drift[0]
    assert sp.diff(drift, x) == -1
    assert float(drift.subs(x, 0)) == pytest.approx(y2, rel=1e-10)
    assert red.steps.passed


@pytest.mark.parametrize("drift, match", [
    (-2 * y / (1 + y**2), "not confining"),        # Cauchy invariant law: algebraic tails
    (sp.S.Zero, "does not confine"),                # Brownian motion on the line
    (y, "does not confine"),                        # an outward drift
])
def test_non_confining_drifts_are_refused(drift, match):
    m = sa.SDE([x, y], [sp.tanh(y) / eps, drift / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    with pytest.raises(sa.ModelError, match=match):
        sa.reduce(m, fast=[y], params={}, method="numeric")


def test_advice_only_suggests_what_applies():
    """No closed form: a diffusion is told about params= and method='numeric' (circles and
    the line), a fast chain is not offered a numeric solver it cannot use."""
    text = numeric_hint(_fast_generator(DOUBLE_WELL))
    assert "method='numeric'" in text and "line" in text and "params={}" in text
    chain = sa.MarkovChain({("a", "b"): 1, ("b", "a"): 2})
    G = sa.SwitchingSDE([x], chain, drift={"a": -x, "b": 1 - x}).generator
    assert "does not handle fast jumps" in numeric_hint(G)


def test_line_axis_quadrature_and_derivative():
    """The Chebyshev axis alone: Clenshaw-Curtis int_{-7}^{7} exp(-y^2) dy = sqrt(pi) (to
    e^-49), and the first and second derivatives of sin(y) + y^3, to near machine
    precision."""
    ax = line_axis(96, -7.0, 7.0)
    assert np.all(np.diff(ax.nodes) > 0)
    assert np.sum(ax.weights * np.exp(-ax.nodes**2)) == pytest.approx(np.sqrt(np.pi),
                                                                     rel=1e-13)
    y_ = ax.nodes
    u = np.sin(y_) + y_**3
    assert np.max(np.abs(ax.d1 @ u - (np.cos(y_) + 3 * y_**2))) < 1e-9
    assert np.max(np.abs(ax.d2 @ u - (-np.sin(y_) + 6 * y_))) < 1e-7


def test_product_of_a_circle_and_a_line_against_the_one_dimensional_references():
    r"""The tensor grid (Fourier x Chebyshev): independent y1 on the circle with the Gibbs
    law e^{-cos y1}/Z_1 and y2 in the double well. For h = sin y1 + y2 the cell solution is
    Phi_1(y1) + Phi_2(y2) and 2<h Phi> = D_1 + D_2, each a 1-D quadrature. On the circle,
    L0 = e^{V_1} d/dy (e^{-V_1} d/dy) gives Phi_1' = e^{V_1}(C - int_0^y sin(s) e^{-V_1(s)} ds)
    with C fixed by the periodicity int_0^{2 pi} Phi_1' = 0, and D_1 = 2<Phi_1'^2> (the
    periodic case of the quadrature (1-D) strategy of symavg.derive.poisson; Pavliotis &
    Stuart 2008, Ch. 13, one-dimensional periodic cell problems); D_2 as in the module
    docstring."""
    y1, y2 = sp.symbols("y1 y2", real=True)
    G = sa.Generator([y1, y2], [sp.sin(y1), -(y2**3 - y2)], [[2, 0], [0, 2]],
                     periodic={y1: 2 * sp.pi})
    grid = product_grid(G, (y1, y2), {}, 24)          # 24 Fourier x 48 Chebyshev points
    assert grid.shape == (24, 48)
    op = product_operator(G, grid)
    rho, residual = op.density()
    assert residual < 1e-10
    Y1, Y2 = grid.points()
    phi, res = op.cell(np.sin(Y1) + Y2)
    assert res < 1e-9
    D = 2 * grid.integrate((np.sin(Y1) + Y2) * phi * rho)
    assert D == pytest.approx(_circle_line_reference(), rel=1e-6)


def _circle_line_reference() -> float:
    """D_1 + D_2 of test_product_of_a_circle_and_a_line_against_the_one_dimensional_references,
    by scipy quadrature."""
    # circle: Phi_1' = e^{V1} (C - G(y)), G(y) = int_0^y sin s e^{-V1(s)} ds, V1 = cos;
    # periodicity int_0^{2pi} Phi_1' = 0 fixes C; D_1 = 2 <Phi_1'^2>
    V1 = np.cos

    def Gint(t):
        return quad(lambda s: np.sin(s) * np.exp(-V1(s)), 0, t, **TOL)[0]

    C = quad(lambda t: np.exp(V1(t)) * Gint(t), 0, 2 * np.pi, **TOL)[0] / \
        quad(lambda t: np.exp(V1(t)), 0, 2 * np.pi, **TOL)[0]
    Z1 = quad(lambda t: np.exp(-V1(t)), 0, 2 * np.pi, **TOL)[0]
    D1 = 2 * quad(lambda t: (C - Gint(t)) ** 2 * np.exp(V1(t)), 0, 2 * np.pi, **TOL)[0] / Z1
    D2 = _quad_reference(DOUBLE_WELL)[3]
    return D1 + D2


def test_circle_times_line_past_the_old_dense_cap():
    """40 Fourier x 80 Chebyshev = 3200 nodes (the dense solve refused more than 2500): the
    law and the cell problem of test_product_of_a_circle_and_a_line_... share one
    factorisation; D against the two 1-D quadratures of _circle_line_reference."""
    y1, y2 = sp.symbols("y1 y2", real=True)
    G = sa.Generator([y1, y2], [sp.sin(y1), -(y2**3 - y2)], [[2, 0], [0, 2]],
                     periodic={y1: 2 * sp.pi})
    grid = product_grid(G, (y1, y2), {}, 40)
    assert grid.shape == (40, 80)
    op = product_operator(G, grid)
    rho, residual = op.density()
    Y1, Y2 = grid.points()
    phi, res = op.cell(np.sin(Y1) + Y2)
    assert residual < 1e-10 and res < 1e-8
    D = 2 * grid.integrate((np.sin(Y1) + Y2) * phi * rho)
    assert D == pytest.approx(_circle_line_reference(), rel=1e-6)


@pytest.mark.slow
def test_circle_times_line_through_reduce_with_a_converged_grid():
    """Two fast variables, y1 on the circle (Gibbs law e^{-cos y1}) and y2 in the double well,
    through sa.reduce(method="numeric", n=48): 48 Fourier x 96 Chebyshev = 4608 nodes, past
    the 2500 the solver allowed before, so the grid-convergence check against n = 24 passes
    (it failed at n = 48 with the cap; at n = 40 the difference is 4e-6, above the 1e-6
    tolerance). D against the two 1-D quadratures of _circle_line_reference. Marked slow:
    about 10 s of CPU, most of it the dense LU of the 4609 x 4609 bordered system."""
    y1, y2 = sp.symbols("y1 y2", real=True)
    m = sa.SDE([x, y1, y2], [(sp.sin(y1) + y2) / eps, sp.sin(y1) / eps**2,
                             -(y2**3 - y2) / eps**2],
               noise=[[0, 0], [sp.sqrt(2) / eps, 0], [0, sp.sqrt(2) / eps]],
               periodic={y1: 2 * sp.pi})
    red = sa.reduce(m, fast=[y1, y2], params={}, method="numeric", n=48)
    conv = [ch for ch in red.steps.checks if ch.name == "grid convergence"]
    assert conv and all(ch.passed for ch in conv)
    assert float(red.diffusion[0, 0]) == pytest.approx(_circle_line_reference(), rel=1e-8)


def test_too_large_a_product_grid_names_the_n_that_fits():
    y1, y2 = sp.symbols("y1 y2", real=True)
    G = sa.Generator([y1, y2], [-y1**3, -y2**3], [[2, 0], [0, 2]])
    with pytest.raises(sa.ModelError, match=r"Pass n=70 or less"):
        product_grid(G, (y1, y2), {}, 128)


@settings(max_examples=5, deadline=None)
@given(st.integers(-2, 2), st.integers(-3, 3), st.integers(-2, 2), st.integers(1, 3))
def test_random_confining_quartic_against_quadrature(a1, a2, a3, a4):
    """Random confining polynomials V = a4 y^4/4 + a3 y^3/3 + a2 y^2/2 + a1 y: <y> and the
    effective diffusion 2<(y - <y>) Phi> on the grid against the quadratures of the module
    docstring (Risken 1989, Sec. 5.2; Pavliotis & Stuart 2008, Ch. 11)."""
    V = sp.Rational(a4, 4) * y**4 + sp.Rational(a3, 3) * y**3 + sp.Rational(a2, 2) * y**2 \
        + a1 * y
    G = _fast_generator(V)
    op = product_operator(G, product_grid(G, (y,), {}, 96, line_factor=1))
    rho, _ = op.density()
    nodes = op.grid.axes[0].nodes
    Z, m, _, D = _quad_reference(V)
    assert op.grid.integrate(nodes * rho) == pytest.approx(m, rel=1e-8, abs=1e-10)
    phi, _ = op.cell(nodes)
    assert 2 * op.grid.integrate((nodes - m) * phi * rho) == pytest.approx(D, rel=1e-7)


def test_correlated_noise_uses_the_corrector_gradient():
    r"""dx = y/eps dt + dW_1, dy = -(y^3 - y)/eps^2 dt + (dW_1 + sqrt(2) dW_2)/eps: the fast
    diffusion is a = 3 and the slow-fast covariance a_xy = 1 sits in L1 = y d_x + d_x d_y,
    so the effective diffusion is 1 + 2<y Phi> + 2<d_y Phi> (the homogenized generator
    <L1 Phi> + <L2>, Pavliotis & Stuart 2008, Ch. 11), with <y Phi> = (a/2)<Phi'^2> by
    parts, rho ~ e^{-2V/3} and Phi' = -(2/3) e^{2V/3} int_{-inf}^y s e^{-2V(s)/3} ds
    (the 1-D formula of the module docstring for a = 3): 1 + 3<Phi'^2> + 2<Phi'> by
    quadrature. The cross term needs the grid gradient of the corrector."""
    m = sa.SDE([x, y], [y / eps, -(y**3 - y) / eps**2],
               noise=[[1, 0], [1 / eps, sp.sqrt(2) / eps]])
    red = sa.reduce(m, fast=[y], params={}, method="numeric")
    W = _potential(2 * DOUBLE_WELL / 3)
    Z = quad(lambda s: np.exp(-W(s)), -np.inf, np.inf, **TOL)[0]

    def dphi(t: float) -> float:
        if t < 0:
            return -2 / 3 * quad(lambda s: s * np.exp(W(t) - W(s)), -np.inf, t, **TOL)[0]
        return 2 / 3 * quad(lambda s: s * np.exp(W(t) - W(s)), t, np.inf, **TOL)[0]

    m2 = quad(lambda t: dphi(t) ** 2 * np.exp(-W(t)) / Z, -np.inf, np.inf, limit=200, **TOL)[0]
    m1 = quad(lambda t: dphi(t) * np.exp(-W(t)) / Z, -np.inf, np.inf, limit=200, **TOL)[0]
    assert float(red.diffusion[0, 0]) == pytest.approx(1 + 3 * m2 + 2 * m1, rel=1e-9)
    assert red.steps.passed


def test_diffusion_approximation_order_one_on_the_line():
    """Averaging at order 1 (dx = (y^2 - x) dt, fast double well on 1/eps): the O(eps)
    diffusion 2 eps <(y^2 - <y^2>) Phi>, -L0 Phi = y^2 - <y^2>, against the nested
    quadrature D of the module docstring (Pavliotis & Stuart 2008, Ch. 11, the central
    limit theorem correction to averaging)."""
    m = sa.SDE([x, y], [y**2 - x, -sp.diff(DOUBLE_WELL, y) / eps],
               noise=[[0], [sp.sqrt(2 / eps)]])
    red = sa.reduce(m, fast=[y], params={}, method="numeric", order=1)
    D = _quad_reference(DOUBLE_WELL, lambda s: s**2)[3]
    assert float(red.diffusion[0, 0].subs(eps, 1)) == pytest.approx(D, rel=1e-9)
