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


# ------------------------------------------- averages outside the single-level engine
def _quad(form, var_values=None):
    """An unevaluated one-variable average evaluated by adaptive quadrature (scipy)."""
    from scipy.integrate import quad

    (integral,) = form.atoms(sp.Integral)
    (v, lo, hi), = integral.limits
    fn = sp.lambdify(v, integral.function.subs(var_values or {}), "math")
    val = quad(fn, float(lo), float(hi), epsabs=1e-13, epsrel=1e-13)[0]
    return float(form.xreplace({integral: sp.Float(val, 17)}).subs(var_values or {}))


def test_laminate_shows_its_period_average():
    r"""1-D cell problem (Pavliotis & Stuart 2008, Ch. 12, the one-dimensional case: the
    harmonic mean): A* = <1/A>^-1 for A = 3 + 2 sin y1 on a 2 pi cell, and
    (1/2 pi) int dy/(a + b sin y) = 1/sqrt(a^2 - b^2) = 1/sqrt(5) (residues at the root
    of z^2 + 3 i z - 1 inside the unit circle, and the quadrature below).
    The effective-tensor step records <1/A>_Y = (1/2 pi) int 1/A dy1 with its value; the
    written form, evaluated by scipy's quadrature, equals the recorded value and 1/A*."""
    from symavg.spatial import CellProblem

    y1 = sp.Symbol("y1", real=True)
    res = CellProblem(3 + 2 * sp.sin(y1), {y1: 2 * sp.pi}).effective_tensor()
    (avg,) = res.steps.find("effective tensor")[0].averages
    assert sp.simplify(avg.integrand - 1 / (3 + 2 * sp.sin(y1))) == 0
    assert sp.nsimplify(avg.value) == 1 / sp.sqrt(5)
    assert abs(_quad(avg.form) - float(avg.value)) < 1e-12
    assert abs(float(avg.value) * float(res.tensor[0, 0]) - 1) < 1e-12
    assert r"\right\rangle_{Y} = \frac{1}{2 \pi} \int" in res.steps.to_markdown()


def test_separable_and_numeric_cell_tensors_show_their_averages():
    """Separable diag(2 + sin y1, 3 + cos y2): one harmonic mean per direction, each form
    checked by quadrature against its value (sqrt(3) and 2 sqrt(2) are the harmonic means,
    (1/2 pi) int dy/(c + sin y) = 1/sqrt(c^2 - 1)). The numeric route records its grid
    mean, whose value is the tensor it returns."""
    from symavg.spatial import CellProblem

    y1, y2 = sp.symbols("y1 y2", real=True)
    res = CellProblem(sp.diag(2 + sp.sin(y1), 3 + sp.cos(y2)),
                      {y1: 2 * sp.pi, y2: 2 * sp.pi}).effective_tensor()
    avgs = res.steps.find("effective tensor")[0].averages
    assert [sp.nsimplify(a.value) for a in avgs] == [1 / sp.sqrt(3), 1 / sp.sqrt(8)]
    for a in avgs:
        assert abs(_quad(a.form) - float(a.value)) < 1e-12
    num = CellProblem(2 + sp.sin(y1) * sp.cos(y2), {y1: 2 * sp.pi, y2: 2 * sp.pi}
                      ).effective_tensor(n=16)
    (g,) = num.steps.find("effective tensor")[0].averages
    assert g.form is None and r"\sum_{j=1}^{N}" in g.label
    assert float(sp.Matrix(g.value)[0, 0]) == pytest.approx(float(num.tensor[0, 0]), abs=1e-11)


def test_flow_and_reflection_show_their_averages():
    r"""Taylor dispersion in the shear flow u = (2 cos y2, 0), kappa = 1/2 (Pavliotis &
    Stuart 2008, Sec. 13.6, shear flow): sym<u (x) chi>_11 = <u_1^2>/kappa = 4, recorded as a grid
    mean. Oblique reflection: the uniform average of g = 1 + (4/5) cos y is exactly 1
    (the written integral evaluated by SymPy), and gbar = int g rho is recorded with its
    density."""
    from symavg.spatial import effective_diffusivity_periodic_flow, effective_reflection

    y1, y2 = sp.symbols("y1 y2", real=True)
    res = effective_diffusivity_periodic_flow([2 * sp.cos(y2), 0], [y1, y2], kappa=0.5, n=16)
    (avg,) = res.steps.find("effective diffusivity")[0].averages
    assert float(sp.Matrix(avg.value)[0, 0]) == pytest.approx(4.0, abs=1e-10)
    r = effective_reflection(1 + sp.Rational(4, 5) * sp.cos(y), y)
    gbar, uniform = r.steps.find("effective reflection")[0].averages
    assert sp.simplify(uniform.form.doit()) == 1 and float(uniform.value) == pytest.approx(1)
    assert gbar.form.has(sp.Function("rho")(y)) and float(gbar.value) == pytest.approx(r.gbar)
    assert r"\bar g = \int\limits_{0}^{2 \pi}" in r.steps.to_markdown()


