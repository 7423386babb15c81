"""``Derivation.to_notebook``: the notebook rebuilds the model, derives it and checks it cell
by cell; executed here with nbclient (skipped locally without nbclient/ipykernel, required
under ``CI=true``)."""

from __future__ import annotations

import importlib.util
import os

import nbformat
import pytest
import sympy as sp

import symavg as sa
from symavg.report.notebook import model_source

eps = sa.epsilon
x, y = sp.symbols("x y", real=True)


def _run(path):
    if any(importlib.util.find_spec(m) is None for m in ("nbclient", "ipykernel")):
        if os.environ.get("CI"):
            pytest.fail("nbclient and ipykernel are required under CI (the test extra)")
        pytest.skip("nbclient/ipykernel not installed: pip install -e '.[test]'")
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def _rebuild(code):
    ns = {}
    exec("import sympy as sp\nfrom sympy import *\nimport symavg as sa\n" + code, ns)
    return ns["model"]


def test_model_source_rebuilds_sdes():
    c = sp.Function("c")
    D, V0 = sp.symbols("D V0", positive=True)
    models = [
        sa.SDE([x, y], [c(x) * y / eps, -y / eps**2], noise=[[1], [sp.sqrt(2) / eps]]),
        sa.SDE([x, y], [V0 * sp.sin(y) / eps, V0 * sp.sin(y) / eps**2],
               noise=[[sp.sqrt(2 * D)], [sp.sqrt(2 * D) / eps]], periodic={y: 2 * sp.pi}),
        sa.SDE([x, y], [y, -y / eps], diffusion=[[0, 0], [0, 2 / eps]]),
    ]
    for m in models:
        code = model_source(m)
        assert "srepr" not in code and "Mul(" not in code   # the readable form
        assert _rebuild(code) == m


