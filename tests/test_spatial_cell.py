"""Periodic cell problems: closed forms and the FFT route, against literature values."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from symavg.errors import ModelError, SymavgError, UnsolvedError
from symavg.spatial import CellProblem

y = sp.Symbol("y", real=True)
y1, y2, y3 = sp.symbols("y1 y2 y3", real=True)
a, b = sp.symbols("a b", positive=True)


def test_one_dimensional_harmonic_mean():
    """1-D homogenization gives the harmonic mean <A^-1>^-1 (Bensoussan, Lions &
    Papanicolaou 1978, ch. 1 sec. 2; Pavliotis & Stuart 2008, Sec. 12.6.1).
    For A = 2 + cos y: <1/(2 + cos y)> = 1/sqrt(3), so A* = sqrt(3)."""
    res = CellProblem(2 + sp.cos(y), {y: 2 * sp.pi}).effective_tensor()
    assert res.method == "closed form"
    assert sp.simplify(res.tensor[0, 0] - sp.sqrt(3)) == 0
    assert res.steps.passed
    names = [c.name for c in res.steps.checks]
    assert "-div(A(e_1 + grad chi_1)) = 0" in names
    # corrector chi' = A*/A - 1 is recorded
    dchi = res.steps.find("corrector")[0].expressions[0][1]
    assert sp.simplify(dchi - (sp.sqrt(3) / (2 + sp.cos(y)) - 1)) == 0


def test_one_dimensional_reciprocal_field_exact_rule():
    """A = 1/(2 + sin(2 pi y)) on [0,1): <1/A> = 2, A* = 1/2 (harmonic mean)."""
    res = CellProblem(1 / (2 + sp.sin(2 * sp.pi * y)), [(y, 1)]).effective_tensor()
    assert res.tensor[0, 0] == sp.Rational(1, 2)


def test_residue_rule_where_integrate_is_wrong():
    """<1/(a + b sin y)> = 1/sqrt(a^2 - b^2) for a > |b| (Gradshteyn & Ryzhik 3.661.4),
    so A* = sqrt(a^2 - b^2). SymPy's integrate returns a wrong value for this period
    integral; the residue rule gets it and the quadrature spot check confirms it."""
    res = CellProblem(a + b * sp.sin(y), {y: 2 * sp.pi}).effective_tensor()
    assert sp.simplify(res.tensor[0, 0] - sp.sqrt(a**2 - b**2)) == 0
    assert any("residues" in c.detail for c in res.steps.checks)
    assert res.numeric({a: 2.0, b: 1.0})[0, 0] == pytest.approx(np.sqrt(3.0), rel=1e-12)


def test_semi_analytic_fallback_evaluates_by_quadrature():
    """No closed form for <1/(2 + cos(sin y))>: kept as an Integral, then evaluated."""
    res = CellProblem(2 + sp.cos(sp.sin(y)), {y: 2 * sp.pi}).effective_tensor(budget=1.0)
    assert res.method == "semi-analytic"
    yy = (np.arange(4096) + 0.5) * 2 * np.pi / 4096
    expected = 1 / np.mean(1 / (2 + np.cos(np.sin(yy))))  # periodic trapezoid
    assert res.numeric()[0, 0] == pytest.approx(expected, rel=1e-12)


def test_laminate_full_formula():
    """Lamination formula (Bensoussan, Lions & Papanicolaou 1978, ch. 1 sec. 3.2;
    Pavliotis & Stuart 2008, Sec. 12.6.2 / Exercise 12.5 on layered materials):
    A*_11 = <1/A11>^-1, A*_12 = A*_11 <A12/A11>,
    A*_22 = <A22 - A12^2/A11> + <A12/A11>^2 A*_11.
    With A11 = 2 + sin, A12 = cos/2, A22 = 3 these are sqrt(3), 0 and
    3 - (2 - sqrt(3))/4 (hand computation: cos^2/(2+sin) = 2 - sin - 3/(2+sin))."""
    A = sp.Matrix([[2 + sp.sin(y1), sp.cos(y1) / 2], [sp.cos(y1) / 2, 3]])
    res = CellProblem(A, {y1: 2 * sp.pi, y2: 1}).effective_tensor()
    expected = sp.Matrix([[sp.sqrt(3), 0], [0, 3 - (2 - sp.sqrt(3)) / 4]])
    assert sp.simplify(res.tensor - expected) == sp.zeros(2, 2)
    assert res.steps.passed


def test_laminate_off_diagonal_entries_match_numeric_solve():
    """A laminate with non-zero off-diagonal effective entries: the closed form
    agrees with the Fourier-Galerkin solve to solver accuracy."""
    A = sp.Matrix([[2 + sp.cos(y2), sp.Rational(1, 2) + sp.sin(y2) / 4, 0],
                   [sp.Rational(1, 2) + sp.sin(y2) / 4, 3 + sp.cos(y2), 0],
                   [0, 0, 1]])
    cp = CellProblem(A, {y1: 1, y2: 2 * sp.pi, y3: 1})
    closed = cp.effective_tensor()
    assert closed.steps.passed
    T = closed.numeric()
    assert abs(T[0, 1]) > 0.1
    num = cp.effective_tensor(numeric=True, n=16)
    assert np.allclose(num.tensor, T, atol=1e-8)


def test_separable_diagonal_closed_form():
    """A = diag(A11(y1), A22(y2), A33(y3)): each load case reduces to the 1-D problem in
    its own variable, so A*_ii = <1/A_ii>^-1 (harmonic mean; Bensoussan, Lions &
    Papanicolaou 1978, ch. 1 sec. 2, applied direction by direction; the correctors are
    substituted back in the derivation). With <1/(2 + sin)> = 1/sqrt(3),
    <1/(3 + cos)> = 1/sqrt(8) (Gradshteyn & Ryzhik 3.661.4) and <2 + sin> = 2:
    A* = diag(sqrt(3), 2 sqrt(2), 1/2)."""
    A = sp.diag(2 + sp.sin(y1), 3 + sp.cos(y2), 1 / (2 + sp.sin(y3)))
    cp = CellProblem(A, {y1: 2 * sp.pi, y2: 2 * sp.pi, y3: 2 * sp.pi})
    res = cp.effective_tensor()
    assert res.method == "closed form"
    assert res.tensor == sp.ImmutableMatrix(sp.diag(sp.sqrt(3), 2 * sp.sqrt(2), sp.Rational(1, 2)))
    assert res.steps.passed
    assert "separable diagonal" in res.steps.find("corrector")[0].strategy
    assert any(c.name == "closed form vs spectral solve" and c.passed for c in res.steps.checks)
    # independent: the FFT route on the same field
    num = cp.effective_tensor(numeric=True, n=16)
    assert np.allclose(num.tensor, res.numeric(), atol=1e-10)
    # with a parameter: A*_11 = sqrt(a^2 - 1)
    res2 = CellProblem(sp.diag(a + sp.cos(y1), 2), {y1: 2 * sp.pi, y2: 1}).effective_tensor()
    assert sp.simplify(res2.tensor[0, 0] - sp.sqrt(a**2 - 1)) == 0


def test_non_separable_fields_go_numeric():
    """A diagonal entry depending on the other coordinate is not separable: no closed
    form, and without parameter values the error says which values are needed."""
    A = sp.diag(a + sp.sin(y2), 2 + sp.cos(y2) * sp.cos(y1))
    with pytest.raises(UnsolvedError, match=r"not diagonal with each A_ii.*values for \[a\]"):
        CellProblem(A, {y1: 2 * sp.pi, y2: 2 * sp.pi}).effective_tensor()


def test_constant_coefficients():
    A = sp.Matrix([[a, 1], [1, 2]])
    res = CellProblem(A, {y1: 1, y2: 1}).effective_tensor()
    assert res.tensor == sp.ImmutableMatrix(A)


def _checkerboard():
    return sp.Piecewise((a, (y1 - sp.Rational(1, 2)) * (y2 - sp.Rational(1, 2)) > 0), (b, True))


def test_periodic_checkerboard_fft_sqrt_ab():
    """Periodic two-phase checkerboard: A* = sqrt(a b) I exactly (Keller, J. Math.
    Phys. 5 (1964) 548; Dykhne, Sov. Phys. JETP 32 (1971) 63). The FFT route
    converges slowly because of the corner singularities; at n = 64 it is within
    1e-2 (measured: 7.9e-3 for contrast 10, 1.3e-4 for contrast 4)."""
    cp = CellProblem(_checkerboard(), {y1: 1, y2: 1})
    with pytest.raises(UnsolvedError, match="params"):
        cp.effective_tensor()
    res = cp.effective_tensor({a: 1.0, b: 10.0}, n=64)
    assert res.method == "numeric"
    assert np.allclose(res.tensor, np.sqrt(10.0) * np.eye(2), atol=1e-2)
    assert len(res.convergence) == 3
    changes = [row[2] for row in res.convergence[1:]]
    assert changes[-1] < changes[0]  # converging
    assert "n" in res.convergence_table()
    assert res.steps.passed


def test_checkerboard_fv_scheme_converges_from_below():
    cp = CellProblem(_checkerboard(), {y1: 1, y2: 1})
    res = cp.effective_tensor({a: 1.0, b: 4.0}, n=128, scheme="fv")
    assert res.tensor[0, 0] < 2.0
    assert res.tensor[0, 0] == pytest.approx(2.0, abs=1e-2)


def test_numeric_smooth_field_symmetric_and_bounded():
    A = sp.Matrix([[2 + sp.sin(y1) * sp.cos(y2), sp.sin(y1 + y2) / 2],
                   [sp.sin(y1 + y2) / 2, 2 + sp.cos(y1)]])
    res = CellProblem(A, {y1: 2 * sp.pi, y2: 2 * sp.pi}).effective_tensor(n=32)
    T = res.tensor
    assert np.allclose(T, T.T)
    # spectral accuracy for a smooth field
    assert res.convergence[-1][2] < 1e-7
    assert all(c.passed for c in res.steps.checks)


def test_numeric_3d():
    A = 2 + sp.sin(y1) * sp.sin(y2) * sp.sin(y3)
    res = CellProblem(A, {y1: 2 * sp.pi, y2: 2 * sp.pi, y3: 2 * sp.pi}).effective_tensor(n=16)
    T = res.tensor
    assert np.allclose(T, T[0, 0] * np.eye(3), atol=1e-10)
    assert 1 / np.mean(1 / (2 + 0.0)) > T[0, 0] > 1.0


def test_not_positive_definite_names_the_point():
    """Bad input: A not positive definite. The error (a SymavgError and a ValueError)
    names the point, the smallest eigenvalue and what to change."""
    with pytest.raises(ModelError, match=r"not positive definite at y=.*uniformly positive "
                                         r"definite") as info:
        CellProblem(sp.sin(y), {y: 2 * sp.pi})
    assert isinstance(info.value, SymavgError) and isinstance(info.value, ValueError)
    cp = CellProblem(a + sp.sin(y1) * sp.sin(y2), {y1: 2 * sp.pi, y2: 2 * sp.pi})
    with pytest.raises(ModelError, match=r"not positive definite at y1=.*choose parameter"):
        cp.effective_tensor({a: 0.5})
    # a symmetric matrix field with a negative eigenvalue near y1 = 0 (2 - 3 = -1 there)
    off = sp.Rational(3, 2) * (1 + sp.cos(y1))
    M = sp.Matrix([[2, off], [off, 2]])
    with pytest.raises(ModelError, match=r"not positive definite at y1=.*smallest eigenvalue"):
        CellProblem(M, {y1: 2 * sp.pi, y2: 1})
    # a laminate with a parameter: the closed form is symbolic, the numeric value at a
    # non-admissible point is refused by the numeric route
    lam = CellProblem(a + sp.cos(y1), {y1: 2 * sp.pi, y2: 1})
    with pytest.raises(ModelError, match="not positive definite"):
        lam.effective_tensor({a: 0.5}, numeric=True)


@pytest.mark.parametrize("cell", [[y1, y2], {y1, y2}, "unit square", [(y1, -1)],
                                  {y1: 1, y2: 1, y3: 1, y: 1}, [(y1, 1), (y1, 2)]])
def test_non_box_cell_rejected(cell):
    """Bad input: a cell that is not a box. The message says how to declare one."""
    with pytest.raises(ModelError, match="box|period|directions|repeats") as info:
        CellProblem(1 + y1**0, cell)
    assert "{y1: L1, y2: L2}" in str(info.value)


def test_bad_matrices_rejected():
    with pytest.raises(ModelError, match="not symmetric"):
        CellProblem(sp.Matrix([[2, 1], [0, 2]]), {y1: 1, y2: 1})
    with pytest.raises(ModelError, match="shape"):
        CellProblem(sp.eye(3), {y1: 1, y2: 1})
    with pytest.raises(ModelError, match="not parameters"):
        CellProblem(a + sp.cos(y1) * sp.cos(y2), {y1: 1, y2: 1}).effective_tensor({b: 1.0})


def test_immutable():
    cp = CellProblem(2 + sp.cos(y), {y: 2 * sp.pi})
    with pytest.raises(AttributeError):
        cp.A = sp.Matrix([[1]])


def test_residue_harmonic_mean_records_where_it_holds():
    """A(y) = C + cos(2 pi y) on the unit cell: A* = <1/A>^{-1} = sqrt(C^2 - 1) (the
    harmonic mean; Gradshteyn & Ryzhik 3.613.2 for int_0^{2pi} dt/(a + b cos t) =
    2 pi/sqrt(a^2 - b^2), a > |b|). The residue value holds only where A has no zero in
    the cell, C > 1: the tensor records it, shows it in a "validity" step, and numeric()
    refuses C = 0.5, where A changes sign and no effective tensor exists."""
    C = sp.Symbol("C", positive=True)
    res = CellProblem(C + sp.cos(2 * sp.pi * y), {y: 1}).effective_tensor()
    assert sp.simplify(res.tensor[0, 0] - sp.sqrt(C**2 - 1)) == 0
    assert res.validity == (C > 1,)
    assert res.steps.find("validity")
    assert abs(res.numeric({C: 2.0})[0, 0] - np.sqrt(3.0)) < 1e-12
    with pytest.raises(ModelError, match="C > 1"):
        res.numeric({C: 0.5})
    # a numeric contrast needs no condition
    assert CellProblem(2 + sp.cos(y), {y: 2 * sp.pi}).effective_tensor().validity == ()


def test_closed_form_comparison_stops_at_a_converged_spectral_grid():
    """The closed form vs spectral check solves on n = 16, 32, 64 and stops where two grids
    agree to 1e-8: A = diag(2 + sin y1, 3 + cos y2) (A*_11 = sqrt(3), A*_22 = 2 sqrt(2),
    Gradshteyn & Ryzhik 3.661.4) is converged at n = 32; a + cos y1 with a = 1.02 (A*_11 =
    sqrt(a^2 - 1), nearly singular) is not, and is compared on the finest grid, n = 64."""
    cp = CellProblem(sp.diag(2 + sp.sin(y1), 3 + sp.cos(y2)), {y1: 2 * sp.pi, y2: 2 * sp.pi})
    res = cp.effective_tensor()
    assert res.tensor == sp.ImmutableMatrix(sp.diag(sp.sqrt(3), 2 * sp.sqrt(2)))
    (chk,) = [c for c in res.steps.checks if c.name == "closed form vs spectral solve"]
    assert chk.passed and "grid n = 32 (n = 16 agrees" in chk.detail
    res = CellProblem(sp.diag(a + sp.cos(y1), 2), {y1: 2 * sp.pi, y2: 1}).effective_tensor(
        params={a: 1.02})
    assert float(res.tensor[0, 0]) == pytest.approx(np.sqrt(1.02**2 - 1), rel=1e-12)
    (chk,) = [c for c in res.steps.checks if c.name == "closed form vs spectral solve"]
    assert chk.passed and chk.detail.endswith("spectral grid n = 64")
