"""Declarations: SDE and Generator validation, generator algebra and expansion."""

import pytest
import sympy as sp

import symavg as sa

x, y, z = sp.symbols("x y z", real=True)
eps = sa.epsilon


def test_noise_gives_diffusion_sigma_sigma_T():
    m = sa.SDE([x, y], [y / eps, -y / eps**2], noise=[[1], [sp.sqrt(2) / eps]])
    assert m.diffusion == sp.Matrix([[1, sp.sqrt(2) / eps], [sp.sqrt(2) / eps, 2 / eps**2]])
    assert m.noise.shape == (2, 1)


def test_flat_noise_list_means_independent_noises():
    m = sa.SDE([x, y], [0, 0], noise=[1, 2])
    assert m.noise == sp.diag(1, 2)
    assert m.diffusion == sp.diag(1, 4)


def test_diffusion_gets_checked_square_root():
    a = sp.Matrix([[2, 1], [1, 2]])
    m = sa.SDE([x, y], [0, 0], diffusion=a)
    assert sp.simplify(m.noise * m.noise.T - a) == sp.zeros(2, 2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(state=[x, y], drift=[0]), "drift has 1 entries"),
        (dict(state=[x, y], drift=[0, 0], noise=[[1, 0]]), "expected 2 rows"),
        (dict(state=[x, y], drift=[0, 0], diffusion=[[1, 0, 0], [0, 1, 0]]), "square"),
        (dict(state=[x, y], drift=[0, 0], diffusion=[[1, x], [0, 1]]), "symmetric"),
        (dict(state=[x, x], drift=[0, 0]), "appears twice"),
        (dict(state=[x, y], drift=[0, 0], periodic={z: 1}), "not a state variable"),
        (dict(state=[x, y], drift=[0.5 * x, 0]), "floating-point"),
        (dict(state=[x, y], drift=[0, 0], noise=[1, 1], diffusion=[[1, 0], [0, 1]]), "not both"),
        (dict(state=["x"], drift=[0]), "not a SymPy Symbol"),
    ],
)
def test_bad_declarations_raise_model_error(kwargs, match):
    with pytest.raises(sa.ModelError, match=match):
        sa.SDE(**kwargs)


def test_model_error_is_value_error_and_symavg_error():
    with pytest.raises(ValueError):
        sa.SDE([x], [0, 0])
    with pytest.raises(sa.SymavgError):
        sa.SDE([x], [0, 0])


def test_sde_is_immutable():
    m = sa.SDE([x], [-x], noise=[1])
    with pytest.raises(AttributeError):
        m.drift = sp.Matrix([0])


def test_generator_apply_and_adjoint_are_dual():
    """<L f, g> = <f, L* g> for compactly supported test functions (integration by parts)."""
    L = sa.Generator([y], [-y], [[2]])
    f = sp.exp(-(y**2))
    g = sp.exp(-(y**2)) * y
    lhs = sp.integrate(L.apply(f) * g, (y, -sp.oo, sp.oo))
    rhs = sp.integrate(f * L.adjoint(g), (y, -sp.oo, sp.oo))
    assert sp.simplify(lhs - rhs) == 0


def test_expand_splits_powers_of_eps_including_half_integers():
    m = sa.SDE([x, y], [y / sp.sqrt(eps), -y / eps], noise=[[1], [sp.sqrt(2 / eps)]])
    orders = m.generator.expand(eps)
    assert set(orders) == {sp.Rational(-1), sp.Rational(-1, 2), sp.S.Zero}
    assert orders[-1].drift[1] == -y
    assert orders[sp.Rational(-1, 2)].drift[0] == y


def test_expand_handles_non_monomial_eps_dependence():
    m = sa.SDE([x, y], [x / (1 + eps), -y / eps**2], noise=[0, sp.sqrt(2) / eps])
    orders = m.generator.expand(eps)
    assert orders[0].drift[0] == x
    assert orders[1].drift[0] == -x


def test_generator_restrict_rejects_dropped_variables():
    L = sa.Generator([x, y], [0, -x * y], [[0, 0], [0, 2]])
    assert L.restrict([y]).drift[0] == -x * y
    with pytest.raises(sa.ModelError, match="differentiates in"):
        L.restrict([x])


def test_parameters_lists_free_symbols():
    k = sp.Symbol("k", positive=True)
    m = sa.SDE([x, y], [-k * x, -y / eps**2], noise=[0, sp.sqrt(2) / eps])
    assert set(m.parameters) == {k, eps}
