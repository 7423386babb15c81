"""The Smoluchowski-Kramers limit: construction, result, derivation record, errors.

Reference for the expected values: S. Hottovy, A. McDaniel, G. Volpe, J. Wehr,
Commun. Math. Phys. 336 (2015) 1259-1283, Theorem 1; the literature comparisons
(1-D and matrix friction) are in tests/test_applications.py.
"""

import pytest
import sympy as sp

import symavg as sa
from symavg.derive.kramers import hottovy_limit, lyapunov_solve, small_mass_model

x, x1, x2 = sp.symbols("x x1 x2", real=True)
eps = sa.epsilon
g0, s0, k = sp.symbols("gamma0 s0 k", positive=True)


def test_small_mass_model_has_the_homogenization_structure():
    """m = eps^2, v = u/eps: L = eps^-2 L0 + eps^-1 L1 with L0 the OU generator in u."""
    model, xs, us = small_mass_model([x], [-k * x], g0, s0)
    (u,) = us
    assert xs == (x,) and model.state == (x, u)
    assert list(model.drift) == [u / eps, -k * x / eps - g0 * u / eps**2]
    assert model.noise[1, 0] == s0 / eps and model.noise[0, 0] == 0
    orders = model.generator.expand(eps)
    assert sorted(orders) == [-2, -1]
    assert orders[-2].acts_on() == (u,)


def test_constant_friction_is_stokes_law():
    """Constant gamma: dx = F/gamma dt + sigma/gamma dW, no noise-induced drift
    (Pavliotis & Stuart 2008, Sec. 11.7, Stokes' law)."""
    red = sa.smoluchowski_kramers(x, -k * x, g0, s0)
    assert red.drift[0] == -k * x / g0
    assert red.diffusion[0, 0] == s0**2 / g0**2
    assert red.regime == "homogenization" and red.state == (x,)


def test_derivation_names_the_construction_and_checks_the_formula():
    red = sa.smoluchowski_kramers([x], [0], 1 + x**2, s0)
    names = [s.name for s in red.steps]
    assert names[0] == "small-mass model" and names[-1] == "Hottovy et al. formula"
    assert "invariant measure" in names and "cell problem" in names
    assert red.steps.passed
    last = red.steps[-1]
    assert [c.name for c in last.checks] == ["engine drift = gamma^-1 F + S",
                                             "engine diffusion = gamma^-1 sigma sigma^T gamma^-T"]
    assert "Smoluchowski-Kramers" in red.steps.title
    assert "small-mass model" in red.steps.to_markdown()


def test_scalar_friction_and_noise_in_two_dimensions_mean_multiples_of_identity():
    red = sa.smoluchowski_kramers([x1, x2], [-x1, -x2], g0, s0, velocity=sp.symbols("p q"))
    assert list(red.drift) == [-x1 / g0, -x2 / g0]
    assert red.diffusion == sp.ImmutableMatrix(sp.eye(2) * s0**2 / g0**2)
    assert red.fast == sp.symbols("p q")


def test_lyapunov_solve_and_formula_helpers():
    G = sp.Matrix([[2, 1], [0, 3]])
    a = sp.Matrix([[1, 0], [0, 2]])
    J = lyapunov_solve(G, a)
    assert G * J + J * G.T == a and J == J.T
    sigma = sp.Matrix([[1, 0], [0, sp.sqrt(2)]])
    drift, diff, J2 = hottovy_limit([x1, x2], sp.Matrix([1, 0]), G, sigma)
    assert J2 == J
    assert diff == G.inv() * a * G.inv().T
    assert drift == G.inv() * sp.Matrix([1, 0])


# ------------------------------------------------------------------ failing inputs
@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([x1, x2], [1], g0, s0), {}, "F has 1 entries for 2 positions"),
        (([x1, x2], [0, 0], sp.Matrix([[1, 0, 0]]), s0), {}, "gamma must be a scalar or"),
        (([x1, x2], [0, 0], g0, sp.Matrix([[1, 0]])), {}, "one row per position"),
        (([x1, x2], [0, 0], g0, [1, 2, 3]), {}, "needs 2 entries"),
        (([x], [eps * x], g0, s0), {}, "contains the scale parameter"),
        (([x], [k * x], g0, s0), {"velocity": k}, "already appear"),
        (([x], [0], g0, s0), {"velocity": x}, "already appear"),
        (([x1, x2], [0, 0], sp.Matrix([[1, 1], [1, 1]]), s0), {}, "singular"),
        (([x], [0], g0, 0), {}, "sigma is zero"),
        (([x, x], [0, 0], g0, s0), {}, "appears twice"),
        (([sp.Integer(1)], [0], g0, s0), {}, "not a SymPy Symbol"),
    ],
)
def test_failing_inputs_are_model_errors(args, kwargs, match):
    with pytest.raises(sa.ModelError, match=match):
        sa.smoluchowski_kramers(*args, **kwargs)


def test_negative_friction_has_no_invariant_velocity_law():
    """gamma < 0: the velocity is not mean-reverting; the engine names the problem."""
    with pytest.raises(sa.NoInvariantMeasureError, match="not mean-reverting"):
        sa.smoluchowski_kramers([x], [0], -g0, s0)
