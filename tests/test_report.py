"""What a teacher and a notebook user see (issue 12, items 1-4): escaped LaTeX that
compiles, textbook notation, equations with the right parentheses, and rich displays.

The compile tests need ``pdflatex`` and the notebook test ``nbclient`` with
``ipykernel``; both skip with the reason when absent, except in CI (``CI`` set),
where ``.ci/run`` installs them and their absence is a failure.
"""

import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symavg as sa
from symavg.report.display import sde_latex
from symavg.report.latex import equation_lines, escape, escape_prose, latex, visual_width

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_applications as apps  # noqa: E402
from _report_notebook import CELLS  # noqa: E402

CI = bool(os.environ.get("CI"))
eps = sa.epsilon
x, y = sp.symbols("x y", real=True)
c = sp.Function("c")


def _need(ok: bool, why: str) -> None:
    if not ok:
        if CI:
            pytest.fail(f"{why} (CI installs it in .ci/run)")
        pytest.skip(why)


@cache
def quickstart():
    model = sa.SDE(state=[x, y], drift=[c(x) * y / eps, -y / eps**2],
                   noise=[[1], [sp.sqrt(2) / eps]])
    return model, sa.reduce(model, fast=[y])


# ----------------------------------------------------------------- escaping and notation
def test_text_is_escaped():
    assert escape("sigma sigma^T = A_1 & 50% #1 {x} ~") == (
        r"sigma sigma\textasciicircum{}T = A\_1 \& 50\% \#1 \{x\} \textasciitilde{}")
    assert escape_prose("mean $m_1$ of y_1") == r"mean $m_1$ of y\_1"
    d = sa.Derivation("A_b & c").then(sa.Step(
        "centering", "mean zero", (("h", x),),
        (sa.Check("<h^2> = 0", False, "numeric", "1e-3 at k_p"),), "strategy_1"))
    tex = d.to_latex()
    assert r"A\_b \& c" in tex and r"\textless{}h\textasciicircum{}2\textgreater{} = 0" in tex
    assert r"strategy\_1" in tex and r"k\_p" in tex


def test_textbook_notation():
    f = sp.Function("f")
    assert latex(eps) == r"\varepsilon"
    assert latex(sp.Derivative(c(x), x)) == "c'(x)"
    assert latex(sp.Derivative(c(x), (x, 2))) == "c''(x)"
    assert latex(sp.Derivative(f(x, y), x, y)) == r"\partial_{x}\partial_{y} f"
    assert latex(sp.Matrix([[x]])) == "x"
    assert latex(x**2 / 2) == r"\tfrac{1}{2} x^{2}"
    assert latex(c(x)) == "c(x)"


def test_reduced_model_displays_the_right_equation():
    """The noise coefficient of the quick start is a sum: it needs parentheses, and there
    is no 0 dt or 1 dW anywhere."""
    model, red = quickstart()
    tex = red._repr_latex_()
    assert r"\left(\sqrt{2} c(x) + 1\right)\,dW" in tex
    assert r"\left(c(x) + \sqrt{2}\right) c'(x)\,dt" in tex
    assert sde_latex([x], sp.Matrix([0]), sp.Matrix([[1]])) == (
        r"$\begin{aligned}dx &= dW\end{aligned}$")
    assert sde_latex([x], sp.Matrix([-x]), sp.Matrix([[0]])) == (
        r"$\begin{aligned}dx &= -x\,dt\end{aligned}$")
    full = model._repr_latex_()
    assert r"dy &= -\frac{y}{\varepsilon^{2}}\,dt + \frac{\sqrt{2}}{\varepsilon}\,dW" in full
    assert "0\\,dt" not in full and "1\\,dW" not in full
    assert "$$" in red._repr_markdown_()


def test_no_plain_text_leaks_and_no_clash():
    md = apps.lifson_jackson().steps.to_markdown()
    assert "2*pi" not in md and "-oo" not in md and r"$y$ (period $2 \pi$)" in md
    assert r"$y \in \left(0, 2 \pi\right)$" in md or r"$y \in (0, 2 \pi)$" in md
    # the user's sigma(x) and the noise matrix of the model step are distinct
    model_step = apps.kramers_1d().steps.find("model")[0].to_markdown()
    assert r"\Sigma = " in model_step and r"\sigma(x)" in model_step
    # the ansatz is stated
    assert r"u_1 = \sum_i \Phi_i \partial_i v_0" in md


