"""Issue 12, item 2 of the notation: the averages of the centering and solvability
steps shown with their integrand, measure and value; long coefficients named
(``where K_1 = ...``); names that never clash with the engine's.
"""

import shutil
import sys
from pathlib import Path

import pytest
import sympy as sp

import symavg as sa
from symavg.errors import ModelError
from symavg.report.latex import Namer, equation_lines, shorten

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_report import _need, compile_latex  # noqa: E402

eps = sa.epsilon
x, y = sp.symbols("x y", real=True)
alpha, lam, s = sp.symbols("alpha lambda s", positive=True)


def _ou():
    # dx = lambda y/eps dt, dy = -alpha y/eps^2 dt + s/eps dW
    m = sa.SDE([x, y], [lam * y / eps, -alpha * y / eps**2], noise=[0, s / eps])
    return sa.reduce(m, [y])


def _evaluate(avg, measure):
    """The written-out average with the density put in, integrated by SymPy."""
    rho = sp.Function("rho")
    form = avg.form.replace(rho, sp.Lambda(tuple(measure.fast), measure.density))
    return sp.simplify(form.doit())


def test_centering_and_solvability_show_their_averages():
    r"""Green-Kubo (Kubo, J. Phys. Soc. Jpn. 12 (1957) 570; Pavliotis & Stuart 2008,
    Sec. 11.7.1): the OU forcing lambda y has mean zero under N(0, s^2/(2 alpha)) and the
    effective diffusion is lambda^2 s^2/alpha^2. Each average the derivation records is
    integrated here again from its written form (the density substituted, SymPy's
    integrate), independently of the engine's Gaussian moment formula."""
    red = _ou()
    measure = red.records["measure"]
    cent = red.steps.find("centering")[0]
    (a,) = cent.averages
    assert a.value == 0 and a.form.has(sp.Integral) and a.integrand == lam * y
    assert _evaluate(a, measure) == 0
    md = cent.to_markdown()
    assert (r"\langle h_{x}\rangle_\rho = \int\limits_{-\infty}^{\infty} \lambda y \rho(y)\, dy"
            r" = 0") in md
    solv = red.steps.find("solvability")[0]
    diff = [av for av in solv.averages if "A A^T" in av.label]
    assert len(diff) == 1
    assert sp.simplify(diff[0].value - lam**2 * s**2 / (2 * alpha**2)) == 0
    # the integrand holds the corrector Phi_x; with Phi_x = lambda y / alpha put in
    phi = red.records["correctors"][x].phi
    form = diff[0].form.replace(sp.Function("Phi_x"), sp.Lambda((x, y), phi)).doit()
    rho = sp.Function("rho")
    form = form.replace(rho, sp.Lambda((y,), measure.density))
    assert sp.simplify(form.doit() - lam**2 * s**2 / (2 * alpha**2)) == 0
    tex = red.steps.to_latex()
    assert r"\tfrac12 A A^T &= \langle c_{xx}\rangle_\rho" in tex


def test_chain_average_is_a_sum_over_states():
    """Two-state switching at rates a/eps (off -> on), b/eps (on -> off): the stationary
    law is pi_on = a/(a+b) (solved by hand: pi_off a = pi_on b), so the averaged drift of
    dx = (s_on - g x) dt is a/(a+b) - g x (Pavliotis & Stuart 2008, Sec. 9.3 / 10.7)."""
    a, b, g = sp.symbols("a b gamma", positive=True)
    chain = sa.MarkovChain({("off", "on"): a / eps, ("on", "off"): b / eps})
    red = sa.reduce(sa.SwitchingSDE([x], chain, drift={"off": -g * x, "on": 1 - g * x}))
    (avg,) = red.steps.find("solvability")[0].averages
    pi = {sp.Symbol("pi_off"): b / (a + b), sp.Symbol("pi_on"): a / (a + b)}
    assert sp.simplify(avg.form.xreplace(pi) - (a / (a + b) - g * x)) == 0
    assert sp.simplify(avg.value - (a / (a + b) - g * x)) == 0
    assert r"\pi_{off}" in red.steps.to_markdown()


def test_long_coefficients_are_named_and_the_names_read_back():
    """A degree-11 numerator over a short denominator: the display is F = K_1/(x^2+1),
    defined below; substituting the definitions gives the expression back exactly."""
    k = sp.Symbol("k", positive=True)
    expr = sum((k + i) * x**i for i in range(12)) / (x**2 + 1)
    namer = Namer([expr])
    short = shorten(expr, namer)
    assert short.free_symbols <= {x, k} | {n for n, _ in namer.defs}
    assert len(namer.defs) >= 1
    back = short
    for name, part in reversed(namer.defs):
        back = back.xreplace({name: part})
    assert sp.simplify(back - expr) == 0
    lines = equation_lines("F", expr)
    assert lines[0] == [r"F &= \frac{K_{1}}{x^{2} + 1}"]
    assert lines[1][0].startswith(r"\text{where } K_{1} &= ")
    # a user's K: the names take the next letter
    K = sp.Symbol("K")
    assert "R_{1}" in equation_lines("F", expr + K)[0][0]


