"""Issue 12, notation: the names a derivation introduces never clash with the user's.

Each introduced object either gets a name apart from the model's own symbols and
functions (the test function of the generator split, the order-one integrands, the
summation variables of network and time averages) or, when the name is part of the
result the user works with (Kramers' velocities, the LDP momenta and velocities), a
clash is refused with the fix. A user's ``W`` turns the Brownian motion into ``B``.
"""

import pytest
import sympy as sp

import symavg as sa
from symavg.derive.ldp import LDPError
from symavg.errors import ModelError
from symavg.report.names import fresh_name, user_names

eps = sa.epsilon
x, y = sp.symbols("x y", real=True)


@pytest.mark.parametrize("user", [sp.Symbol("u_x", positive=True), sp.Function("u_x")(x)])
def test_kramers_velocity_name_clash_is_refused(user):
    """A symbol with other assumptions, or a function, named like the velocity u_x."""
    g = sp.Symbol("g", positive=True)
    with pytest.raises(ModelError, match=r"u_x.*velocity=\["):
        sa.smoluchowski_kramers([x], [-x + user], g, 1)
    # with another velocity name the same model reduces (drift F/gamma, Hottovy et al.
    # 2015, Theorem 1, constant friction)
    v = sp.Symbol("w", real=True)
    red = sa.smoluchowski_kramers([x], [-x + user], g, 1, velocity=[v])
    assert sp.simplify(red.drift[0] - (-x + user) / g) == 0


def test_test_function_and_order_one_integrand_take_free_names():
    """A user's function f and parameter g: the generator split writes L f-hat, the
    order-one average names its integrand g-hat, and no average's name is a user name.
    The order-one diffusion 2 W^2 eps is the Green-Kubo value of W y with y an OU process
    of unit variance and rate 1/eps (Pavliotis & Stuart 2008, Sec. 11.7.1)."""
    W, g = sp.symbols("W g", positive=True)
    f = sp.Function("f")
    m = sa.SDE([x, y], [W * y - g * x + f(x), -y / eps], noise=[[0], [sp.sqrt(2 / eps)]])
    red = sa.average(m, [y], order=1)
    split = red.steps.find("generator split")[0]
    test_fns = {type(a).__name__ for _, e in split.expressions for a in
                sp.sympify(e).atoms(sp.Function)} - {"f"}
    assert test_fns == {"fhat"}
    assert r"\mathcal{L}_0 \hat{f}" in split.to_markdown()
    (avg,) = red.steps.find("diffusion approximation")[0].averages
    assert avg.name == r"\hat{g}"
    assert sp.simplify(red.diffusion[0, 0] - 2 * W**2 * eps) == 0


def test_a_user_w_turns_every_dw_into_db():
    W = sp.Symbol("W", positive=True)
    m = sa.SDE([x, y], [W * y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    red = sa.reduce(m, [y])
    for name in ("model", "effective coefficients"):
        md = red.steps.find(name)[0].to_markdown()
        assert r"\,dB" in md and "dW" not in md, md
    # no W: the statements keep dW
    m2 = sa.SDE([x, y], [y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    assert r"\,dW" in sa.reduce(m2, [y]).steps.find("model")[0].to_markdown()
    # W and B both taken: a calligraphic W
    B = sp.Symbol("B", positive=True)
    m3 = sa.SDE([x, y], [W * B * y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    assert r"d\mathcal{W}" in sa.reduce(m3, [y]).steps.find("model")[0].to_markdown()


@pytest.mark.parametrize("name", ["H_x", "h_x_on", "y^*"])
def test_more_engine_names_are_refused(name):
    user = sp.Symbol(name, positive=True)
    m = sa.SDE([x, y], [user * y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    with pytest.raises(ModelError, match=f"named '{__import__('re').escape(name)}'.*Rename"):
        sa.reduce(m, [y])


def test_ldp_momentum_and_velocity_clashes_are_refused():
    """The telegraph process with a rate parameter named like the momentum or velocity
    (another symbol of the same name): refused; lambda_H is refused as the variable of
    the characteristic polynomial."""
    lam = sp.Symbol("lambda", positive=True)
    chain = sa.MarkovChain({("-", "+"): lam / eps, ("+", "-"): lam / eps})
    tel = sa.SwitchingSDE([x], chain, drift={"-": -1, "+": 1})
    with pytest.raises(LDPError, match="momentum="):
        sa.ldp.hamiltonian(tel, momentum=sp.Symbol("x", positive=True))
    H = sa.ldp.hamiltonian(tel, momentum=sp.Symbol("p", real=True))
    with pytest.raises(LDPError, match="velocity="):
        sa.ldp.rate_function(H, velocity=sp.Symbol("lambda"))
    lh = sp.Symbol("lambda_H", positive=True)
    chain2 = sa.MarkovChain({("-", "+"): lh / eps, ("+", "-"): lh / eps})
    with pytest.raises(LDPError, match="lambda_H"):
        sa.ldp.hamiltonian(sa.SwitchingSDE([x], chain2, drift={"-": -1, "+": 1}))


def test_network_extent_takes_a_free_name():
    """A rate constant named xi: the fast extent of the enzyme network is written xi-hat,
    and the averaged propensity is unchanged (k_cat k1 T/(k1 T + k2), see
    test_report_averages)."""
    k1, kc, k0 = sp.symbols("k1 k_cat k0", positive=True)
    xi = sp.Symbol("xi", positive=True)
    net = sa.ReactionNetwork(["0 -> S", "E + S -> C", "C -> E + S", "C -> E + P"],
                             [k0, k1 / eps, xi / eps, kc])
    red = net.reduce(values={"T_EC": 1})
    step = red.steps.find("averaged propensities")[0]
    (avg,) = [a for a in step.averages if "P" in a.label]
    (s_sum,) = avg.form.atoms(sp.Sum)
    assert s_sum.limits[0][0].name == "xihat"
    (T,) = [v for v in avg.value.free_symbols if v.name == "T_SC"]
    assert sp.simplify(avg.value - kc * k1 * T / (k1 * T + xi)) == 0


def test_fresh_name_and_user_names():
    c = sp.Function("c")
    assert set(user_names([c(x) + sp.Symbol("g")])) == {"c", "x", "g"}
    assert fresh_name("g", {"g", "ghat", "gtilde", "gbar"}) == "g_1"


def test_an_accented_label_letter_in_another_face_keeps_its_braces():
    r"""The nested-chain step labels its averaged drift ``\bar b_{on}``; with a user's
    ``b`` the letter is written ``\mathbf{b}``, and ``\bar \mathbf{b}`` is a LaTeX error
    (an accent takes one argument): the display writes ``\bar{\mathbf{b}}``."""
    from symavg.report.derivation import Step
    from symavg.report.display import _step_parts

    x, b = sp.symbols("x b", positive=True)
    step = Step("averaged chain", "Averaged drifts.", ((r"\bar b_{\mathrm{on}}", b - x),))
    _, exprs, _ = _step_parts(step)
    assert exprs[0][0] == r"\bar{\mathbf{b}}_{\mathrm{on}}"