def test_markdown_has_one_display_per_equation_and_breaks_long_ones():
    red = apps.kramers_matrix()
    md = red.steps.to_markdown()
    displays = re.findall(r"\$\$(.*?)\$\$", md, flags=re.S)
    assert len(displays) > 20
    assert max(len(d) for d in displays) < 5 * 1024  # MathJax 2 maxBuffer
    assert "\\begin{array}" not in md and "\\epsilon" not in md
    # every display line fits the page (after breaking)
    for d in displays:
        for line in d.split("\\\\"):
            assert visual_width(line) < 80, line[:120]
    lines = equation_lines("F", red.drift)
    # F_1, F_2 short, with their long numerators named (K_k) and defined below, broken
    assert lines[0][0].startswith("F_{1} &=") and "K_{1}" in lines[0][0]
    assert any(eq[0].startswith(r"\text{where } K_{1}") for eq in lines)
    assert any(len(eq) > 1 for eq in lines)


# ----------------------------------------------------------------- the handout compiles
def _spatial(name):
    from symavg.spatial import (
        CellProblem,
        effective_diffusivity_periodic_flow,
        effective_reflection,
    )

    y1, y2, y3 = sp.symbols("y1 y2 y3", real=True)
    a, b = sp.symbols("a b", positive=True)
    if name == "laminate_scalar":
        return CellProblem(a + b * sp.sin(y1), {y1: 2 * sp.pi}).effective_tensor().steps
    if name == "laminate_matrix":
        A = sp.Matrix([[2 + sp.sin(y1), sp.cos(y1) / 2 + sp.Rational(1, 3)],
                       [sp.cos(y1) / 2 + sp.Rational(1, 3), 3]])
        return CellProblem(A, {y1: 2 * sp.pi, y2: 1}).effective_tensor().steps
    if name == "laminate_separable":
        D = sp.diag(2 + sp.sin(y1), 3 + sp.cos(y2), 1 / (2 + sp.sin(y3)))
        return CellProblem(D, {y1: 2 * sp.pi, y2: 2 * sp.pi,
                               y3: 2 * sp.pi}).effective_tensor().steps
    if name == "reflection":
        return effective_reflection(1 + sp.Rational(4, 5) * sp.cos(y), y).steps
    if name == "shear_flow":
        return effective_diffusivity_periodic_flow([2 * sp.cos(y2), 0], [y1, y2], kappa=0.5,
                                                   n=16).steps
    if name == "cellular_flow":
        x1, x2 = sp.symbols("x1 x2", real=True)
        kappa = sp.Symbol("kappa", positive=True)
        u = [sp.sin(y1) * sp.cos(y2), -sp.cos(y1) * sp.sin(y2)]
        s = sp.sqrt(2 * kappa)
        m = sa.SDE([x1, x2, y1, y2], [u[0] / eps, u[1] / eps, u[0] / eps**2, u[1] / eps**2],
                   noise=[[s, 0], [0, s], [s / eps, 0], [0, s / eps]],
                   periodic={y1: 2 * sp.pi, y2: 2 * sp.pi})
        return sa.reduce(m, [y1, y2], params={kappa: 0.1}).steps
    raise KeyError(name)


def _no_force():
    x1, x2 = sp.symbols("x1 x2", real=True)
    return sa.smoluchowski_kramers([x1, x2], [0, 0], apps.KRAMERS_GAMMA,
                                   apps.KRAMERS_SIGMA).steps


