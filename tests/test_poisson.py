"""Poisson / cell equations -L0 Phi = h: each strategy, centering, and property tests."""

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symavg as sa
from symavg.derive.poisson import STRATEGIES

x, y, z = sp.symbols("x y z", real=True)


def test_registry_lists_the_documented_strategies():
    assert [n for n, _ in STRATEGIES] == ["polynomial ansatz", "fourier", "finite chain",
                                          "independent blocks", "quadrature (1-D)",
                                          "Hermite-Fourier Galerkin (transported circle, "
                                          "OU velocity)", "spectral (numeric)"]


def test_ou_hermite_eigenfunction():
    """-L0 He_n = n He_n for L0 = -y d/dy + d^2/dy^2 (Pavliotis 2014, Sec. 4.4)."""
    L0 = sa.Generator([y], [-y], [[2]])
    he3 = y**3 - 3 * y
    sol = sa.solve_poisson(L0, 3 * he3, [y])
    assert sol.strategy == "polynomial ansatz"
    assert sp.expand(sol.phi - he3) == 0


def test_polynomial_ansatz_two_dimensional_with_slow_dependence():
    g = sp.Function("g")(x)
    L0 = sa.Generator([y, z], [-g * y + z, -z], [[2, 0], [0, 2]])
    m = sa.invariant_measure(L0, [y, z])
    h = y * z + y - m.expect(y * z)
    sol = sa.solve_poisson(L0, h, [y, z], m)
    assert sp.simplify(L0.apply(sol.phi) + h) == 0
    assert all(c.passed for c in sol.checks)


def test_fourier_on_the_circle():
    c = sp.Symbol("c", positive=True)
    L0 = sa.Generator([y], [c], [[2]], {y: 2 * sp.pi})
    sol = sa.solve_poisson(L0, sp.cos(y) + sp.sin(2 * y), [y])
    assert sol.strategy == "fourier"
    assert sp.simplify(L0.apply(sol.phi) + sp.cos(y) + sp.sin(2 * y)) == 0


def test_fourier_on_a_torus():
    L0 = sa.Generator([y, z], [1, 2], [[2, 0], [0, 2]], {y: 2 * sp.pi, z: 2 * sp.pi})
    h = sp.cos(y) * sp.sin(z)
    sol = sa.solve_poisson(L0, h, [y, z])
    assert sp.simplify(L0.apply(sol.phi) + h) == 0


def test_quadrature_lifson_jackson_corrector():
    """Phi' = -1 + exp(V/D)/I0(V0/D)... for L0 = -V' d/dy + D d^2/dy^2, h = V'(y)
    (Pavliotis & Stuart 2008, Sec. 13.6.1)."""
    D, V0 = sp.symbols("D V0", positive=True)
    L0 = sa.Generator([y], [V0 * sp.sin(y)], [[2 * D]], {y: 2 * sp.pi})
    sol = sa.solve_poisson(L0, -V0 * sp.sin(y), [y])
    assert sol.strategy == "quadrature (1-D)"
    (g,) = sol.gradient
    assert sp.simplify(g - (1 - sp.exp(V0 * sp.cos(y) / D) / sp.besseli(0, V0 / D))) == 0


def test_quadrature_on_the_line_nonlinear():
    L0 = sa.Generator([y], [-(y**3)], [[2]])
    sol = sa.solve_poisson(L0, y**3, [y])  # Phi = y: -L0 y = y^3
    assert sp.simplify(sol.gradient[0] - 1) == 0


def test_centering_failure_names_the_problem():
    with pytest.raises(sa.CenteringError, match="centering condition fails"):
        sa.solve_poisson(sa.Generator([y], [-y], [[2]]), y**2, [y])
    with pytest.raises(ValueError):
        sa.solve_poisson(sa.Generator([y], [-y], [[2]]), 1 + y, [y])


@settings(max_examples=10, deadline=None)
@given(k=st.integers(1, 5), d=st.integers(1, 4),
       coeffs=st.lists(st.integers(-4, 4), min_size=4, max_size=4))
def test_property_polynomial_rhs_solution_satisfies_equation(k, d, coeffs):
    L0 = sa.Generator([y], [-k * y], [[d]])
    m = sa.invariant_measure(L0, [y])
    h = sum(c * y**i for i, c in enumerate(coeffs, start=1))
    h = h - m.expect(h)
    sol = sa.solve_poisson(L0, h, [y], m)
    assert sp.expand(L0.apply(sol.phi) + h) == 0


@settings(max_examples=6, deadline=None)
@given(b=st.integers(-3, 3), d=st.integers(1, 3), n=st.integers(1, 3))
def test_property_fourier_solution_satisfies_equation(b, d, n):
    L0 = sa.Generator([y], [b], [[d]], {y: 2 * sp.pi})
    h = sp.cos(n * y) - sp.sin(y)
    sol = sa.solve_poisson(L0, h, [y])
    assert sp.simplify(L0.apply(sol.phi) + h) == 0


# An input outside each strategy's family, which it must decline (return None).
def _decline_inputs():
    ou = sa.Generator([y], [-y], [[2]])
    circle = sa.Generator([y], [0], [[2]], {y: 2 * sp.pi})
    two = sa.Generator([y, z], [-y, -z], 2 * sp.eye(2))
    return {
        "polynomial ansatz": (ou, sp.sin(y), (y,)),             # right-hand side not polynomial
        "fourier": (ou, y, (y,)),                               # not on a torus
        "quadrature (1-D)": (two, y * z, (y, z)),               # two fast variables
        "fourier (variable coefficients)": (
            sa.Generator([y], [sp.sin(y)], [[2]], {y: 2 * sp.pi}), sp.cos(y), (y,)),
        "polynomial ansatz (periodic)": (circle, sp.cos(y), (y,)),
        "finite chain": (ou, y, (y,)),                          # no jump part
        "independent blocks": (two, y * z, (y, z)),             # cross-block product
        "spectral (numeric)": (circle, sp.cos(y), (y,)),        # no numeric context
        "Hermite-Fourier Galerkin": (                            # a mean: not centred modes
            sa.Generator([y, z], [z, -z], sp.diag(0, 2), {y: 2 * sp.pi}), 1 + sp.cos(y),
            (y, z)),
        "Hermite-Fourier Galerkin (symbolic rate)": (
            sa.Generator([y, z], [z, -sp.Symbol("g", positive=True) * z], sp.diag(0, 2),
                         {y: 2 * sp.pi}), sp.cos(y), (y, z)),
    }


@pytest.mark.parametrize("name, fn", STRATEGIES, ids=[n for n, _ in STRATEGIES])
def test_every_strategy_declines_an_input_outside_its_family(name, fn):
    cases = {k: v for k, v in _decline_inputs().items() if k.split(" (")[0] == name.split(" (")[0]}
    assert cases
    for key, (G, rhs, fast) in cases.items():
        measure = sa.invariant_measure(G, fast) if key == "independent blocks" else None
        assert fn(G, rhs, fast, measure) is None


@pytest.mark.parametrize("name, fn", STRATEGIES, ids=[n for n, _ in STRATEGIES])
def test_every_strategy_declines_generator_parts_it_does_not_handle(name, fn):
    chain = sa.MarkovChain([[-1, 1], [2, -2]]).generator
    ou = sa.Generator([y], [-y], [[2]])
    assert fn.handles
    for G, rhs, fast in ((chain, sp.Matrix([2, -1]), (chain.mode_symbol,)), (ou, y, (y,))):
        if not G.kinds() <= fn.handles:
            assert fn(G, rhs, fast, None) is None
