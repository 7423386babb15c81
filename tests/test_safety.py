"""Issue 14: no silently wrong answers. Each case of the issue is a test here, with the
reference and how the expected value was obtained; the property-based tests over every
registered strategy are in tests/test_properties.py."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symavg as sa
from symavg import cli
from symavg.derive.validity import hurwitz_conditions
from symavg.io.modelfile import loads_model

x, y, z, w = sp.symbols("x y z w", real=True)
eps = sa.epsilon
k = sp.Symbol("k", real=True)


# ------------------------------------------------------------- declarations
@pytest.mark.parametrize("kwargs, match", [
    # the negative fast diffusion: "passed" derivation with diffusion -2 before
    (dict(drift=[y / eps, -y / eps**2], diffusion=[[0, 0], [0, -2 / eps**2]]), "negative"),
    # a negative slow diffusion
    (dict(drift=[-x, -y / eps], diffusion=[[-1, 0], [0, 2 / eps]]), "negative"),
    # an imaginary noise entry (sigma sigma^T = -2/eps^2)
    (dict(drift=[y / eps, -y / eps**2], noise=[[0], [sp.I * sp.sqrt(2) / eps]]), "not real"),
    (dict(drift=[y / eps, -y / eps**2], noise=[[0], [sp.sqrt(-2) / eps]]), "not real"),
    # |a_xy| > sqrt(a_xx a_yy): not positive semi-definite
    (dict(drift=[-x, -y / eps], diffusion=[[1, 2], [2, 1]]), "minor"),
    # PSD fails at some states only: cos(y) on the circle
    (dict(drift=[-x, 1 / eps], diffusion=[[sp.cos(y), 0], [0, 2 / eps]],
          periodic={y: 2 * sp.pi}), "eigenvalue"),
])
def test_inadmissible_diffusions_are_refused(kwargs, match):
    with pytest.raises(sa.ModelError, match=match):
        sa.SDE([x, y], **kwargs)


def test_coefficients_must_be_periodic_in_a_periodic_variable():
    """The issue: dx = (-x + y) dt with y on a circle gave pi - x; cos(y/2) has period 4 pi,
    not the declared 2 pi."""
    with pytest.raises(sa.ModelError, match="not periodic in y"):
        sa.SDE([x, y], [-x + y, 1 / eps], noise=[1, sp.sqrt(2 / eps)], periodic={y: 2 * sp.pi})
    with pytest.raises(sa.ModelError, match="period 2\\*pi"):
        sa.SDE([x, y], [-x + sp.cos(y / 2), 1 / eps], noise=[1, sp.sqrt(2 / eps)],
               periodic={y: 2 * sp.pi})
    with pytest.raises(sa.ModelError, match="not periodic"):  # in the noise too
        sa.SDE([x, y], [-x, 1 / eps], noise=[y, sp.sqrt(2 / eps)], periodic={y: 2 * sp.pi})
    # periodic coefficients (also with a symbolic period) are accepted
    L = sp.Symbol("L", positive=True)
    sa.SDE([x, y], [-x + sp.cos(2 * sp.pi * y / L), 1 / eps], noise=[1, sp.sqrt(2 / eps)],
           periodic={y: L})
    sa.SDE([x, y], [-x + sp.Function("c")(y), 1 / eps], noise=[1, sp.sqrt(2 / eps)],
           periodic={y: 1})  # an undefined c(y) is periodic by declaration


@pytest.mark.parametrize("period, match", [
    (6.28, "floating-point"), (sp.Float(1), "floating-point"), ((0, 1), "length"),
    (-1, "positive"), ("2*pi", "string"),
])
def test_bad_periods_are_refused(period, match):
    with pytest.raises(sa.ModelError, match=match):
        sa.SDE([x, y], [-x, 1 / eps], noise=[1, sp.sqrt(2 / eps)], periodic={y: period})


def test_sign_assumption_contradicting_the_dynamics_is_refused():
    """The issue: an OU fast variable declared positive gave E[exp(-y^2)] = 1/(2 sqrt 3), half
    the true value; for y ~ N(0, 1), E exp(-y^2) = (1 + 2)^(-1/2) (a Gaussian integral)."""
    yp = sp.Symbol("y", positive=True)
    with pytest.raises(sa.ModelError, match="declared positive"):   # refused where it matters:
        sa.reduce(sa.SDE([x, yp], [-x + sp.exp(-yp**2), -yp / eps],  # averaging over y
                         noise=[0, sp.sqrt(2 / eps)]))
    red = sa.reduce(sa.SDE([x, y], [-x + sp.exp(-y**2), -y / eps], noise=[0, sp.sqrt(2 / eps)]))
    assert sp.simplify(red.drift[0] - (-x + 1 / sp.sqrt(3))) == 0
    # a CIR process keeps its positivity: diffusion sigma^2 y vanishes at 0, drift a > 0 there
    a, s = sp.symbols("a sigma", positive=True)
    sa.reduce(sa.SDE([x, yp], [-x + yp, (a - yp) / eps], noise=[0, s * sp.sqrt(yp / eps)]))
    with pytest.raises(sa.ModelError, match="points out"):
        sa.reduce(sa.SDE([x, yp], [-x + yp, (-a - yp) / eps],
                         noise=[0, s * sp.sqrt(yp / eps)]))


def test_strings_are_never_evaluated():
    """sympify would run the string as Python; declarations refuse strings outright."""
    evil = "__import__('os').system('echo pwned') or y/epsilon"
    with pytest.raises(sa.ModelError, match="string"):
        sa.SDE([x, y], [evil, -y / eps**2], noise=[0, 1 / eps])
    with pytest.raises(sa.ModelError, match="string"):
        sa.SDE([x, y], [y / eps, -y / eps**2], noise=[[0], [evil]])
    with pytest.raises(sa.ParseError):  # a model file goes through the restricted parser
        loads_model(_model_file(drift_x='"__import__(\'os\').system(\'echo pwned\')"'))


def test_switching_sde_refuses_imaginary_noise_and_non_periodic_drift():
    chain = sa.MarkovChain({(0, 1): 1 / eps, (1, 0): 2 / eps})
    with pytest.raises(sa.ModelError, match="not real"):
        sa.SwitchingSDE([x], chain, drift={0: -x, 1: 1 - x}, noise=[sp.sqrt(-1)])
    with pytest.raises(sa.ModelError, match="not periodic"):
        sa.SwitchingSDE([x], chain, drift={0: -x, 1: 1}, periodic={x: 1})


def _model_file(drift_x: str = '"y/eps"', noise_y: str = '"sqrt(2)/eps"',
                name: str = "test") -> str:
    return (f'name = "{name}"\n[state]\nslow = ["x"]\nfast = ["y"]\n[sde]\n'
            f'drift = {{ x = {drift_x}, y = "-y/eps^2" }}\nnoise = [["0"], [{noise_y}]]\n')


def test_model_file_with_sqrt_of_a_negative_constant_is_refused():
    """The CLI accepted sqrt(-2) and printed a negative effective diffusion."""
    with pytest.raises(sa.SymavgError, match="not real"):
        loads_model(_model_file(noise_y='"sqrt(-2)/eps"'))


def test_cli_sanitises_terminal_escapes(tmp_path, capsys):
    """A model name with an OSC title sequence and a colour code is echoed escaped."""
    path = tmp_path / "evil.toml"
    path.write_text(_model_file(name="ok\\u001b]0;pwned\\u0007 \\u001b[31mred"),
                    encoding="utf-8")
    assert cli.main(["derive", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;pwned" in out
    assert cli.sanitize("a\u202eb\tc\n") == "a\\u202eb\tc\n"


def test_cell_problem_interval_syntax_and_float_period_are_named_errors():
    y1 = sp.Symbol("y1", real=True)
    with pytest.raises(sa.ModelError, match="interval"):
        sa.CellProblem(2 + sp.cos(2 * sp.pi * y1), cell={y1: (0, 1)})
    with pytest.raises(sa.ModelError, match="floating-point"):
        sa.CellProblem(2 + sp.cos(2 * sp.pi * y1), cell={y1: 1.0})


# ------------------------------------------------------------- validity conditions
def test_validity_of_a_parameter_dependent_fast_ou():
    """dy = -k y/eps^2 + sqrt(2)/eps dW: N(0, 1/k) only for k > 0; the limit
    dX = sqrt(2/k^2) dB (Pavliotis & Stuart 2008, Sec. 11.7.1 with rate k)."""
    m = sa.SDE([x, y], [y / eps, -k * y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    red = sa.reduce(m)
    assert red.validity == (k > 0,)
    assert sp.simplify(red.diffusion[0, 0] - 2 / k**2) == 0
    assert any(s.name == "validity" for s in red.steps.steps)
    red.check_validity({k: 2.0})
    for call in (lambda: red.check_validity({k: -1.0}),
                 lambda: sa.simulate(red, {x: 0.0}, 0.1, params={k: -1.0}, paths=4),
                 lambda: sa.verify(m, red, {x: 0.0}, 0.1, eps_values=[0.1],
                                   params={k: -1.0}, paths=4),
                 lambda: red.to_python(params={k: -1.0})):
        with pytest.raises(sa.ModelError, match="k > 0"):
            call()
    ns: dict = {}
    exec(red.to_python(), ns)  # the generated module checks it too
    assert np.allclose(ns["diffusion"]([[0.3]], {"k": 2.0}), 0.5)
    with pytest.raises(ValueError, match="k > 0"):
        ns["drift"]([[0.3]], {"k": -2.0})


def test_validity_of_a_three_dimensional_fast_linear_system():
    """The issue's 3-D fast system whose stability depends on parameters. For
    B = [[-1, a, 0], [0, -1, 1], [b, 0, -2]], det(l I - B) = l^3 + 4 l^2 + 5 l + 2 - a b
    (by hand), and the Routh-Hurwitz conditions (Gantmacher, Theory of Matrices II, XV.6)
    are a1 = 4 > 0, a1 a2 - a3 = 18 + a b > 0, a3 = 2 - a b > 0."""
    a, b = sp.symbols("a b", real=True)
    B = sp.Matrix([[-1, a, 0], [0, -1, 1], [b, 0, -2]])
    conds = hurwitz_conditions(B)
    assert [sp.expand(c.lhs) for c in conds] == [4, a * b + 18, 2 - a * b]
    Y = sp.Matrix([y, z, w])
    m = sa.SDE([x, y, z, w], [-x + y, *(B * Y / eps)],
               noise=[1, sp.sqrt(2 / eps), sp.sqrt(2 / eps), sp.sqrt(2 / eps)])
    red = sa.reduce(m, fast=[y, z, w])
    assert red.drift[0] == -x
    assert set(red.validity) == {a * b + 18 > 0, 2 - a * b > 0}
    with pytest.raises(sa.ModelError, match="a\\*b"):
        red.check_validity({a: 2.0, b: 1.5})  # a b = 3 > 2: unstable fast system


def test_hurwitz_conditions_match_the_eigenvalues():
    """Independent check: the conditions hold exactly when numpy's eigenvalues of B have
    negative real parts (random integer matrices)."""
    rng = np.random.default_rng(3)
    for _ in range(40):
        n = int(rng.integers(1, 5))
        B = sp.Matrix(rng.integers(-4, 3, size=(n, n)).tolist())
        conds = hurwitz_conditions(B)
        stable = bool(np.all(np.linalg.eigvals(np.array(B, dtype=float)).real < -1e-9))
        assert all(bool(c.lhs > c.rhs) for c in conds) == stable


# ------------------------------------------------------------- wrong refusals
@pytest.mark.slow
def test_cauchy_fast_law_is_normalisable():
    """dy = -2y/(1+y^2)/eps dt + sqrt(2/eps) dW has the Cauchy law rho = 1/(pi (1+y^2))
    (speed measure exp(-log(1+y^2)) / 1). <y^2/(1+y^2)> = 1 - (1/pi) int (1+y^2)^-2 dy
    = 1 - 1/2 = 1/2 (Gradshteyn & Ryzhik 3.252.1). An unbounded y has no mean: refused."""
    red = sa.reduce(sa.SDE([x, y], [-x + y**2 / (1 + y**2), -2 * y / (1 + y**2) / eps],
                           noise=[0, sp.sqrt(2 / eps)]))
    assert sp.simplify(red.drift[0] - (sp.Rational(1, 2) - x)) == 0
    with pytest.raises(sa.ModelError, match="does not exist"):
        sa.reduce(sa.SDE([x, y], [-x + y, -2 * y / (1 + y**2) / eps],
                         noise=[0, sp.sqrt(2 / eps)]))


def test_not_normalisable_is_still_refused():
    """rho ~ 1/sqrt(1+y^2) decays like 1/|y|: no invariant probability."""
    with pytest.raises(sa.NoInvariantMeasureError, match="not integrable"):
        sa.reduce(sa.SDE([x, y], [-x + y**2, -y / (1 + y**2) / eps],
                         noise=[0, sp.sqrt(2 / eps)]))


def test_normalisability_of_a_quartic_well_is_a_validity_condition():
    r"""dy = -a y^3/eps dt + sqrt(2/eps) dW with a real: rho ~ e^{-a y^4/4} is a probability
    only for a > 0, recorded as the condition a > 0 and checked at numeric entry. The
    averaged drift <y^2> - x with <y^2> = 2 Gamma(3/4)/(sqrt(a) Gamma(1/4)) (Gardiner,
    Stochastic Methods, Sec. 5.2.2, for a = 1; y -> a^{-1/4} y scales it by a^{-1/2}),
    checked against scipy quadrature at a = 2."""
    from scipy.integrate import quad

    a = sp.Symbol("a", real=True)
    red = sa.reduce(sa.SDE([x, y], [y**2 - x, -a * y**3 / eps], noise=[0, sp.sqrt(2 / eps)]))
    assert red.validity == (a > 0,)
    Z = quad(lambda t: np.exp(-2 * t**4 / 4), -np.inf, np.inf)[0]
    m2 = quad(lambda t: t**2 * np.exp(-2 * t**4 / 4), -np.inf, np.inf)[0] / Z
    assert float(red.drift[0].subs({a: 2, x: 0})) == pytest.approx(m2, rel=1e-10)
    red.check_validity({a: 2.0})
    with pytest.raises(sa.ModelError, match="a > 0"):
        red.check_validity({a: -1.0})


def test_normalisability_conditions_of_tails():
    r"""The tail rules of validity.normalisability_conditions against the classical
    integrals: int (1+y^2)^{-k/2} dy < oo iff k > 1 (Gradshteyn & Ryzhik 3.251.11, the Beta
    integral); the CIR law y^{2 kappa theta/sigma^2 - 1} e^{-2 kappa y/sigma^2} on (0, oo) is
    integrable at 0 iff kappa theta/sigma^2 > 0 (Cox, Ingersoll & Ross 1985, eq. 20);
    e^{-y^3} is not integrable at -oo, and 1/sqrt(1 + y^2) at neither end."""
    from symavg.derive.validity import keep_undecided, normalisability_conditions

    p = sp.Symbol("p", positive=True)
    kappa, theta = sp.symbols("kappa theta", real=True)
    conds = normalisability_conditions((1 + y**2) ** (-p / 2), y, -sp.oo, sp.oo)
    assert keep_undecided(conds, "test") == (p > 1,)
    cir = sp.exp(2 * kappa * theta * sp.log(y) - 2 * kappa * y) / y
    assert set(keep_undecided(normalisability_conditions(cir, y, 0, sp.oo), "test")) \
        == {kappa * theta > 0, kappa > 0}
    for rho in (sp.exp(-y**3), 1 / sp.sqrt(1 + y**2)):
        with pytest.raises(sa.NoInvariantMeasureError, match="fails for every parameter"):
            keep_undecided(normalisability_conditions(rho, y, -sp.oo, sp.oo), "test")


def test_residue_region_is_recorded():
    r"""int_0^1 dy/(C + sin(2 pi y)) = 1/sqrt(C^2 - 1) (Gradshteyn & Ryzhik 3.613.2 after a
    shift) holds for C > 1: recorded on the IntegralResult. With a numeric coefficient there
    is nothing to record; with a pole on the circle at the chosen point there is no
    value."""
    from symavg.derive.integrals import definite_integral

    C = sp.Symbol("C", positive=True)
    res = definite_integral(1 / (C + sp.sin(2 * sp.pi * y)), y, 0, 1, periodic=True)
    assert sp.simplify(res.value - 1 / sp.sqrt(C**2 - 1)) == 0
    from symavg.derive.validity import keep_undecided
    assert keep_undecided(res.conditions, "test") == (C > 1,)
    res = definite_integral(1 / (2 + sp.cos(2 * sp.pi * y)), y, 0, 1, periodic=True)
    assert res.conditions == () and sp.simplify(res.value - 1 / sp.sqrt(3)) == 0


def test_tikhonov_deterministic_fast_relaxation():
    """dy = (-y + sin x)/eps dt, no noise: Tikhonov's theorem (Tikhonov 1952; Verhulst,
    Methods and Applications of Singular Perturbations, Thm 8.1; Pavliotis & Stuart 2008,
    Sec. 10.6): y -> y*(x) = sin x, so dX = (-X + sin X) dt + dW."""
    red = sa.reduce(sa.SDE([x, y], [-x + y, (-y + sp.sin(x)) / eps], noise=[1, 0]))
    assert red.regime == "averaging"
    assert sp.simplify(red.drift[0] - (-x + sp.sin(x))) == 0 and red.diffusion[0, 0] == 1
    assert "point mass" in red.records["measure"].strategy
    # stability of the slow manifold y* = sin(x)/k needs k > 0
    red = sa.reduce(sa.SDE([x, y], [-x + y**2, (-k * y + sp.sin(x)) / eps], noise=[1, 0]))
    assert sp.simplify(red.drift[0] - (-x + sp.sin(x)**2 / k**2)) == 0
    assert red.validity == (k > 0,)
    with pytest.raises(sa.NoInvariantMeasureError, match="several equilibria"):
        sa.reduce(sa.SDE([x, y], [-x + y, (y - y**3) / eps], noise=[1, 0]))
    with pytest.raises(sa.NoInvariantMeasureError, match="not stable"):
        sa.reduce(sa.SDE([x, y], [-x + y, (y + x) / eps], noise=[1, 0]))


def test_an_abandoned_route_forgets_only_its_own_conditions():
    """In a nested reduction the levels share one list of validity conditions: a level
    that abandons its closed-form attempt for the numeric route forgets the conditions
    that attempt recorded, not those of the faster levels reduced before it."""
    from symavg.derive import _context

    C, k = sp.symbols("C k", positive=True)
    with _context.collecting_conditions() as found:
        _context.record_conditions((C > 1,))         # an outer level (residues)
        mark = len(_context.recorded_conditions())
        _context.record_conditions((k > 2,))         # the closed-form attempt
        _context.discard_conditions(mark)
        assert found == [C > 1]


def test_residue_region_of_several_harmonics_is_recorded_and_checked(monkeypatch):
    """A(y) = C + cos(2 pi y) + cos(4 pi y)/4 on the unit cell: the harmonic mean
    1/<1/A> exists only where A keeps its sign; with t = cos(2 pi y),
    A = C - 1/4 + t + t^2/2 increases in t on [-1, 1], so its minimum is C - 3/4 at t = -1
    (by hand) and the mean needs C > 3/4. Whether the
    average comes by residues or stays an integral for quadrature (as here, with a small
    budget), the condition is recorded as CellMinimum(4 A) > 0 (not as a discriminant: the
    denominator is not one first harmonic); the tensor refuses C = 1/2 (A changes sign) and
    evaluates at C = 2 as the quadrature of 1/<1/A> does. When the residue sum reaches
    its work limit, no budgeted integrate follows (it needs the same roots)."""
    import numpy as np
    from scipy.integrate import quad

    from symavg import _sympy_util
    from symavg.derive.integrals import CellMinimum
    from symavg.spatial import CellProblem, cell

    real = _sympy_util.run_budgeted

    def guarded(fn, args, work, kwargs=None):
        out = real(fn, args, work, kwargs)
        if fn is cell._residue_average and out.status == "limit":
            monkeypatch.setattr(cell, "with_budget", no_integrate)
        return out

    def no_integrate(fn, *args, **kwargs):
        assert fn is not cell._integrate, "a budgeted integrate after the residue limit"
        return _sympy_util.with_budget(fn, *args, **kwargs)

    monkeypatch.setattr(_sympy_util, "run_budgeted", guarded)

    y = sp.Symbol("y", real=True)
    C = sp.Symbol("C", positive=True)
    A = C + sp.cos(2 * sp.pi * y) + sp.cos(4 * sp.pi * y) / 4
    res = CellProblem(A, {y: 1}).effective_tensor(budget=0.5)
    (cond,) = res.validity
    assert cond.lhs.func is CellMinimum
    assert cond.xreplace({C: sp.Float(0.8)}) == sp.true
    assert cond.xreplace({C: sp.Float(0.7)}) == sp.false      # 0.7 < 3/4
    with pytest.raises(sa.ModelError, match="CellMinimum"):
        res.numeric({C: 0.5})
    mean_inv = quad(lambda t: 1 / (2 + np.cos(2 * np.pi * t) + np.cos(4 * np.pi * t) / 4),
                    0, 1)[0]
    assert abs(res.numeric({C: 2.0})[0, 0] - 1 / mean_inv) < 1e-10
