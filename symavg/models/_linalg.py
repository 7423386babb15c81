"""Symbolic square roots of diffusion matrices."""

from __future__ import annotations

import sympy as sp


def matrix_sqrt(a: sp.MatrixBase) -> sp.ImmutableMatrix | None:
    r"""A matrix :math:`\sigma` with :math:`\sigma\sigma^T = a`, or ``None``.

    Diagonal matrices get the entrywise square root; other matrices the
    Cholesky factor (lower triangular) when SymPy can form it. Entries are
    simplified where that is cheap. The result is checked by the caller.
    """
    a = sp.Matrix(a)
    n = a.shape[0]
    if a.is_diagonal():
        return sp.ImmutableMatrix(sp.diag(*[_sqrt(a[i, i]) for i in range(n)]))
    try:
        low = a.cholesky(hermitian=False)
    except (ValueError, ZeroDivisionError, sp.matrices.exceptions.NonSquareMatrixError):
        return None
    low = low.applyfunc(_tidy_entry)
    if any(e.has(sp.nan, sp.zoo) for e in low):
        return None
    return sp.ImmutableMatrix(low)


def _tidy_entry(e: sp.Expr) -> sp.Expr:
    """Cholesky entries: square roots of rational expressions are tidied by
    factoring what is under the root (fast); other small entries by simplify."""
    if e.count_ops() >= 60:
        return e
    from .._sympy_util import is_rational_expression

    if is_rational_expression(e, functions=True):
        return sp.factor(sp.cancel(e))
    if all(is_rational_expression(p.base, functions=True) for p in e.atoms(sp.Pow)
           if not p.exp.is_Integer):
        return sp.factor(e.replace(lambda p: isinstance(p, sp.Pow) and not p.exp.is_Integer,
                                   lambda p: sp.Pow(sp.factor(sp.cancel(p.base)), p.exp)))
    return sp.factor(sp.simplify(e))


def _sqrt(e: sp.Expr) -> sp.Expr:
    r"""A square root of a diagonal entry; a perfect square :math:`g^2` gives :math:`g`.

    Any :math:`\sigma` with :math:`\sigma^2 = a` drives the same law, so
    :math:`a = (1 + \sqrt2\,c)^2` gives :math:`\sigma = 1 + \sqrt2\,c` rather than
    :math:`\sqrt{2c^2 + 2\sqrt2\,c + 1}`. Factoring is over the algebraic numbers
    that appear in ``e`` (so that such squares are found).
    """
    if e.count_ops() >= 80:
        return sp.sqrt(e)
    algebraic = [a for a in e.atoms(sp.Pow) if a.is_number and a.is_algebraic
                 and not a.is_Rational]
    try:
        f = sp.factor(e, extension=algebraic) if algebraic else sp.factor(e)
    except (sp.PolynomialError, NotImplementedError, ValueError):
        f = sp.factor(e)
    coeff, factors = f.as_coeff_mul()
    root = sp.sqrt(coeff)
    rest = []
    for fac in factors:
        base, ex = fac.as_base_exp()
        if ex.is_Integer and ex % 2 == 0:
            root *= base ** (ex // 2)
        else:
            rest.append(fac)
    return root * sp.sqrt(sp.Mul(*rest)) if rest else sp.expand_mul(root)