def test_chaotic_map_shows_its_green_kubo_sums():
    r"""Doubling map y -> 2y mod 1 with h = y - 1/2: C(n) = 2^-n/12, so
    sigma^2 = C(0) + 2 sum_{n>=1} C(n) = 1/4 and Lambda = 1/12 (Gottwald & Melbourne 2013,
    Proc. R. Soc. A 469:20130201; C(n) summed over the 2^n affine branches, as in
    worked_examples/chaos_doubling_map.py). The Green-Kubo step records the
    centering time average, C(0), sigma^2 and Lambda with their sums; the values agree
    with the exact ones within 5 standard errors."""
    from symavg.derive.chaotic_map import reduce_chaotic_map

    z = sp.Symbol("z", real=True)
    m = sa.DeterministicMap([x, z], [x - eps**2 * x + eps * (z - sp.Rational(1, 2)),
                                     sp.Mod(2 * z, 1)])
    red = reduce_chaotic_map(m, [z], n_samples=20_000)
    gk = red.steps.find("Green-Kubo")[0]
    mean, c0, sig, lam = gk.averages
    est = red.records["green_kubo"][z - sp.Rational(1, 2)]
    assert isinstance(mean.form, sp.Limit) and mean.form.has(sp.Sum)
    assert abs(float(mean.value)) < 5 * est.mean_stderr
    assert float(c0.value) == pytest.approx(1 / 12, rel=0.05)
    assert sig.form.has(sp.Sum) and abs(float(sig.value) - 0.25) < 5 * est.stderr
    assert abs(float(lam.value) - 1 / 12) < 5 * red.records["Lambda"][1]
    assert r"\sigma^2 = C(0) + 2 \sum_{n=1}^{\infty} C(n)" in red.steps.to_markdown()


def test_network_propensity_averages_are_sums_over_the_fast_states():
    """Michaelis-Menten with one enzyme (E + S <-> C fast, C -> E + P slow): with
    T = S + C fixed, the fast chain on C in {0, 1} has pi(1) = k1 T/(k1 T + k2) (solved
    by hand from pi(0) k1 T = pi(1) k2; see also Rao & Arkin, J. Chem. Phys. 118:4999,
    2003), so the averaged propensity of C -> E + P is k_cat k1 T/(k1 T + k2). The
    recorded sum, with the law of the step put in, equals it."""
    k1, k2, kc, k0 = sp.symbols("k1 k2 k_cat k0", positive=True)
    net = sa.ReactionNetwork(["0 -> S", "E + S -> C", "C -> E + S", "C -> E + P"],
                             [k0, k1 / eps, k2 / eps, kc])
    red = net.reduce(values={"T_EC": 1})
    step = red.steps.find("averaged propensities")[0]
    avg = [a for a in step.averages if "C" in a.label and "P" in a.label][0]
    law = red.steps.find("conditional stationary law")[0].expression(r"\pi")
    (s_sum,) = avg.form.atoms(sp.Sum)
    xi = s_sum.limits[0][0]
    pi = sp.Function("pi")
    written = avg.form.replace(pi, sp.Lambda((xi,), sp.Piecewise(
        *[(law[i], sp.Eq(xi, i)) for i in range(len(law))], (0, True)))).doit()
    assert sp.simplify(written - avg.value) == 0
    (T,) = [v for v in avg.value.free_symbols if v.name == "T_SC"]
    assert sp.simplify(avg.value - kc * k1 * T / (k1 * T + k2)) == 0
    assert r"\bar a[\mathrm{C} \to \mathrm{E + P}]" in step.to_markdown()


def test_hamiltonian_checks_show_the_averaged_drift():
    """Symmetric telegraph process (rates lambda/eps both ways, velocity +-1): the averaged
    drift is pi_+ - pi_- = 0 (Pavliotis & Stuart 2008, Sec. 10.7), recorded in the checks
    of the Hamiltonian with its sum over the chain's states."""
    lam_ = sp.Symbol("lambda", positive=True)
    chain = sa.MarkovChain({("-", "+"): lam_ / eps, ("+", "-"): lam_ / eps})
    H = sa.ldp.hamiltonian(sa.SwitchingSDE([x], chain, drift={"-": -1, "+": 1}))
    (avg,) = H.steps.find("checks")[0].averages
    assert avg.value == 0 and avg.form.has(sp.Symbol("pi_+"))
    assert sp.simplify(avg.form.subs({sp.Symbol("pi_+"): sp.Rational(1, 2),
                                      sp.Symbol("pi_-"): sp.Rational(1, 2)})) == 0
