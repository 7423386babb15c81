"""Code generation: straight-line source from SymPy, hoisting, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import symavg as sa
from symavg.numeric.codegen import have_numba, hoist_parameter_functions, lambdify_model
from symavg.numeric.plan import substitute_functions

x, y = sp.symbols("x y", real=True)
k, D, V0 = sp.symbols("k D V0", positive=True)
eps = sa.epsilon


def test_numpy_and_numba_agree_with_sympy() -> None:
    m = sa.SDE([x, y], [-k * x + sp.sin(y) / eps, -y / eps**2],
               noise=[[1, 0], [sp.exp(-x**2), sp.sqrt(2) / eps]])
    z = np.array([[0.3, -1.2], [0.7, 2.0]])
    vals = {k: 1.5, eps: 0.2}
    exact_b = [float(e.subs({x: z[0, j], y: z[1, j], **vals})) for e in m.drift
               for j in range(2)]
    f = lambdify_model(m)
    assert np.allclose(f.drift(z, vals).ravel(), exact_b)
    s = f.noise(z, vals)
    assert s.shape == (2, 2, 2)
    assert np.allclose(f.diffusion(z, vals)[1, 1],
                       [float(m.diffusion[1, 1].subs({x: z[0, j], **vals})) for j in range(2)])
    if have_numba():
        g = lambdify_model(m, backend="numba")
        assert np.allclose(g.drift(z[:, 0], vals), f.drift(z[:, 0], vals))


@pytest.mark.slow
def test_large_expression_compiles_without_recursion() -> None:
    """A drift of a few thousand operations (numba.njit(sympy.lambdify(...)) can hit
    RecursionError on deeply nested ones): the cse straight-line kernel compiles and is
    exact. Marked slow: numba takes ~15 s to compile it the first time."""
    big = sum(sp.sin(j * x) * y**2 / (j + x**2) + sp.cos(j * y) * sp.exp(-x / j)
              + x ** (j % 5) * y / j for j in range(1, 200))
    assert sp.count_ops(big) > 2500
    m = sa.SDE([x, y], [big, -y], noise=[1, 1])
    z = np.array([0.37, -0.81])
    exact = float(big.subs({x: z[0], y: z[1]}))
    backend = "numba" if have_numba() else "numpy"
    f = lambdify_model(m, backend=backend)
    assert math.isclose(f.drift(z)[0], exact, rel_tol=1e-11)
    ens = sa.simulate(m, {x: 0.37, y: -0.81}, 0.01, paths=64, dt=1e-3, seed=0,
                      backend=backend)
    assert np.isfinite(ens.values).all()


def test_parameter_only_special_functions_are_hoisted() -> None:
    expr = 2 * D / sp.besseli(0, V0 / D) ** 2 * x
    (new,), derived = hoist_parameter_functions([expr], [x])
    assert len(derived) == 1 and not new.has(sp.besseli)
    red_like = sa.SDE([x], [expr], noise=[1])
    f = lambdify_model(red_like)
    from scipy.special import iv

    assert math.isclose(f.drift([1.0], {D: 1.0, V0: 2.0})[0], 2 / iv(0, 2.0) ** 2,
                        rel_tol=1e-13)


def test_unevaluated_integral_of_parameters_is_evaluated_by_quadrature() -> None:
    s = sp.Symbol("s", real=True)
    I = sp.Integral(sp.exp(V0 * sp.cos(s)), (s, 0, 2 * sp.pi))
    m = sa.SDE([x], [-x / I], noise=[1])
    f = lambdify_model(m)
    from scipy.special import iv

    assert math.isclose(f.drift([1.0], {V0: 1.3})[0], -1 / (2 * math.pi * iv(0, 1.3)),
                        rel_tol=1e-12)


def test_functions_substitution_evaluates_derivatives() -> None:
    c = sp.Function("c")
    e = c(x) * sp.Derivative(c(x), x)
    assert substitute_functions(e, {c: sp.Lambda(x, x**2)}) == 2 * x**3
    assert substitute_functions(e, {"c": lambda t: sp.sin(t)}) == sp.sin(x) * sp.cos(x)


def test_undefined_function_without_definition_is_a_clear_error() -> None:
    c = sp.Function("c")
    m = sa.SDE([x], [c(x)], noise=[1])
    with pytest.raises(sa.SimulationError, match=r"undefined function\(s\) \['c'\].*functions="):
        lambdify_model(m)


def test_missing_parameter_is_named() -> None:
    f = lambdify_model(sa.SDE([x], [-k * x], noise=[1]))
    with pytest.raises(sa.SimulationError, match="missing parameter values.*k"):
        f.drift([1.0])
    assert lambdify_model(sa.SDE([x], [-k * x], noise=[1]), params={k: 2.0}).drift([1.0])[0] \
        == -2.0


def test_special_function_of_the_state_is_a_clear_error() -> None:
    m = sa.SDE([x], [sp.besseli(0, x)], noise=[1])
    with pytest.raises(sa.SimulationError, match="applies besseli to a state variable"):
        sa.simulate(m, {x: 0.1}, 0.1, paths=5, backend="numpy")
    with pytest.raises(sa.SimulationError, match="besseli"):
        lambdify_model(m)
