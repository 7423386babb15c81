"""Issue 12, item 3: rich displays of the large-deviation and chaos results (Markdown
with one display per equation, or an HTML table for the Monte Carlo estimates)."""

import numpy as np
import sympy as sp

import symavg as sa
from symavg.numeric.exit_times import ExitTimeEstimate
from symavg.numeric.green_kubo import green_kubo_series
from symavg.numeric.min_action import MinimumActionPath
from symavg.numeric.rare_events import TailEstimate

eps = sa.epsilon
x, p, v = sp.symbols("x p v", real=True)


def test_hamiltonian_rate_function_and_quasipotential_show_their_formulas():
    """The telegraph process at rate lambda (its H and L are checked in test_ldp); the
    quasipotential display is built from the fields of a result."""
    from symavg.derive.ldp import Quasipotential

    lam = sp.Symbol("lambda", positive=True)
    chain = sa.MarkovChain({("-", "+"): lam / eps, ("+", "-"): lam / eps})
    H = sa.ldp.hamiltonian(sa.SwitchingSDE([x], chain, drift={"-": -1, "+": 1}), momentum=p)
    md = H._repr_markdown_()
    assert md.startswith("**Slow-fast Hamiltonian**") and "$$ H(x, p) = " in md
    assert "checks, all passed" in md
    L = sa.ldp.rate_function(H, velocity=v)
    assert "$$ L(x, v) = " in L._repr_markdown_() and "finite on" in L._repr_markdown_()
    qp = Quasipotential(-sp.log(x) - sp.log(1 - x), x, sp.Rational(1, 2),
                        1 / (1 - x) - 1 / x, H, H.steps)
    md = qp._repr_markdown_()
    assert md.startswith("**Quasipotential**") and "$$ V = " in md and "$$ p^* = " in md


def test_estimates_show_html_tables():
    rng = np.random.default_rng(1)
    est = green_kubo_series(rng.standard_normal((2, 20_000)), spacing=1.0)
    html = est._repr_html_()
    assert html.startswith("<table>") and "sigma^2 = 2 int C" in html and "batch means" in html
    ex = ExitTimeEstimate(2.0, 0.1, 0.05, 100, np.ones(100) * 2.0, 50)
    assert "E[tau]" in ex._repr_html_() and "eps log E[tau]" in ex._repr_html_()
    tail = TailEstimate(1e-3, 1e-4, 0.1, 0.5, 1000)
    assert "-eps log P" in tail._repr_html_()
    path = MinimumActionPath(np.zeros((5, 1)), 0.3, np.zeros((4, 1)), True, (0.4, 0.3))
    assert "action" in path._repr_html_() and "<td>True</td>" in path._repr_html_()


def test_switching_and_deterministic_declarations_display_their_equations():
    """The declarations of the PDMP / switching, chaos and map families display like an SDE:
    the Itô system in each chain state with the chain's Q, and y' = F(y) / y -> T(y)."""
    x, y = sp.symbols("x y", real=True)
    chain = sa.MarkovChain({("off", "on"): 1 / eps, ("on", "off"): 2 / eps})
    m = sa.SwitchingSDE([x], chain, drift={"off": -x, "on": 1 - x},
                        noise={"off": [[0]], "on": [[sp.sqrt(2)]]})
    md = m._repr_markdown_()
    assert "In chain state `off`:" in md and r"dx &= -x\,dt" in md
    assert r"\sqrt{2}\,dW" in md and r"Q = \left[" in md
    flow = sa.DeterministicFlow([x, y], [y / eps, -x / eps**2])
    assert r"\dot{y} &= - \frac{x}{\varepsilon^{2}}" in flow._repr_latex_()
    assert flow._repr_markdown_().startswith("**Deterministic flow**")
    shift = sa.DeterministicMap([x, y], [x + eps * (y - sp.Rational(1, 2)), sp.Mod(2 * y, 1)])
    assert r"y &\mapsto 2 y \bmod 1" in shift._repr_latex_()