def test_model_source_falls_back_to_srepr_for_unprintable_names():
    z = sp.Symbol("z_{1}", real=True)       # not a Python identifier
    m = sa.SDE([z, y], [y, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    code = model_source(m)
    assert "Symbol('z_{1}', real=True)" in code
    assert _rebuild(code) == m


def test_model_source_of_a_switching_model():
    a, b = sp.symbols("a b", positive=True)
    chain = sa.MarkovChain({(0, 1): a / eps, (1, 0): b / eps})
    m = sa.SwitchingSDE([x], chain, drift={0: -x, 1: 1 - x}, noise={0: [[1]], 1: [[2]]})
    rebuilt = _rebuild(model_source(m))
    assert rebuilt.chain.states == (0, 1)
    assert rebuilt.noise == m.noise and rebuilt.drift == m.drift


def test_to_notebook_without_a_recorded_model_is_a_named_error(tmp_path):
    d = sa.Derivation("by hand")
    with pytest.raises(sa.ModelError, match="does not record the model"):
        d.to_notebook(tmp_path / "n.ipynb")
    with pytest.raises(sa.ModelError, match="an sa.SwitchingSDE or an sa.EffectiveModel"):
        d.to_notebook(tmp_path / "n.ipynb", model=sa.MarkovChain([[-1, 1], [1, -1]]))


def test_the_notebook_of_the_quick_start_runs_and_checks(tmp_path):
    c = sp.Function("c")
    model = sa.SDE([x, y], [c(x) * y / eps, -y / eps**2], noise=[[1], [sp.sqrt(2) / eps]])
    red = sa.reduce(model, fast=[y])
    path = red.steps.to_notebook(tmp_path / "quick.ipynb")
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    step_cells = [c for c in nb.cells if c.cell_type == "code" and "red.steps[" in c.source]
    assert len(step_cells) == len(red.steps)
    nb = _run(path)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # every step is shown as Markdown, the last cell says the checks passed
    shown = [c for c in nb.cells if c.cell_type == "code" and "red.steps[" in c.source]
    assert all("text/markdown" in c.outputs[0].data for c in shown)
    assert "rebuilt, derived and checked" in nb.cells[-1].outputs[0].text


@pytest.mark.slow
def test_the_notebook_of_a_pdmp_and_of_kramers_run(tmp_path):
    a, b, g = sp.symbols("a b gamma", positive=True)
    chain = sa.MarkovChain({("off", "on"): a / eps, ("on", "off"): b / eps})
    pdmp = sa.SwitchingSDE([x], chain, drift={"off": -g * x, "on": 1 - g * x})
    p1 = sa.reduce(pdmp, order=1).steps.to_notebook(tmp_path / "pdmp.ipynb")
    F, gam = sp.Function("F")(x), sp.Function("gamma")(x)
    s = sp.Symbol("s", positive=True)
    p2 = sa.smoluchowski_kramers([x], [F], gam, s).steps.to_notebook(tmp_path / "sk.ipynb")
    for p in (p1, p2):
        nb = _run(p)
        assert "rebuilt, derived and checked" in nb.cells[-1].outputs[0].text


def _checked(path):
    nb = _run(path)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert "rebuilt, derived and checked" in nb.cells[-1].outputs[0].text
    return nb


def test_the_notebook_of_a_second_reduction_runs_and_checks(tmp_path):
    """An EffectiveModel that still has a fast variable (dx = y dt, dy = -y/eps dt +
    sqrt(2/eps) dW, written by hand) reduced again at order one: the diffusion
    approximation gives 2 eps int_0^oo e^{-s} ds = 2 eps (the Green-Kubo integral of the
    OU autocorrelation e^{-|s|}; Pavliotis & Stuart 2008, Sec. 10.7). The notebook
    declares the EffectiveModel, reduces it again and compares."""
    inter = sa.EffectiveModel(state=(x, y), drift=sp.ImmutableMatrix([y, -y / eps]),
                              diffusion=sp.ImmutableMatrix([[0, 0], [0, 2 / eps]]), noise=None,
                              regime="averaging", steps=sa.Derivation("by hand"), eps=eps)
    again = sa.reduce(inter, [y], order=1)
    assert sp.simplify(again.diffusion[0, 0] - 2 * eps) == 0
    assert _rebuild(model_source(inter)) == inter
    nb = _checked(again.steps.to_notebook(tmp_path / "again.ipynb"))
    assert any("sa.EffectiveModel(" in c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("routine", ["cell problem", "periodic flow"])
def test_the_notebooks_of_the_spatial_routines_run_and_check(routine, tmp_path):
    """The harmonic mean of a laminate, A* = <1/A>^-1 = sqrt(3) for A = 2 + sin y
    (Bensoussan, Lions & Papanicolaou 1978, Ch. 1 Sec. 2.3; Pavliotis & Stuart 2008,
    Sec. 12.6.1; int_0^{2pi} dy/(2 + sin y) = 2pi/sqrt(3), Gradshteyn-Ryzhik 3.613.2), and the
    shear flow's Taylor dispersion K_11 = kappa + <|d^-1 u|^2>/kappa with u = 2 cos y2, i.e.
    kappa + <4 sin^2 y2>/kappa (Taylor 1953; Pavliotis & Stuart 2008, Sec. 13.6.1):
    kappa = 1/2 gives 1/2 + 2/(1/2) = 4.5."""
    from symavg.spatial import CellProblem, effective_diffusivity_periodic_flow

    y1, y2 = sp.symbols("y1 y2", real=True)
    if routine == "cell problem":
        res = CellProblem(2 + sp.sin(y1), {y1: 2 * sp.pi}).effective_tensor()
        assert sp.simplify(res.tensor[0, 0] - sp.sqrt(3)) == 0
    else:
        res = effective_diffusivity_periodic_flow([2 * sp.cos(y2), 0], [y1, y2], kappa=0.5,
                                                  n=16)
        assert abs(res.K[0, 0] - 4.5) < 1e-10
    nb = _checked(res.steps.to_notebook(tmp_path / "spatial.ipynb"))
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert any(src.startswith("import sympy") and "from symavg.spatial import" in src
               for src in code)


def test_the_notebook_of_effective_reflection_records_the_call(tmp_path):
    """The third spatial routine: the notebook makes the same call (not executed here; the
    two routines above are) and compares gbar with the exported value."""
    from symavg.spatial import effective_reflection

    res = effective_reflection(1 + sp.Rational(4, 5) * sp.cos(y), y)
    assert res.steps.origin["call"] == "res = effective_reflection(g=1 + 4*cos(y)/5, y=y)"
    nb = nbformat.read(str(res.steps.to_notebook(tmp_path / "r.ipynb")), as_version=4)
    nbformat.validate(nb)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "from symavg.spatial import effective_reflection" in code
    assert "np.allclose(np.asarray(res.gbar" in code


@pytest.mark.slow
def test_the_notebook_of_a_network_reduction_runs_and_checks(tmp_path):
    """The enzyme network of worked_examples/network_fast_equilibrium.py: the notebook
    rebuilds the network, reduces it (values={"T_EC": 1}) and checks each step and the
    reduced propensities (k0 and k_cat k1 T/(k1 T + k2), see test_report_averages)."""
    k0, k1, k2, kc = sp.symbols("k0 k1 k2 k_cat", positive=True)
    eps = sa.epsilon
    net = sa.ReactionNetwork(["0 -> S", "E + S -> C", "C -> E + S", "C -> E + P"],
                             [k0, k1 / eps, k2 / eps, kc])
    red = net.reduce(values={"T_EC": 1})
    path = red.steps.to_notebook(tmp_path / "network.ipynb")
    nb = nbformat.read(str(path), as_version=4)
    code = "".join(nb.cells[3]["source"])
    assert "ReactionNetwork(['0 -> S', 'E + S -> C'" in code and "values={'T_EC': 1}" in code
    _run(path)


@pytest.mark.slow
def test_the_notebook_of_a_rate_function_runs_and_checks(tmp_path):
    """The telegraph process of worked_examples/ldp_telegraph.py: the notebook declares the
    switching model, computes H and L again (H = sqrt(lambda^2 + p^2) - lambda and
    L = lambda (1 - sqrt(1 - v^2)), the doctests of sa.ldp) and checks every step and L."""
    x, p, v = sp.symbols("x p v", real=True)
    lam = sp.Symbol("lambda", positive=True)
    eps = sa.epsilon
    chain = sa.MarkovChain({("-", "+"): lam / eps, ("+", "-"): lam / eps})
    tel = sa.SwitchingSDE([x], chain, drift={"-": -1, "+": 1})
    L = sa.ldp.rate_function(sa.ldp.hamiltonian(tel, momentum=p), velocity=v)
    assert sp.simplify(L.expr - lam * (1 - sp.sqrt(1 - v**2))) == 0
    path = L.steps.to_notebook(tmp_path / "rate.ipynb")
    code = "".join(nbformat.read(str(path), as_version=4).cells[3]["source"])
    assert "H = sa.ldp.hamiltonian(model, momentum=p)" in code
    assert "res = sa.ldp.rate_function(H, velocity=[v])" in code
    _run(path)


@pytest.mark.slow
def test_the_notebook_of_a_chaotic_map_reduction_runs_and_checks(tmp_path):
    """The doubling-map example (worked_examples/chaos_doubling_map.py; sigma^2 = 1/4 exactly,
    see test_report_averages): the notebook declares the map, runs the same seeded
    Green-Kubo estimate and finds the same diffusion to every digit."""
    from symavg.derive.chaotic_map import reduce_chaotic_map

    x, y = sp.symbols("x y", real=True)
    eps = sa.epsilon
    m = sa.DeterministicMap([x, y], [x - eps**2 * x + eps * (y - sp.Rational(1, 2)),
                                     sp.Mod(2 * y, 1)])
    red = reduce_chaotic_map(m, [y], n_samples=20_000)
    assert abs(float(red.diffusion[0, 0]) - 0.25) < 0.02
    path = red.steps.to_notebook(tmp_path / "chaos.ipynb")
    code = "".join(nbformat.read(str(path), as_version=4).cells[3]["source"])
    assert "reduce_chaotic_map(model=sa.DeterministicMap([x, y], [" in code
    _run(path)


@pytest.mark.slow
def test_the_notebooks_of_a_numeric_hamiltonian_and_rate_function_run_and_check(tmp_path):
    """A three-state chain with a cycle (rates 1, 2, 3 around it and 1/2 back from 1 to 0)
    has no closed-form Perron root, so H and L are numeric. Their notebooks rerun the calls
    and check a value each: H(0.5, 0.25) and L(0.5, v) at a velocity off the averaged
    drift, which must be reproduced (the same deterministic eigenvalue and convex
    maximisation). Independent check of the H value here: the largest real eigenvalue of
    Q + p diag(f) by numpy (Donsker-Varadhan; Bryc & Dembo 1997 for the chain case)."""
    import numpy as np

    x, p, v = sp.symbols("x p v", real=True)
    eps = sa.epsilon
    chain = sa.MarkovChain({(0, 1): 1 / eps, (1, 2): 2 / eps, (2, 0): 3 / eps,
                            (1, 0): sp.Rational(1, 2) / eps})
    m = sa.SwitchingSDE([x], chain, drift={0: -1, 1: sp.Rational(1, 2), 2: 2})
    H = sa.ldp.hamiltonian(m, momentum=p)
    L = sa.ldp.rate_function(H, velocity=v)
    assert H.expr is None and L.expr is None
    Q = np.array([[-1.0, 1.0, 0.0], [0.5, -2.5, 2.0], [3.0, 0.0, -3.0]])
    perron = max(np.linalg.eigvals(Q + 0.25 * np.diag([-1.0, 0.5, 2.0])).real)
    assert abs(H.evaluate([0.5], [0.25]) - perron) < 1e-10
    for obj, name in ((H, "hamiltonian"), (L, "rate")):
        path = obj.steps.to_notebook(tmp_path / f"{name}.ipynb")
        last = "".join(nbformat.read(str(path), as_version=4).cells[-1]["source"])
        assert "res.evaluate([0.5]" in last
        _run(path)
