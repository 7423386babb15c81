"""The reference set of issue 14: the listed cases not already in tests/test_safety.py, each
with its reference and how it was obtained. The cases that are tested there:
negative/imaginary diffusions (``test_inadmissible_diffusions_are_refused``), coefficients
not periodic in a periodic variable, ``positive=True`` on an OU variable (E exp(-y^2) =
1/sqrt 3), the 3-D fast linear system's validity, the Cauchy law, Tikhonov's point mass,
strings in declarations, CellProblem's interval syntax and float period. The derivation
times of the whole set are in benchmarks/bench_reference_set.py."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from scipy.integrate import quad
from scipy.special import erfcx

import symavg as sa
from symavg import _sympy_util
from symavg.io.parse import MAX_LENGTH

eps = sa.epsilon
x, y = sp.symbols("x y", real=True)


def _quartic_reference() -> float:
    r"""D = 2<y Phi> for -L0 Phi = y, L0 = -y^3 d_y + d_yy, rho = e^{-y^4/4}/Z.

    rho Phi' = int_{|y|}^oo s e^{-s^4/4} ds = (sqrt(pi)/2) erfc(y^2/2), so
    <y Phi> = <Phi'^2> = (2/Z) int_0^oo (pi/4) erfcx(y^2/2)^2 e^{-y^4/4} dy (erfcx(t) =
    e^{t^2} erfc(t), no overflow), Z = 2 * 4^(1/4) Gamma(5/4); by scipy quad."""
    Z = 2 * quad(lambda t: np.exp(-t**4 / 4), 0, np.inf, epsabs=0, epsrel=1e-13)[0]
    half = quad(lambda t: np.pi / 4 * erfcx(t**2 / 2)**2 * np.exp(-t**4 / 4), 0, np.inf,
                epsabs=0, epsrel=1e-13)[0]
    return 2 * 2 * half / Z


def test_quartic_fast_potential_has_a_finite_effective_diffusion():
    """dx = y/eps dt, dy = -y^3/eps^2 dt + sqrt(2)/eps dW: before, drift = nan. The
    homogenized diffusion (Pavliotis & Stuart 2008, Thm 11.1: a = 2<y Phi>) is
    0.974990988798722 by the scipy quadrature of _quartic_reference (also two mpmath
    quadratures, issue 14's progress note)."""
    ref = _quartic_reference()
    assert ref == pytest.approx(0.974990988798722, rel=1e-13)
    red = sa.reduce(sa.SDE([x, y], [y / eps, -y**3 / eps**2], noise=[[0], [sp.sqrt(2) / eps]]))
    assert red.drift[0] == 0
    # the value is left for quadrature; evaluated as the derivation's checks do (mpmath)
    value = complex(_sympy_util._integrals_to_numbers(red.diffusion[0, 0]))
    assert value.real == pytest.approx(ref, rel=1e-12) and value.imag == 0


def _divergence_form(a: sp.Expr) -> sa.SDE:
    """dX = a'(X/eps)/eps dt + sqrt(2 a(X/eps)) dW with Y = X/eps on the unit circle: the
    generator of d/dx(a(x/eps) d/dx), whose limit is 2 a* with a* = <1/a>^{-1}."""
    return sa.SDE([x, y], [sp.diff(a, y) / eps, sp.diff(a, y) / eps**2],
                  noise=[[sp.sqrt(2 * a)], [sp.sqrt(2 * a) / eps]], periodic={y: 1})


def test_harmonic_mean_with_a_numeric_contrast():
    """a = 2 + cos(2 pi y): a* = <1/a>^{-1} (Bensoussan, Lions & Papanicolaou 1978,
    Ch. 1 Sec. 2.4) and int_0^1 dy/(2 + cos 2 pi y) = 1/sqrt(2^2 - 1) (Gradshteyn & Ryzhik
    3.613.2), so a* = sqrt 3 and the diffusion is 2 sqrt 3; before, 9-43 s and an
    unevaluated Integral."""
    red = sa.reduce(_divergence_form(2 + sp.cos(2 * sp.pi * y)), [y])
    assert red.drift[0] == 0
    assert sp.simplify(red.diffusion[0, 0] - 2 * sp.sqrt(3)) == 0


@pytest.mark.slow
def test_harmonic_mean_with_a_symbolic_contrast():
    """a = C + cos(2 pi y), C > 1: int_0^1 dy/(C + cos 2 pi y) = 1/sqrt(C^2 - 1)
    (Gradshteyn & Ryzhik 3.613.2; SymPy's integrate returns 0 here), so a* = sqrt(C^2 - 1)
    and the diffusion is 2 sqrt(C^2 - 1). Before, no answer within 300 s."""
    C = sp.Symbol("C", positive=True)
    red = sa.reduce(_divergence_form(C + sp.cos(2 * sp.pi * y)), [y])
    assert red.drift[0] == 0
    val = red.diffusion[0, 0]
    assert not val.has(sp.Integral)
    for c in (sp.Rational(3, 2), 2, 5):
        assert sp.N(val.subs(C, c) - 2 * sp.sqrt(c**2 - 1), 30) == pytest.approx(0, abs=1e-25)
    # the residue value holds where 1/(C + cos) has no real pole: C > 1 (for C < 1 the
    # coefficient a changes sign), recorded and checked at numeric entry
    assert red.validity == (C > 1,)
    red.check_validity({C: 2.0})
    with pytest.raises(sa.ModelError, match="C > 1"):
        red.check_validity({C: 0.5})


@pytest.mark.parametrize("f, mean", [
    # y ~ N(x, 1) at fixed x: E cos(y) = e^{-1/2} cos x (the Gaussian characteristic
    # function), E y^2 = x^2 + 1
    (sp.cos(y) - x, sp.exp(-sp.Rational(1, 2)) * sp.cos(x) - x),
    (y**2 + sp.cos(y), x**2 + 1 + sp.exp(-sp.Rational(1, 2)) * sp.cos(x)),
])
def test_x_dependent_fast_ou(f, mean):
    """dy = (x - y)/eps dt + sqrt(2/eps) dW: the frozen law is N(x, 1) (Pavliotis & Stuart
    2008, Sec. 10.6 averaging); before, 10 s and no answer within 60 s."""
    red = sa.reduce(sa.SDE([x, y], [f, (x - y) / eps], noise=[0, sp.sqrt(2 / eps)]))
    assert sp.simplify(red.drift[0] - mean) == 0 and red.diffusion[0, 0] == 0


def test_uncentred_tilted_washboard_raises_the_centering_error():
    """dy = (F - sin y)/eps^2 dt + sqrt(2)/eps dW, dx = (F - sin y)/eps dt: the mean velocity
    <F - sin y> under the constant-flux law is not zero for F > 0 (Reimann et al., PRL 87,
    010602 (2001): v = 2 pi (1 - e^{-2 pi F}) / int int ...), so the homogenization at this
    scale has no solvable cell problem. Before, it hung (nested quadratures in a zero
    check)."""
    F = sp.Symbol("F", positive=True)
    m = sa.SDE([x, y], [(F - sp.sin(y)) / eps, (F - sp.sin(y)) / eps**2],
               noise=[[sp.sqrt(2)], [sp.sqrt(2) / eps]], periodic={y: 2 * sp.pi})
    with pytest.raises(sa.CenteringError, match="centering"):
        sa.reduce(m, [y])


def _cellular_galerkin_K11(kappa: float, N: int) -> float:
    from tests.test_spatial_flow import _galerkin_cellular_K11

    return _galerkin_cellular_K11(kappa, N)


def test_cellular_flow_without_parameters_goes_numeric():
    """Cellular flow u = (sin y1 cos y2, -cos y1 sin y2), kappa = 1 (noise sqrt 2), no free
    parameter: before, refused with "give parameter values". K11 against the independent
    coefficient-space Galerkin solve of tests/test_spatial_flow.py (N = 16)."""
    y1, y2, x1, x2 = sp.symbols("y1 y2 x1 x2", real=True)
    psi = sp.sin(y1) * sp.sin(y2)
    u = [sp.diff(psi, y2), -sp.diff(psi, y1)]
    s = sp.sqrt(2)
    m = sa.SDE([x1, x2, y1, y2], [u[0] / eps, u[1] / eps, u[0] / eps**2, u[1] / eps**2],
               noise=[[s, 0], [0, s], [s / eps, 0], [0, s / eps]],
               periodic={y1: 2 * sp.pi, y2: 2 * sp.pi})
    red = sa.reduce(m, [y1, y2])
    assert "numeric cell problems" in [st.name for st in red.steps]
    K = np.array(red.diffusion, dtype=float) / 2
    assert K[0, 0] == pytest.approx(_cellular_galerkin_K11(1.0, 16), rel=1e-9)
    assert abs(K[0, 1]) < 1e-12


def test_fifty_deep_nested_sin():
    """E[sin^(50)(y)] = 0 for y ~ N(0, 1): the integrand is odd (sin(-u) = -sin u at every
    level), so the drift is -x. Before, no answer within 60 s."""
    e = y
    for _ in range(50):
        e = sp.sin(e)
    red = sa.reduce(sa.SDE([x, y], [-x + e, -y / eps], noise=[0, sp.sqrt(2 / eps)]))
    assert red.drift[0] == -x


def _moments_drift(ps: tuple, degree: int = 7) -> tuple[sp.Expr, sp.Expr]:
    """The drift -x + sum_i p_i y^(i mod 7) x^(i div 7 mod 3) and its average under
    N(0, 1): E y^k = (k - 1)!! for even k, 0 for odd k (Gaussian moments)."""
    f = -x + sum(p * y**(i % degree) * x**(i // degree % 3) for i, p in enumerate(ps))
    mom = [sp.factorial2(k - 1) if k % 2 == 0 else 0 for k in range(degree)]
    avg = -x + sum(p * mom[i % degree] * x**(i // degree % 3) for i, p in enumerate(ps))
    return f, avg


def test_hundred_parameter_polynomial_drift():
    """100 parameters p_i in a polynomial drift; the average by the Gaussian moments (see
    _moments_drift). Before, no answer within 60 s (a 100-variable factorisation)."""
    ps = sp.symbols("p0:100", real=True)
    f, avg = _moments_drift(ps)
    red = sa.reduce(sa.SDE([x, y], [f, -y / eps], noise=[0, sp.sqrt(2 / eps)]))
    assert sp.expand(red.drift[0] - avg) == 0


def _model_file(nterms: int) -> tuple[str, tuple]:
    terms = " + ".join(f"p{i}*y^{i % 7}*x^{i // 7 % 3}" for i in range(nterms))
    names = ", ".join(f'"p{i}"' for i in range(nterms))
    text = ('name = "large"\n[state]\nslow = ["x"]\nfast = ["y"]\n'
            f'[parameters]\nsymbols = [{names}]\n[sde]\n'
            f'drift = ["-x + {terms}", "-y/eps"]\nnoise = [["0"], ["sqrt(2/eps)"]]\n')
    return text, sp.symbols(f"p0:{nterms}", real=True)


def test_large_model_file_answers_or_refuses_clearly():
    """A 300-term drift from a model file reduces to its Gaussian average (_moments_drift);
    a drift longer than the parser's MAX_LENGTH is a ParseError that says so."""
    text, ps = _model_file(300)
    spec = sa.loads_model(text)
    red = sa.reduce(spec.model)
    _, avg = _moments_drift(tuple(sp.Symbol(f"p{i}", real=True) for i in range(300)))
    got = red.drift[0].xreplace({s: sp.Symbol(s.name, real=True)
                                 for s in red.drift[0].free_symbols})
    assert sp.expand(got - avg) == 0
    text, _ = _model_file(2000)
    assert len(text) > MAX_LENGTH
    with pytest.raises(sa.ParseError, match="characters long"):
        sa.loads_model(text)


# ------------------------------------------------------------- with_budget
def _sympy_failure(e: sp.Expr) -> sp.Expr:
    return sp.Poly(sp.sin(e), e)  # PolynomialError: SymPy's expected "cannot"


def _internal_bug(e: sp.Expr) -> sp.Expr:
    return e.no_such_attribute  # an AttributeError raised in symavg's (here: test) code


def test_with_budget_separates_sympy_failures_from_internal_bugs(monkeypatch):
    """Expected SymPy failures (PolynomialError, NotImplementedError, ...) mean "no answer"
    (None); an AttributeError raised in symavg's own code is a bug and propagates."""
    assert _sympy_util.with_budget(_sympy_failure, (x,), 0.5) is None
    assert _sympy_util.with_budget(sp.Integer, ("not a number",), 0.5) is None  # in SymPy
    # treat this test file as symavg's own source for the check
    monkeypatch.setattr(_sympy_util, "_PACKAGE_DIR", str(__import__("pathlib").Path(
        __file__).resolve().parent))
    with pytest.raises(AttributeError, match="no_such_attribute"):
        _sympy_util.with_budget(_internal_bug, (x,), 0.5)
    try:
        _internal_bug(x)
    except AttributeError as exc:
        assert _sympy_util.is_internal_bug(exc)
    try:
        _sympy_failure(x)
    except sp.PolynomialError as exc:
        assert not _sympy_util.is_internal_bug(exc)