def _worked(name):
    """The derivations of the worked examples outside test_applications (the models of
    worked_examples/*.py; the chaotic ones with shorter Green-Kubo runs)."""
    if name == "nested_three_scales":
        z = sp.Symbol("z", real=True)
        b = sp.Symbol("b", positive=True)
        return sa.reduce(sa.SDE([x, y, z], [y, (b - (2 + sp.cos(z)) * y) / eps, 0],
                                noise=[0, sp.sqrt(2 / eps), sp.sqrt(2) / eps],
                                periodic={z: 2 * sp.pi})).steps
    if name == "nested_tilted_ou":
        eta = sp.Symbol("eta", real=True)
        D, V0, F, k = sp.symbols("D V0 F c", positive=True)
        drx = V0 * sp.sin(y) / eps + F + k * eta / sp.sqrt(eps)
        return sa.reduce(sa.SDE([x, y, eta], [drx, drx / eps, -eta / eps],
                                noise=[[sp.sqrt(2 * D), 0], [sp.sqrt(2 * D) / eps, 0],
                                       [0, sp.sqrt(2 / eps)]],
                                periodic={y: 2 * sp.pi}), fast=[y, eta]).steps
    if name.startswith("network"):
        k0, k1, k2, k3, kc = sp.symbols("k0 k1 k2 k3 k_cat", positive=True)
        if name == "network_isomerisation":
            return sa.ReactionNetwork(["S1 -> S2", "S2 -> S1", "S2 -> 0"],
                                      [k1 / eps, k2 / eps, k3]).reduce().steps
        if name == "network_enzyme":
            return sa.ReactionNetwork(["0 -> S", "E + S -> C", "C -> E + S", "C -> E + P"],
                                      [k0, k1 / eps, k2 / eps, kc]
                                      ).reduce(values={"T_EC": 1}).steps
        ka, kb, kd = sp.symbols("k_a k_b k_d", positive=True)
        return sa.ReactionNetwork(["2 A -> B", "B -> 2 A", "0 -> A", "B -> 0"],
                                  [ka / eps, kb / eps, k0, kd]).reduce().steps
    if name in ("pdmp_promoter", "telegraph_kac", "ldp_telegraph"):
        a, b, g, k = sp.symbols("a b gamma k", positive=True)
        if name == "pdmp_promoter":
            chain = sa.MarkovChain({("off", "on"): a / eps, ("on", "off"): b / eps})
            return sa.reduce(sa.SwitchingSDE([x], chain, drift={"off": -g * x,
                                                                "on": k - g * x}),
                             order=1).steps
        chain = sa.MarkovChain({("+", "-"): a / eps, ("-", "+"): a / eps})
        tele = sa.SwitchingSDE([x], chain, drift={"+": 1, "-": -1})
        if name == "telegraph_kac":
            return sa.reduce(tele, order=1).steps
        return sa.ldp.rate_function(sa.ldp.hamiltonian(tele)).steps
    if name == "diffusive_time_scale":
        s = sp.Function("sigma")(x)
        return sa.reduce(sa.SDE([x, y], [s * y, -y / eps], noise=[0, sp.sqrt(2 / eps)]),
                         timescale="diffusive").steps
    if name == "chaos_doubling_map":
        from symavg.derive.chaotic_map import reduce_chaotic_map

        m = sa.DeterministicMap([x, y], [x - eps**2 * x + eps * (y - sp.Rational(1, 2)),
                                         sp.Mod(2 * y, 1)])
        return reduce_chaotic_map(m, [y], n_samples=20_000).steps
    if name == "chaos_lorenz_driven":
        from symavg.derive.chaotic import reduce_chaotic

        y1, y2, y3 = sp.symbols("y1 y2 y3", real=True)
        lorenz = [10 * (y2 - y1), y1 * (28 - y3) - y2, y1 * y2 - sp.Rational(8, 3) * y3]
        m = sa.DeterministicFlow([x, y1, y2, y3], [x - x**3 + y2 / (4 * eps),
                                                   *[e / eps**2 for e in lorenz]])
        return reduce_chaotic(m, [y1, y2, y3], n_samples=20_000).steps
    return _worked_more(name)