def test_long_coefficient_derivation_compiles(tmp_path):
    """The reduced drift of a fast OU forcing with a long rational coefficient c(x): its
    numerator is named and the handout compiles without an overfull box."""
    _need(shutil.which("pdflatex") is not None, "pdflatex is not installed")
    k = sp.Symbol("k", positive=True)
    cx = sum((k + i) * x**i for i in range(9)) / (1 + x**2 + x**4)
    m = sa.SDE([x, y], [cx * y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    red = sa.reduce(m, [y])
    tex = red.steps.to_latex(standalone=True)
    assert r"\text{where } K_{1}" in tex
    compile_latex(tex, tmp_path)


@pytest.mark.parametrize("name", ["rho", "Phi_x", "t", "v_0", "h_x"])
def test_engine_names_are_refused(name):
    user = sp.Function(name)(x) if name.startswith("Phi") else sp.Symbol(name, positive=True)
    m = sa.SDE([x, y], [user * y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    with pytest.raises(ModelError, match=f"named '{name}'.*Rename it"):
        sa.reduce(m, [y])


def test_a_second_epsilon_is_refused():
    other = sp.Symbol("epsilon")  # no assumptions: not sa.epsilon
    m = sa.SDE([x, y], [other * y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    with pytest.raises(ModelError, match="2 different objects named 'epsilon'"):
        sa.reduce(m, [y])
    z = sp.Symbol("x")  # the state's x is real: the same name, another symbol
    m = sa.SDE([x, y], [z * y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    with pytest.raises(ModelError, match="different objects named 'x'"):
        sa.reduce(m, [y])


def test_labels_and_the_brownian_motion_are_renamed_for_user_symbols():
    """A user's D (order-1 diffusion approximation, label D) and W (a drift parameter)."""
    D, W = sp.symbols("D W", positive=True)
    m = sa.SDE([x, y], [W * y - x, -D * y / eps], noise=[[0], [sp.sqrt(2 * D / eps)]])
    red = sa.average(m, [y], order=1)
    step = red.steps.find("diffusion approximation")[0].to_markdown()
    assert r"\mathcal{D} = " in step and "$$ D = " not in step
    assert r"\,dB" in m._repr_markdown_() and r"\,dW" not in m._repr_markdown_()
    # no clash, no renaming
    m2 = sa.SDE([x, y], [y - x, -y / eps], noise=[[0], [sp.sqrt(2 / eps)]])
    assert "$$ D = " in sa.average(m2, [y], order=1).steps.to_markdown()


def test_nested_reduction_shows_its_centering_averages(tmp_path):
    """Nested levels (z on eps^-2 forcing y on eps^-1 at eps^-3/2, x slow): the centering
    step of the fast level shows <H_y> = int H_y rho dz = 0 (H_y = z, centred under the
    OU law N(0, 1) of z, whose mean is 0), each level's solvability step its averages,
    and the handout compiles."""
    z = sp.Symbol("z", real=True)
    m = sa.SDE([x, y, z], [y**2 - x, -y / eps + z / eps**sp.Rational(3, 2), -z / eps**2],
               noise=[0, 0, sp.sqrt(2) / eps])
    red = sa.reduce(m, fast=[y, z])
    cent = [s for s in red.steps if s.name == "centering" and s.averages]
    assert cent, [s.name for s in red.steps]
    avg = cent[0].averages[0]
    assert avg.value == 0 and avg.form.has(sp.Integral)
    rho = sp.Function("rho")
    measure_density = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)
    assert sp.simplify(avg.form.replace(rho, sp.Lambda((z,), measure_density)).doit()) == 0
    # the solvability steps of both levels show their averages too
    solv = [s for s in red.steps if s.name == "solvability"]
    assert len(solv) == 2 and all(s.averages for s in solv)
    _need(shutil.which("pdflatex") is not None, "pdflatex is not installed")
    compile_latex(red.steps.to_latex(standalone=True), tmp_path)


def test_every_sigma_of_a_label_is_renamed():
    """Kramers with the user's sigma(x): the model step writes the noise matrix Sigma in
    both places of its label a = Sigma Sigma^T (not Sigma sigma^T)."""
    import test_applications as apps

    md = apps.kramers_1d().steps.find("model")[0].to_markdown()
    assert r"a = \Sigma\Sigma^T" in md and r"\sigma(x)" in md
