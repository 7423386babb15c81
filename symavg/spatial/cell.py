r"""Periodic cell problems and their effective tensors.

For a symmetric, uniformly positive definite, ``Y``-periodic coefficient
field :math:`A(y)` on the box :math:`Y=\prod_j[0,L_j)`, the operator
:math:`-\nabla\cdot A(x/\varepsilon)\nabla` homogenizes to
:math:`-\nabla\cdot A^*\nabla` with (Bensoussan, Lions & Papanicolaou 1978,
ch. 1; Pavliotis & Stuart 2008, ch. 12)

.. math::

    -\nabla_y\cdot\big(A(y)(e_k + \nabla_y\chi_k)\big) = 0,\quad
    \chi_k \text{ periodic},\qquad
    A^*_{ik} = \big\langle (A(e_k + \nabla_y\chi_k))_i \big\rangle .

Closed forms (each substituted back into the cell equation, the substitution
recorded as a :class:`~symavg.report.derivation.Check`):

* constant ``A``: :math:`A^* = A`;
* one dimension: :math:`A^* = \langle A^{-1}\rangle^{-1}` (harmonic mean),
  :math:`\chi' = A^*/A - 1`;
* laminates, ``A`` a function of one coordinate :math:`y_k` only: the flux
  component :math:`(A(e_j+\chi_j' e_k))_k` is constant, which gives
  :math:`\chi_j' = (c_j - A_{kj})/A_{kk}` with
  :math:`c_j = A^*_{kk}\langle A_{kj}/A_{kk}\rangle`, and

  .. math::

      A^*_{kk} = \langle A_{kk}^{-1}\rangle^{-1},\quad
      A^*_{kj} = A^*_{kk}\Big\langle \frac{A_{kj}}{A_{kk}}\Big\rangle,\quad
      A^*_{ij} = \Big\langle A_{ij} - \frac{A_{ik}A_{kj}}{A_{kk}}\Big\rangle
               + \Big\langle\frac{A_{ik}}{A_{kk}}\Big\rangle
                 \Big\langle\frac{A_{kj}}{A_{kk}}\Big\rangle A^*_{kk}

  (:math:`i, j \ne k`);
* separable diagonal fields, :math:`A = \operatorname{diag}(A_{11}(y_1), \dots,
  A_{dd}(y_d))`: each load case is one-dimensional, :math:`\chi_i = \chi_i(y_i)`,
  and :math:`A^*_{ii} = \langle A_{ii}^{-1}\rangle^{-1}` (the flux
  :math:`A^*_{ii}e_i` is constant, so divergence-free; checked by substitution).

Period averages go through exact Fourier rules, then ``sympy.integrate``
inside a work limit; every closed-form average is spot-checked against
adaptive quadrature at admissible parameter values (where ``A`` is positive
definite), and a failed or missing one is kept as an unevaluated
:class:`sympy.Integral` (semi-analytic answer, evaluated by quadrature).

Otherwise the cell problem is solved numerically at given parameter values
by the FFT-preconditioned conjugate-gradient method of
:mod:`symavg.spatial.fft_solver` (or the finite-volume scheme of
:mod:`symavg.spatial.fv`) on a sequence of grids, and the result is checked
to be symmetric, positive definite and between the Reuss and Voigt bounds.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.integrate as si
import sympy as sp

from .. import _sympy_util
from .._sympy_util import with_budget, zero_check
from ..errors import CheckFailedError, ModelError, UnsolvedError
from ..report.averages import grid_average_record, period_average_record
from ..report.calls import given, keyword_arguments, recorded
from ..report.derivation import Average, Check, Derivation, Step
from .bounds import is_between, voigt_reuss
from .fft_solver import spectral_effective_tensor
from .fv import FVProblem

#: work (millions of Python calls) given to ``sympy.integrate`` for one period average
INTEGRATE_BUDGET = 3.0


def _with_validity(res: EffectiveTensor, found: list) -> EffectiveTensor:
    """``res`` with the recorded conditions SymPy does not prove (as intervals on one
    parameter where they are), shown in a "validity" step."""
    from ..derive.validity import keep_undecided

    conds = keep_undecided(found, "the effective tensor")
    if not conds:
        return res
    step = Step("validity", "The closed form holds where no pole of a period average "
                "crosses the unit circle (the coefficient does not vanish in the cell):",
                tuple((f"c_{{{k + 1}}}", c) for k, c in enumerate(conds)),
                (Check("validity conditions recorded", True, "symbolic",
                       "; ".join(map(str, conds))),), "validity")
    return replace(res, steps=res.steps.then(step), validity=conds)


#: relative agreement of two spectral grids at which the closed-form comparison stops
#: (100x below its tolerance 1e-6)
COMPARE_CONVERGED = 1e-8


# ----------------------------------------------------------------- result
@dataclass(frozen=True)
class EffectiveTensor:
    """The effective tensor of a cell problem and how it was obtained.

    Attributes
    ----------
    tensor : sympy.Matrix or numpy.ndarray
        SymPy ``Matrix`` for a closed-form (or semi-analytic) answer, a NumPy
        array for a numeric one.
    steps : Derivation
        The derivation, with every check done.
    method : str
        ``"closed form"``, ``"semi-analytic"`` (contains unevaluated
        integrals) or ``"numeric"``.
    convergence : tuple of (n, tensor, change)
        Numeric route only: the tensor on each grid and the largest entry
        change from the previous grid.
    params : dict
        The parameter values used (numeric route), or ``{}``.
    validity : tuple of Relational
        Where a closed form holds, as relations on the parameters (e.g. ``C > 1`` for a
        period average by residues of ``1/(C + cos 2 pi y)``: no pole on the unit
        circle); checked by :meth:`numeric`.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> y = sp.Symbol("y", real=True)
    >>> res = sa.CellProblem(2 + sp.cos(y), {y: 2 * sp.pi}).effective_tensor()
    >>> res.tensor, res.method, res.steps.passed
    (Matrix([[sqrt(3)]]), 'closed form', True)
    """

    tensor: Any
    steps: Derivation
    method: str
    convergence: tuple[tuple[int, np.ndarray, float], ...] = ()
    params: Mapping[sp.Symbol, float] = field(default_factory=dict)
    validity: tuple[sp.Basic, ...] = ()

    def numeric(self, params: Mapping[sp.Symbol, float] | None = None) -> np.ndarray:
        """The tensor as a float array, evaluating any integrals by quadrature; a
        :class:`~symavg.errors.ModelError` when ``params`` violate :attr:`validity`."""
        if isinstance(self.tensor, np.ndarray):
            return self.tensor
        for rel in self.validity:
            if sp.sympify(rel).subs(dict(params or {})) == sp.false:
                raise ModelError(
                    f"the effective tensor holds only where {rel}, and the parameter values "
                    f"{dict(params or {})} violate it (e.g. the coefficient vanishes "
                    "somewhere in the cell): choose values inside the validity region "
                    "(EffectiveTensor.validity)")
        M = sp.Matrix(self.tensor).subs(dict(params or {}))
        out = np.empty(M.shape)
        for i in range(M.rows):
            for j in range(M.cols):
                out[i, j] = _eval_float(M[i, j])
        return out

    def _repr_markdown_(self) -> str:
        from ..report.display import tensor_markdown

        return tensor_markdown(self)

    def convergence_table(self) -> str:
        """The grid-convergence table as text."""
        if not self.convergence:
            return "(closed form: no discretisation)"
        lines = [f"{'n':>6}  {'A*_11':>14}  {'max |change|':>12}"]
        for n, T, ch in self.convergence:
            chs = "" if not np.isfinite(ch) else f"{ch:.3e}"
            lines.append(f"{n:>6}  {T[0, 0]:>14.10f}  {chs:>12}")
        return "\n".join(lines)


def _eval_float(e: sp.Expr) -> float:
    """Evaluate ``e`` to a float; integrals by adaptive quadrature."""
    def quad(integral: sp.Integral) -> sp.Float:
        f = integral.function
        (y, lo, hi), = integral.limits
        fn = sp.lambdify(y, f, "numpy")
        val, _ = si.quad(lambda t: float(fn(t)), float(lo), float(hi), limit=400,
                         epsabs=1e-13, epsrel=1e-12)
        return sp.Float(val)
    e = e.replace(lambda z: isinstance(z, sp.Integral), quad)
    return float(sp.N(e))


# ----------------------------------------------------------------- declaration
def _parse_cell(cell: Any) -> tuple[tuple[sp.Symbol, sp.Expr], ...]:
    hint = ("declare the periodicity cell as a box: a dict {y1: L1, y2: L2} or a list "
            "[(y1, L1), (y2, L2)] of distinct symbols and positive lengths")
    if isinstance(cell, Mapping):
        items = list(cell.items())
    elif isinstance(cell, list | tuple) and all(isinstance(p, tuple | list) and len(p) == 2
                                                 for p in cell):
        items = [tuple(p) for p in cell]
    else:
        raise ModelError(f"cell {cell!r} is not a box; {hint}.")
    if not 1 <= len(items) <= 3:
        raise ModelError(f"cell {cell!r} has {len(items)} directions; only 1, 2 or 3 "
                         f"are supported. {hint}.")
    out = []
    for y, L in items:
        if not isinstance(y, sp.Symbol):
            raise ModelError(f"cell variable {y!r} is not a SymPy Symbol; {hint}.")
        if isinstance(L, tuple | list | sp.Tuple | str):
            raise ModelError(
                f"the period of {y} is {L!r}: give the length of the cell in {y}, not an "
                f"interval or a string (the cell is [0, L)): e.g. cell={{{y}: 1}} for "
                f"{y} in [0, 1). {hint}."
            )
        try:
            L = sp.sympify(L)
        except (sp.SympifyError, TypeError):
            raise ModelError(f"the period of {y} could not be read: {L!r}; {hint}.") from None
        if not isinstance(L, sp.Expr):
            raise ModelError(f"the period of {y} is {L!r}, not a number or expression; {hint}.")
        if L.atoms(sp.Float):
            raise ModelError(
                f"the period of {y} is the floating-point number {L}: periods are exact "
                "(a float would turn the effective tensor into floats). Use sympy.Rational "
                "or a symbol."
            )
        if L.is_positive is False or (L.is_number and not L.is_positive):
            raise ModelError(f"the period of {y} is {L}, which is not positive; {hint}.")
        out.append((y, L))
    if len({y for y, _ in out}) != len(out):
        raise ModelError(f"cell {cell!r} repeats a variable; {hint}.")
    return tuple(out)


def _first_bad_point(A_fn: Any, cell_len: list[float], d: int, scalar: bool,
                     n: int) -> tuple[tuple[float, ...], float] | None:
    grids = [(np.arange(n) + 0.5) * L / n for L in cell_len]
    mesh = np.meshgrid(*grids, indexing="ij")
    vals = A_fn(*mesh)
    if scalar:
        lam = np.asarray(vals, dtype=float)
    else:
        M = np.moveaxis(np.asarray(vals, dtype=float).reshape(d, d, -1), -1, 0)
        lam = np.linalg.eigvalsh(0.5 * (M + np.swapaxes(M, 1, 2))).min(axis=1)
    lam = lam.reshape(-1)
    if np.all(np.isfinite(lam)) and lam.min() > 0:
        return None
    idx = int(np.nanargmin(np.where(np.isfinite(lam), lam, -np.inf)))
    point = tuple(float(m.reshape(-1)[idx]) for m in mesh)
    return point, float(lam[idx])


@dataclass(frozen=True, init=False)
class CellProblem:
    r"""A periodic cell problem :math:`-\nabla_y\cdot(A(y)(e_k+\nabla_y\chi_k)) = 0`.

    Parameters
    ----------
    A : sympy expression or symmetric sympy Matrix
        The coefficient field, a function of the cell variables (and of
        parameters). A scalar means the isotropic field :math:`A(y) I`.
    cell : dict or list of (Symbol, length)
        The periodicity box, e.g. ``{y1: 1, y2: 2*pi}``.

    Examples
    --------
    >>> import sympy as sp
    >>> y = sp.Symbol("y", real=True)
    >>> CellProblem(2 + sp.cos(y), {y: 2 * sp.pi}).effective_tensor().tensor
    Matrix([[sqrt(3)]])
    """

    A: sp.ImmutableMatrix
    cell: tuple[tuple[sp.Symbol, sp.Expr], ...]
    scalar: bool

    def __init__(self, A: Any, cell: Any) -> None:
        cell_t = _parse_cell(cell)
        d = len(cell_t)
        ys = [y for y, _ in cell_t]
        if isinstance(A, sp.MatrixBase | list | tuple):
            try:
                M = sp.Matrix(A)
            except (TypeError, ValueError) as exc:
                raise ModelError(f"A = {A!r} is not a matrix: {exc}") from exc
            if M.shape != (d, d):
                raise ModelError(f"A has shape {M.shape} but the cell has {d} direction(s) "
                                 f"{ys}; give a {d}x{d} symmetric matrix or a scalar.")
            for i in range(d):
                for j in range(i + 1, d):
                    if sp.simplify(M[i, j] - M[j, i]) != 0:
                        raise ModelError(
                            f"A is not symmetric: A[{i},{j}] = {M[i, j]} but A[{j},{i}] = "
                            f"{M[j, i]}. The cell problem needs a symmetric A; use (A + A.T)/2 "
                            "(the antisymmetric part of a divergence-form operator only adds "
                            "a divergence-free drift).")
            scalar = False
        else:
            try:
                a = sp.sympify(A)
            except (sp.SympifyError, TypeError) as exc:
                raise ModelError(f"A = {A!r} is not a SymPy expression") from exc
            if not isinstance(a, sp.Expr):
                raise ModelError(f"A = {A!r} must be a scalar expression or a Matrix")
            M = sp.eye(d) * a
            scalar = True
        if any(e.has(sp.I) for e in M):
            raise ModelError("A has complex entries; the coefficient field must be real.")
        object.__setattr__(self, "A", sp.ImmutableMatrix(M))
        object.__setattr__(self, "cell", cell_t)
        object.__setattr__(self, "scalar", scalar)
        object.__setattr__(self, "_given", (A, dict(cell_t)))  # for Derivation.to_notebook
        # positivity, where it can be decided without parameter values
        if not self.parameters:
            fn = self._lambdify()
            n = 512 if d == 1 else (64 if d == 2 else 16)
            bad = _first_bad_point(fn, [float(L) for _, L in cell_t], d, scalar, n)
            if bad is not None:
                pt, lam = bad
                where = ", ".join(f"{y}={v:.4g}" for y, v in zip(ys, pt))
                raise ModelError(
                    f"A is not positive definite at {where} (smallest eigenvalue {lam:.4g}); "
                    "the coefficient field must be uniformly positive definite on the cell.")

    # -------------------------------------------------------------- basics
    @property
    def variables(self) -> tuple[sp.Symbol, ...]:
        """The cell variables :math:`y_1,\\dots,y_d`."""
        return tuple(y for y, _ in self.cell)

    @property
    def lengths(self) -> tuple[sp.Expr, ...]:
        """The periods :math:`L_1,\\dots,L_d`."""
        return tuple(L for _, L in self.cell)

    @property
    def dim(self) -> int:
        return len(self.cell)

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        """Free symbols of ``A`` and of the periods that are not cell variables."""
        syms = set(self.A.free_symbols)
        for L in self.lengths:
            syms |= L.free_symbols
        syms -= set(self.variables)
        return tuple(sorted(syms, key=lambda s: s.name))

    def _lambdify(self, params: Mapping[sp.Symbol, float] | None = None) -> Any:
        M = self.A.subs(dict(params or {})) if params else self.A
        ys = self.variables
        d = self.dim
        if self.scalar:
            f = sp.lambdify(ys, M[0, 0], "numpy")

            def scal(*Y: np.ndarray) -> np.ndarray:
                return np.broadcast_to(np.asarray(f(*Y), dtype=float), Y[0].shape).copy()
            return scal
        fs = [[sp.lambdify(ys, M[i, j], "numpy") for j in range(d)] for i in range(d)]

        def mat(*Y: np.ndarray) -> np.ndarray:
            out = np.empty((d, d) + Y[0].shape)
            for i in range(d):
                for j in range(d):
                    out[i, j] = np.broadcast_to(np.asarray(fs[i][j](*Y), dtype=float),
                                                Y[0].shape)
            return out
        return mat

    def _check_params(self, params: Mapping[sp.Symbol, float] | None) -> dict[sp.Symbol, float]:
        params = dict(params or {})
        unknown = [s for s in params if not isinstance(s, sp.Symbol)]
        if unknown:
            raise ModelError(f"parameter keys must be SymPy symbols; got {unknown}. Use "
                             "params={sympy.Symbol('a'): 1.0}.")
        extra = [s for s in params if s not in self.parameters]
        if extra:
            raise ModelError(f"params gives values for {extra}, which are not parameters of "
                             f"this cell problem (its parameters: {list(self.parameters)}).")
        return {s: float(v) for s, v in params.items()}

    def depends_on(self) -> tuple[sp.Symbol, ...]:
        """The cell variables that ``A`` actually depends on."""
        return tuple(y for y in self.variables if self.A.has(y))

    # -------------------------------------------------------------- solve
    @recorded(lambda b: ("from symavg.spatial import CellProblem",
                         "CellProblem({}, {}).effective_tensor("
                         + keyword_arguments(b, ("self",))[2:] + ")",
                         [*b.arguments["self"]._given, *given(b, ("self",))]), "tensor")
    def effective_tensor(self, params: Mapping[sp.Symbol, float] | None = None,
                         n: int | None = None, *, numeric: bool = False,
                         scheme: str = "spectral", tol: float = 1e-10,
                         budget: float = INTEGRATE_BUDGET) -> EffectiveTensor:
        r"""The effective tensor :math:`A^*`.

        Closed form for constant, one-dimensional, laminated and separable
        diagonal fields (:math:`A_{ii}` a function of :math:`y_i` only);
        otherwise (or with ``numeric=True``) a numeric solve at the
        parameter values ``params`` on grids ``n/4, n/2, n`` (default
        ``n = 128`` in 2-D, ``32`` in 3-D, ``256`` in 1-D).

        Parameters
        ----------
        params : dict {Symbol: float}, optional
            Parameter values. For a closed form they are substituted into the
            answer; the numeric route needs all of them.
        n : int, optional
            Finest grid (points per direction).
        numeric : bool
            Force the numeric route.
        scheme : {"spectral", "fv"}
            Fourier-Galerkin (any symmetric ``A``) or cell-centred finite
            volumes (diagonal ``A`` only).
        tol : float
            Relative residual for the iterative solver.
        budget : float
            Seconds allowed to ``sympy.integrate`` per period average.

        Raises
        ------
        UnsolvedError
            No closed form applies and some parameter values are missing.
        ModelError
            ``A`` is not positive definite at the parameter values.
        CheckFailedError
            The numeric tensor is not symmetric positive definite or violates
            the Reuss/Voigt bounds.
        """
        params = self._check_params(params)
        dep = self.depends_on()
        if not numeric and (len(dep) <= 1 or self._separable_diagonal()):
            from ..derive import _context

            with _context.collecting_conditions() as found:
                res = (self._closed_form(dep, params, budget) if len(dep) <= 1
                       else self._closed_form_separable(params, budget))
            return _with_validity(res, found)
        missing = [s for s in self.parameters if s not in params]
        if missing:
            hint = ", ".join(f"{s}: ..." for s in missing)
            raise UnsolvedError(
                f"A depends on {list(dep)}: no closed form applies (the field varies in more "
                f"than one direction and is not diagonal with each A_ii a function of y_i "
                f"alone), and the numeric solve needs values for "
                f"{missing}. Call effective_tensor(params={{{hint}}})."
            )
        return self._numeric(params, n, scheme, tol)

    # -------------------------------------------------------------- closed forms
    def _admissible_points(self, params: dict[sp.Symbol, float], count: int = 2,
                           seed: int = 2024) -> list[dict[sp.Symbol, float]]:
        """Parameter points at which ``A`` is positive definite on the cell."""
        pts = []
        if params and len(params) == len(self.parameters):
            pts.append(dict(params))
        rng = random.Random(seed)
        d = self.dim
        tries = 0
        while len(pts) < count and tries < 60:
            tries += 1
            p = dict(params)
            for s in self.parameters:
                if s in p:
                    continue
                v = rng.uniform(0.4, 2.5)
                p[s] = v if (s.is_positive or s.is_nonnegative or rng.random() < 0.75) else -v
            try:
                fn = self._lambdify(p)
                lens = [float(L.subs(p)) for L in self.lengths]
                if _first_bad_point(fn, lens, d, self.scalar, 128 if d == 1 else 24) is None:
                    pts.append(p)
            except (TypeError, ValueError, ZeroDivisionError):
                continue
        return pts

    def _period_average(self, f: sp.Expr, y: sp.Symbol, L: sp.Expr,
                        points: list[dict[sp.Symbol, float]], budget: float
                        ) -> tuple[sp.Expr, Check]:
        r""":math:`L^{-1}\int_0^L f\,dy`, checked against quadrature."""
        f = sp.sympify(f)
        name = f"<{f}> over {y}"
        if not f.has(y):
            return f, Check(name, True, "symbolic", "constant in y")
        from ..derive.integrals import period_integral_exact, rational_in_harmonics

        candidates = []
        residues_exhausted = False
        exact = period_integral_exact(f, y, L)
        if exact is not None:
            candidates.append((sp.simplify(exact / L), "exact Fourier rule"))
        elif points and rational_in_harmonics(f, y, L):
            # (otherwise the residue rule returns None: no fork for it)
            out = _sympy_util.run_budgeted(_residue_average, (f, y, L, points[0]), budget)
            res = out.value if out.status == "ok" else None
            # the residue sum reached its work limit: integrate needs the same roots (of the
            # same polynomial, in tan(pi y/L)) and an antiderivative besides, and spent its
            # whole budget too (7 s of the default one on 1/(C + cos 2 pi y + cos 4 pi y/4))
            residues_exhausted = out.status == "limit"
            if res is not None:
                candidates.append((res, "residues, z = exp(2 pi i y/L)"))
                residues_at = points[0]
        if not candidates and not residues_exhausted:
            val = with_budget(_integrate, (f, y, L), budget)
            if val is not None and not val.has(sp.Integral) and not val.has(sp.nan, sp.zoo):
                candidates.append((sp.simplify(val / L), "sympy.integrate"))
        for val, how in candidates:
            chk = _spot_check(val, f, y, L, points, name, how)
            if chk.passed:
                if how.startswith("residues"):   # where no pole crosses the unit circle
                    from ..derive import _context
                    from ..derive.integrals import residue_conditions

                    _context.record_conditions(residue_conditions(f, y, L, residues_at))
                return val, chk
        if points:   # the integral exists only where the denominator has no zero in the cell
            from ..derive import _context
            from ..derive.integrals import _laurent_form, _no_zero_in_cell

            if _laurent_form(f, y, sp.sympify(L)) is not None:
                _context.record_conditions(_no_zero_in_cell(f, y, L, points[0]))
        return (sp.Integral(f, (y, 0, L)) / L,
                Check(name, True, "numeric", "kept as an unevaluated integral (quadrature); "
                      + ("closed form failed its spot check" if candidates
                         else "no closed form within the budget")
                      + ("; the residue sum reached its work limit, integrate (the same "
                         "roots) not tried" if residues_exhausted else "")))

    def _closed_form(self, dep: tuple[sp.Symbol, ...], params: dict[sp.Symbol, float],
                     budget: float) -> EffectiveTensor:
        d = self.dim
        ys = self.variables
        A = sp.Matrix(self.A)
        title = "Effective tensor of a periodic cell problem"
        cell_eq = Step(
            "cell problem",
            r"Find periodic $\chi_k$ with $-\nabla_y\cdot(A(y)(e_k+\nabla_y\chi_k)) = 0$; then "
            r"$A^*_{ik} = \langle (A(e_k+\nabla_y\chi_k))_i\rangle$.",
            (("A(y)", A), ("Y", sp.Matrix([[y, 0, L] for y, L in self.cell]))))
        steps = Derivation(title, (cell_eq,))
        if not dep:
            checks = (Check("-div(A e_k) = 0 with chi = 0", True, "symbolic", "A is constant"),)
            steps = steps.then(Step("effective tensor", "A is constant: $A^* = A$, $\\chi = 0$.",
                                    (("A^*", A),), checks, "constant coefficients"))
            T = A.subs(params) if params else A
            return EffectiveTensor(sp.ImmutableMatrix(T), steps, "closed form")
        yk = dep[0]
        k = ys.index(yk)
        L = self.lengths[k]
        points = self._admissible_points(params)
        avg_checks: list[Check] = []
        values: dict[sp.Symbol, sp.Expr] = {}
        averages: list[Average] = []

        def avg(f: sp.Expr) -> sp.Expr:
            # a placeholder constant, so the cell equation is checked independently of how
            # (or whether) the integral was evaluated
            f = sp.simplify(f)
            v, c = self._period_average(f, yk, L, points, budget)
            avg_checks.append(c)
            averages.append(period_average_record(f, yk, L, v))
            if not v.has(yk) and not v.has(sp.Integral) and v.is_number:
                return v
            m = sp.Symbol(f"M_{len(values) + 1}")
            values[m] = v
            return m

        Akk = A[k, k]
        Astar_kk = 1 / avg(1 / Akk)
        Astar = sp.zeros(d, d)
        Astar[k, k] = Astar_kk
        c = [sp.S.Zero] * d
        c[k] = Astar_kk
        ratio = [sp.S.Zero] * d
        for j in range(d):
            if j != k:
                ratio[j] = avg(A[k, j] / Akk) if A[k, j] != 0 else sp.S.Zero
                c[j] = Astar_kk * ratio[j]
                Astar[k, j] = Astar[j, k] = c[j]
        for i in range(d):
            for j in range(i, d):
                if i == k or j == k:
                    continue
                Astar[i, j] = (avg(A[i, j] - A[i, k] * A[k, j] / Akk)
                               + ratio[i] * ratio[j] * Astar_kk)
                Astar[j, i] = Astar[i, j]
        # correctors: grad chi_j = chi_j' e_k with chi_j' = (c_j - A_kj)/A_kk
        dchi = [(c[j] - A[k, j]) / Akk for j in range(d)]
        checks: list[Check] = []
        for j in range(d):
            checks.append(_corrector_check(A, ys, j, k, dchi[j]))
            checks.append(avg_periodicity(c[j], ratio[j], Astar_kk, j == k))
        checks.append(zero_check("A* - A*^T = 0", Astar - Astar.T))
        checks.extend(avg_checks)
        Astar = Astar.subs(values)
        dchi = [sp.sympify(e).subs(values) for e in dchi]
        semi = any(e.has(sp.Integral) for e in Astar)
        # independent numeric check against the spectral solver
        if points:
            checks.append(self._compare_numeric(Astar, points[0]))
        kind = "one-dimensional harmonic mean" if d == 1 else f"laminate (layers normal to {yk})"
        statement = (
            rf"$A$ depends on ${sp.latex(yk)}$ only, so $\chi_j$ depends on ${sp.latex(yk)}$ only "
            r"and the flux component normal to the layers is constant: "
            r"$\chi_j' = (c_j - A_{kj})/A_{kk}$, "
            r"$c_j = A^*_{kk}\langle A_{kj}/A_{kk}\rangle$, "
            r"$A^*_{kk} = \langle A_{kk}^{-1}\rangle^{-1}$.")
        steps = steps.then(
            Step("corrector", statement,
                 tuple((rf"\partial_{{{sp.latex(yk)}}}\chi_{j + 1}", dchi[j]) for j in range(d)),
                 tuple(checks[:2 * d]), kind),
            Step("effective tensor", "Average of the flux over the cell, from the period "
                 "averages below.", (("A^*", Astar),), tuple(checks[2 * d:]), kind,
                 averages=tuple(averages)))
        if not steps.passed:
            failed = [ch.name for ch in steps.checks if not ch.passed]
            raise CheckFailedError(f"the closed-form effective tensor failed {failed}: "
                                   f"{steps.to_markdown()}")
        T = Astar.subs(params) if params else Astar
        return EffectiveTensor(sp.ImmutableMatrix(T), steps,
                               "semi-analytic" if semi else "closed form", params=params)

    def _separable_diagonal(self) -> bool:
        """``A`` diagonal with each :math:`A_{ii}` a function of :math:`y_i` alone."""
        d = self.dim
        if self.scalar:
            return False  # an isotropic a(y) is separable only if it is a laminate
        ys = set(self.variables)
        for i in range(d):
            for j in range(d):
                if i != j and sp.simplify(self.A[i, j]) != 0:
                    return False
            if (self.A[i, i].free_symbols & ys) - {self.variables[i]}:
                return False
        return True

    def _closed_form_separable(self, params: dict[sp.Symbol, float],
                               budget: float) -> EffectiveTensor:
        r"""Diagonal ``A`` with :math:`A_{ii} = A_{ii}(y_i)`: the load case ``e_i`` is a
        one-dimensional problem in :math:`y_i`, :math:`\chi_i = \chi_i(y_i)`,
        :math:`\chi_i' = A^*_{ii}/A_{ii} - 1`, :math:`A^*_{ii} = \langle A_{ii}^{-1}\rangle^{-1}`
        (the flux :math:`A(e_i + \nabla\chi_i) = A^*_{ii} e_i` is constant, hence
        divergence-free), and :math:`A^*` is diagonal."""
        d = self.dim
        ys = self.variables
        A = sp.Matrix(self.A)
        points = self._admissible_points(params)
        values: dict[sp.Symbol, sp.Expr] = {}
        avg_checks: list[Check] = []
        averages: list[Average] = []
        Astar = sp.zeros(d, d)
        for i in range(d):
            if not A[i, i].has(ys[i]):
                Astar[i, i] = A[i, i]
                continue
            f = sp.simplify(1 / A[i, i])
            v, c = self._period_average(f, ys[i], self.lengths[i], points, budget)
            avg_checks.append(c)
            averages.append(period_average_record(f, ys[i], self.lengths[i], v))
            m = sp.Symbol(f"M_{i + 1}")
            values[m] = v
            Astar[i, i] = 1 / m
        dchi = [Astar[i, i] / A[i, i] - 1 for i in range(d)]
        checks: list[Check] = []
        for i in range(d):
            checks.append(_corrector_check(A, ys, i, i, dchi[i]))
            checks.append(avg_periodicity(Astar[i, i], sp.S.One, Astar[i, i], True))
        Astar = Astar.subs(values)
        dchi = [sp.sympify(e).subs(values) for e in dchi]
        tail = list(avg_checks)
        if points:
            tail.append(self._compare_numeric(Astar, points[0]))
        kind = "separable diagonal (A_ii depends on y_i only)"
        steps = Derivation("Effective tensor of a periodic cell problem", (
            Step("cell problem",
                 r"Find periodic $\chi_k$ with $-\nabla_y\cdot(A(y)(e_k+\nabla_y\chi_k)) = 0$; "
                 r"then $A^*_{ik} = \langle (A(e_k+\nabla_y\chi_k))_i\rangle$.",
                 (("A(y)", A), ("Y", sp.Matrix([[y, 0, L] for y, L in self.cell])))),
            Step("corrector",
                 r"$A$ is diagonal and $A_{ii}$ depends on $y_i$ only, so the load case $e_i$ "
                 r"is one-dimensional: $\chi_i = \chi_i(y_i)$, "
                 r"$\chi_i' = A^*_{ii}/A_{ii} - 1$, and the flux $A^*_{ii} e_i$ is constant.",
                 tuple((rf"\partial_{{{sp.latex(ys[i])}}}\chi_{i + 1}", dchi[i])
                       for i in range(d)), tuple(checks), kind),
            Step("effective tensor",
                 r"$A^*_{ii} = \langle A_{ii}^{-1}\rangle^{-1}$ (harmonic mean in $y_i$), "
                 r"$A^*_{ij} = 0$ for $i \ne j$.", (("A^*", Astar),), tuple(tail), kind,
                 averages=tuple(averages)),
        ))
        if not steps.passed:
            failed = [ch.name for ch in steps.checks if not ch.passed]
            raise CheckFailedError(f"the closed-form effective tensor failed {failed}: "
                                   f"{steps.to_markdown()}")
        semi = any(e.has(sp.Integral) for e in Astar)
        T = Astar.subs(params) if params else Astar
        return EffectiveTensor(sp.ImmutableMatrix(T), steps,
                               "semi-analytic" if semi else "closed form", params=params)

    def _compare_numeric(self, Astar: sp.Matrix, point: dict[sp.Symbol, float]) -> Check:
        """Closed form vs a spectral solve at one admissible parameter point.

        The solve runs at ``n = N/4, N/2, N`` points per varying direction (``N = 256`` in
        1-D, 64 otherwise) and stops at the first ``n`` that agrees with the one before to
        :data:`COMPARE_CONVERGED` (relative): the spectral solution of a smooth field
        converges exponentially, so a converged coarse grid gives the same comparison as
        the finest one at a fraction of the cost (64^3: 2.6 s, 32^3: 0.3 s). Without
        convergence the finest grid is compared, as before."""
        top = 256 if self.dim == 1 else 64
        try:
            closed = EffectiveTensor(Astar, Derivation("tmp"), "closed form").numeric(point)
            prev, used = None, top
            for m in (top // 4, top // 2, top):
                try:
                    num = self._solve_grid(point, m, "spectral", 1e-12)[0]
                except ModelError:
                    if m == top:
                        raise
                    continue   # a coarse grid point where A is not positive definite
                scale = max(1.0, float(np.max(np.abs(num))))
                if prev is not None and np.max(np.abs(num - prev)) <= COMPARE_CONVERGED * scale:
                    used = m
                    break
                prev = num
        except Exception as exc:  # a failed comparison is recorded, not hidden
            return Check("closed form vs spectral solve", False, "numeric", repr(exc))
        err = float(np.max(np.abs(closed - num)) / max(1.0, np.max(np.abs(closed))))
        where = ", ".join(f"{s}={v:.3g}" for s, v in point.items()) or "no parameters"
        grid = (f"n = {used} (n = {used // 2} agrees to {COMPARE_CONVERGED:g})" if used < top
                else f"n = {top}")
        return Check("closed form vs spectral solve", err < 1e-6, "numeric",
                     f"max rel. difference {err:.1e} at {where}, spectral grid {grid}")

    # -------------------------------------------------------------- numeric route
    def _grid_field(self, params: dict[sp.Symbol, float], n: int) -> tuple[np.ndarray,
                                                                              tuple[float, ...]]:
        d = self.dim
        lens = tuple(float(L.subs(params)) for L in self.lengths)
        shape = tuple(n if self.A.has(y) else 2 for y in self.variables)
        grids = [(np.arange(m) + 0.5) * L / m for m, L in zip(shape, lens)]
        mesh = np.meshgrid(*grids, indexing="ij")
        vals = self._lambdify(params)(*mesh)
        if self.scalar:
            lam = vals
        else:
            flat = np.moveaxis(vals.reshape(d, d, -1), -1, 0)
            lam = np.linalg.eigvalsh(flat).min(axis=1).reshape(shape)
        if not np.all(np.isfinite(lam)) or lam.min() <= 0:
            idx = np.unravel_index(int(np.argmin(np.where(np.isfinite(lam), lam, -np.inf))),
                                   shape)
            where = ", ".join(f"{y}={g[i]:.4g}" for y, g, i in zip(self.variables, grids, idx))
            raise ModelError(f"A is not positive definite at {where} for the parameter values "
                             f"{params} (smallest eigenvalue {lam[idx]:.4g}); choose parameter "
                             "values that keep A uniformly positive definite.")
        return vals, lens

    def _solve_grid(self, params: dict[sp.Symbol, float], n: int, scheme: str,
                    tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, ...]]:
        vals, lens = self._grid_field(params, n)
        d = self.dim
        if scheme == "spectral":
            sol = spectral_effective_tensor(vals, lens, tol=tol)
            T, its = sol.tensor, sol.iterations
        elif scheme == "fv":
            if self.scalar:
                fields = vals
            else:
                off = [vals[i, j] for i in range(d) for j in range(d) if i != j]
                if any(np.any(o != 0) for o in off):
                    raise ModelError("scheme='fv' handles diagonal A only; use scheme='spectral' "
                                     "for a full matrix field.")
                fields = np.stack([vals[i, i] for i in range(d)])
            sol = FVProblem(fields, "periodic", lens, d=d).apparent_tensor(tol=tol)
            T, its = sol.tensor, sol.iterations
        else:
            raise ModelError(f"unknown scheme {scheme!r}; use 'spectral' or 'fv'.")
        voigt, reuss = voigt_reuss(vals, d)
        return T, voigt, reuss, its

    def _numeric(self, params: dict[sp.Symbol, float], n: int | None, scheme: str,
                 tol: float) -> EffectiveTensor:
        d = self.dim
        n = n or {1: 256, 2: 128, 3: 32}[d]
        levels = [m for m in (n // 4, n // 2, n) if m >= 4]
        rows: list[tuple[int, np.ndarray, float]] = []
        prev = None
        for m in levels:
            T, voigt, reuss, its = self._solve_grid(params, m, scheme, tol)
            change = float("nan") if prev is None else float(np.max(np.abs(T - prev)))
            rows.append((m, T, change))
            prev = T
        T = rows[-1][1]
        scale = float(np.max(np.abs(T)))
        asym = float(np.max(np.abs(T - T.T))) / scale
        sym_ok = asym < 1e-6
        Ts = 0.5 * (T + T.T)
        eig = np.linalg.eigvalsh(Ts)
        pd_ok = bool(eig.min() > 0)
        bounds_ok = is_between(reuss, Ts, voigt, rtol=1e-7)
        last = rows[-1][2]
        conv_ok = bool(np.isfinite(last) and last <= 1e-2 * scale) if len(rows) > 1 else True
        checks = (
            Check("A* symmetric", sym_ok, "numeric", f"max |A* - A*^T|/|A*| = {asym:.1e}"),
            Check("A* positive definite", pd_ok, "numeric", f"eigenvalues {np.round(eig, 8)}"),
            Check("Reuss <= A* <= Voigt", bounds_ok, "numeric",
                  f"Reuss diag {np.round(np.diag(reuss), 6)}, Voigt diag "
                  f"{np.round(np.diag(voigt), 6)}"),
            Check("grid convergence", conv_ok, "numeric",
                  f"max change {last:.2e} from n={levels[-2] if len(levels) > 1 else n} "
                  f"to n={levels[-1]}"),
        )
        solver = ("Fourier-Galerkin (Moulinec-Suquet), FFT-preconditioned CG" if scheme ==
                  "spectral" else "cell-centred finite volumes, FFT-preconditioned CG")
        steps = Derivation("Effective tensor of a periodic cell problem (numeric)", (
            Step("cell problem",
                 r"Find periodic $\chi_k$ with $-\nabla_y\cdot(A(y)(e_k+\nabla_y\chi_k)) = 0$, "
                 r"$A^*_{ik} = \langle (A(e_k+\nabla_y\chi_k))_i\rangle$.",
                 (("A(y)", sp.Matrix(self.A)),)),
            Step("discretisation",
                 f"{solver} on grids {levels} at parameter values "
                 f"{ {str(k): v for k, v in params.items()} }.", (), (), scheme),
            Step("effective tensor", f"Flux average over the $N$ points $y_j$ of the finest "
                 f"grid (n = {levels[-1]} per varying direction), symmetrised; the columns of "
                 r"$\nabla_y\chi$ are $\nabla_y\chi_k$.", (), checks,
                 scheme,
                 averages=(grid_average_record(
                     "A^*", r"A(I+\nabla_y\chi)", sp.Matrix(np.round(Ts, 12))),)),
        ))
        if not (sym_ok and pd_ok and bounds_ok):
            failed = [c.name + " (" + c.detail + ")" for c in checks[:3] if not c.passed]
            raise CheckFailedError(f"the numeric effective tensor failed {failed}.")
        return EffectiveTensor(Ts, steps, "numeric", tuple(rows), params)


def _residue_average(f: sp.Expr, y: sp.Symbol, L: sp.Expr,
                     point: dict[sp.Symbol, float]) -> sp.Expr | None:
    r"""Period average of a rational function of :math:`\cos, \sin` by residues, the
    poles' positions decided at ``point``: the rule of
    :func:`symavg.derive.integrals.residue_integral` (its one home), divided by ``L``."""
    from ..derive.integrals import residue_integral

    val = residue_integral(f, y, L, point)
    return None if val is None else sp.simplify(val / L)


def _integrate(f: sp.Expr, y: sp.Symbol, L: sp.Expr) -> sp.Expr:
    res = sp.integrate(f, (y, 0, L))
    if isinstance(res, sp.Piecewise):
        res = res.args[0][0]
    return res


def _spot_check(val: sp.Expr, f: sp.Expr, y: sp.Symbol, L: sp.Expr,
                points: list[dict[sp.Symbol, float]], name: str, how: str) -> Check:
    if not points:
        return Check(name, False, "numeric", "no admissible parameter point to check at")
    worst = 0.0
    for p in points:
        try:
            exact = complex(sp.N(val.subs(p), 20))
            fn = sp.lambdify(y, f.subs(p), "numpy")
            Ln = float(L.subs(p))
            num, _ = si.quad(lambda t, fn=fn: float(fn(t)), 0.0, Ln, limit=400,
                             epsabs=1e-13, epsrel=1e-12)
            num /= Ln
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return Check(name, False, "numeric", f"{how}: could not be evaluated")
        worst = max(worst, abs(exact - num) / max(1.0, abs(num)))
    return Check(name, worst < 1e-8, "numeric",
                 f"{how}; vs quadrature at {len(points)} admissible parameter points: "
                 f"max rel. difference {worst:.1e}")


def avg_periodicity(c: sp.Expr, ratio: sp.Expr, Akk_star: sp.Expr,
                    diagonal: bool) -> Check:
    r"""Periodicity of the corrector, :math:`\langle\chi_j'\rangle = 0`, written with
    the computed averages: :math:`c_j\langle A_{kk}^{-1}\rangle - \langle A_{kj}/A_{kk}\rangle
    = 0` (with :math:`\langle A_{kk}/A_{kk}\rangle = 1` when ``j = k``)."""
    expr = c / Akk_star - (1 if diagonal else ratio)
    return zero_check("<d chi/dy> = 0 (chi periodic)", expr)


def _corrector_check(A: sp.Matrix, ys: Sequence[sp.Symbol], j: int, k: int,
                     dchi: sp.Expr) -> Check:
    r"""Substitute a corrector back: :math:`-\nabla\cdot A(e_j + \chi_j' e_k) = 0`, where
    the corrector :math:`\chi_j` varies along :math:`y_k` only with derivative ``dchi``."""
    d = len(ys)
    grad = sp.zeros(d, 1)
    grad[k] = dchi
    e = sp.zeros(d, 1)
    e[j] = 1
    flux = A * (e + grad)
    residual = -sum(sp.diff(flux[i], ys[i]) for i in range(d))
    return zero_check(f"-div(A(e_{j + 1} + grad chi_{j + 1})) = 0", residual)