def _worked_more(name):
    """The derivations of the worked examples added with the nested-chain, shear, Levy-area,
    numeric-network and diffusion-exit work (worked_examples/*.py, same models)."""
    if name == "nested_fast_chain":
        z = sp.Symbol("z", real=True)
        b = sp.Symbol("b", positive=True)
        chain = sa.MarkovChain({("off", "on"): (2 + sp.cos(z)) / eps, ("on", "off"): b / eps})
        return sa.reduce(sa.SwitchingSDE([x, z], chain, drift={"off": [-x, 0], "on": [1 - x, 0]},
                                         noise=[[0], [sp.sqrt(2) / eps]],
                                         periodic={z: 2 * sp.pi})).steps
    if name == "shear_ou_cross_forcing":
        eta = sp.Symbol("eta", real=True)
        kappa = sp.Symbol("kappa", positive=True)
        return sa.reduce(sa.SDE([x, y, eta], [sp.sin(y) / eps, eta / eps**2, -eta / eps**2],
                                noise=[[sp.sqrt(2 * kappa), 0], [0, 0], [0, sp.sqrt(2) / eps]],
                                periodic={y: 2 * sp.pi})).steps
    if name == "chaos_levy_area":
        from symavg.derive.chaotic import reduce_chaotic

        x1, x2, y1, y2, y3 = sp.symbols("x1 x2 y1 y2 y3", real=True)
        lorenz = [10 * (y2 - y1), y1 * (28 - y3) - y2, y1 * y2 - sp.Rational(8, 3) * y3]
        m = sa.DeterministicFlow([x1, x2, y1, y2, y3],
                                 [y2 / (8 * eps), x1 * y1 * y3 / (200 * eps),
                                  *[e / eps**2 for e in lorenz]])
        return reduce_chaotic(m, [y1, y2, y3], n_samples=20_000).steps
    ka, kb, kc, kd2, k0, kd = sp.symbols("k_a k_b k_c k_d2 k0 k_d", positive=True)
    if name == "network_numeric_law":
        net = sa.ReactionNetwork(["2 A -> B", "B -> 2 A", "B -> C", "C -> B", "0 -> A",
                                  "C -> 0"], [ka / eps, kb / eps, kc / eps, kd2 / eps, k0, kd])
        values = {ka: 1.0, kb: 2.0, kc: 1.0, kd2: 0.5, k0: 2.0, kd: 1.0}
        return net.reduce(params=values, slow_range={"T_A2B2C": (0, 60)}).steps
    if name == "network_many_enzymes":
        k1, k2, kcat = sp.symbols("k1 k2 k_cat", positive=True)
        return sa.ReactionNetwork(["0 -> S", "E + S -> C", "C -> E + S", "C -> E + P"],
                                  [k0, k1 / eps, k2 / eps, kcat]).reduce().steps
    if name == "ldp_diffusion_exit":
        m = sa.SDE([x, y], [x - x**3 + y, -y / eps], diffusion=[[0, 0], [0, 2 / eps]])
        H = sa.ldp.hamiltonian(m, fast=[y], momentum=sp.Symbol("p", real=True))
        return H.steps.extend(sa.ldp.quasipotential(H, start=-1).steps).extend(
            sa.reduce(m, fast=[y], order=1).steps)
    if name == "ldp_exit_time":
        a0, a1, b = sp.symbols("a0 a1 b", positive=True)
        chain = sa.MarkovChain({(0, 1): (a0 + a1 * x**2) / eps, (1, 0): b / eps})
        H = sa.ldp.hamiltonian(sa.SwitchingSDE([x], chain, drift={0: -x, 1: 1 - x}))
        xm = min(r.real for r in np.roots([-8.0, 8.0, -2.1, 0.1]))   # the lower stable point
        return H.steps.extend(sa.ldp.quasipotential(H, start=sp.Float(xm)).steps)
    raise KeyError(name)


WORKED = ("nested_three_scales", "nested_tilted_ou", "network_isomerisation",
          "network_enzyme", "network_dimerisation", "pdmp_promoter", "telegraph_kac",
          "ldp_telegraph", "diffusive_time_scale", "chaos_doubling_map",
          "chaos_lorenz_driven", "nested_fast_chain", "shear_ou_cross_forcing",
          "chaos_levy_area", "network_numeric_law", "network_many_enzymes",
          "ldp_diffusion_exit", "ldp_exit_time")

#: every worked example's derivation and the README models (quick start, Lifson-Jackson)
DERIVATIONS = {
    **{fn.__name__: (lambda fn=fn: fn().steps) for fn in apps.ALL},
    "readme_quickstart": lambda: quickstart()[1].steps,
    "kramers_matrix_no_force": _no_force,
    **{n: (lambda n=n: _spatial(n)) for n in ("laminate_scalar", "laminate_matrix",
                                               "laminate_separable", "reflection",
                                               "shear_flow", "cellular_flow")},
    **{n: (lambda n=n: _worked(n)) for n in WORKED},
}
TEXT_WIDTH_PT = 1.0  # any overfull box wider than 1pt fails (page text width is ~480pt)


def compile_latex(tex: str, folder: Path, name: str = "doc") -> str:
    """Run pdflatex on ``tex``; return the log, failing on an error or an overfull box."""
    (folder / f"{name}.tex").write_text(tex, encoding="utf-8")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                           f"{name}.tex"], cwd=folder, capture_output=True, text=True,
                          timeout=120, check=False)
    log = (folder / f"{name}.log").read_text(errors="replace")
    errors = [ln for ln in log.splitlines() if ln.startswith("!")]
    assert proc.returncode == 0 and not errors, (errors, proc.stdout[-2000:])
    wide = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert all(w <= TEXT_WIDTH_PT for w in wide), f"overfull boxes {sorted(wide)[-5:]} pt"
    assert (folder / f"{name}.pdf").stat().st_size > 1000
    return log


#: the steps that take averages over a fast law: each shows them (Step.averages)
AVERAGING_STEPS = {"centering", "solvability", "diffusion approximation",
                   "averaged propensities", "Green-Kubo", "averages", "effective diffusivity",
                   "effective reflection", "effective tensor"}


@pytest.mark.parametrize("name", list(DERIVATIONS))
def test_standalone_latex_compiles(name, tmp_path):
    deriv = DERIVATIONS[name]()
    bare = [s.name for s in deriv if s.name in AVERAGING_STEPS and not s.averages]
    assert not bare, f"steps that take averages without showing them: {bare}"
    _need(shutil.which("pdflatex") is not None, "pdflatex is not installed")
    tex = deriv.to_latex(standalone=True)
    assert tex.startswith(r"\documentclass") and tex.rstrip().endswith(r"\end{document}")
    assert r"\usepackage{amsmath,amssymb}" in tex and "geometry" in tex
    compile_latex(tex, tmp_path)


def test_the_overfull_check_catches_a_line_that_runs_off_the_page(tmp_path):
    _need(shutil.which("pdflatex") is not None, "pdflatex is not installed")
    from symavg.report.latex import document

    tex = document(r"\[" + " + ".join(f"x_{{{i}}}" for i in range(80)) + r"\]")
    with pytest.raises(AssertionError, match="overfull"):
        compile_latex(tex, tmp_path)


def test_cli_derive_standalone_compiles(tmp_path):
    _need(shutil.which("pdflatex") is not None, "pdflatex is not installed")
    model = Path(__file__).resolve().parents[1] / "examples" / "models" / "multiplicative.toml"
    proc = subprocess.run([sys.executable, "-m", "symavg", "derive", str(model), "--format",
                           "latex", "--standalone"], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(r"\documentclass")
    compile_latex(proc.stdout, tmp_path)
    bad = subprocess.run([sys.executable, "-m", "symavg", "derive", str(model),
                          "--standalone"], capture_output=True, text=True, timeout=300,
                         check=False)
    assert bad.returncode != 0 and "--format latex" in bad.stderr


# ----------------------------------------------------------------- rich displays
def test_rich_displays_in_process():
    model, red = quickstart()
    step = red.steps[2]
    assert step._repr_markdown_().startswith("**invariant measure**")
    md = red.steps._repr_markdown_()
    assert md.count("## ") == len(red.steps) and "checks, all passed" in md
    assert "Effective model" in red._repr_markdown_()
    assert "Itô SDE" in model._repr_markdown_()


def test_notebook_outputs_are_rich(tmp_path):
    """Execute a small notebook with nbclient and check the MIME bundle of each output."""
    try:
        import nbclient
        import nbformat
    except ImportError as exc:
        _need(False, f"nbclient/nbformat are not installed ({exc})")
    try:
        import ipykernel  # noqa: F401
    except ImportError as exc:
        _need(False, f"ipykernel is not installed ({exc})")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src, _ in CELLS]
    root = str(Path(__file__).resolve().parents[1])
    env_path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = env_path
    try:
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old
    for cell, (src, mime) in zip(nb.cells, CELLS, strict=True):
        results = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert results, (src, cell.outputs)
        data = results[-1]["data"]
        assert mime in data, (src, list(data))
        if mime == "image/png":
            assert len(data[mime]) > 1000
        if mime == "text/markdown":
            assert "$$" in data[mime] or "|" in data[mime]
