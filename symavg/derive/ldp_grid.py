r"""The principal eigenvalue of a reversible tilted generator on a grid with a box.

The numeric route of :func:`symavg.derive.ldp.hamiltonian` for fast diffusion
variables on the line (one, two or three) without a closed form: a nonlinear fast
drift with constant fast noise, reversible at every momentum. The tilted generator

.. math::

    \mathcal K_p u = b_p\cdot\nabla u + \tfrac12 A:\nabla^2 u + V u,
    \qquad b_p = B(y) + c^T p,

is *reversible* when :math:`w = A^{-1} b_p` is a gradient,
:math:`w = \tfrac12\nabla\varphi` (then :math:`e^{\varphi}` is the invariant density of
the drift-diffusion part). In one variable this always holds. Ground-state
transform (e.g. Pavliotis, *Stochastic Processes and Applications*, Springer 2014,
sec. 4.9): with :math:`\psi = e^{\varphi/2} u`,

.. math::

    e^{\varphi/2}\,\mathcal K_p\, e^{-\varphi/2}\psi
      = \tfrac12 A:\nabla^2\psi + (V - W)\,\psi, \qquad
    W = \tfrac12\, b_p\cdot A^{-1} b_p + \tfrac12\,\nabla\cdot b_p ,

(derivation: :math:`\nabla u = e^{-\varphi/2}(\nabla\psi - \psi w)`; the first-order
terms cancel since :math:`A w = b_p`; the zeroth-order ones are
:math:`-b_p\cdot w + \tfrac12 w\cdot A w - \tfrac12\nabla\cdot(A w) = -W`), a
Schrödinger operator, symmetric in :math:`L^2(dy)`. Its principal eigenvalue is
:math:`H(x, p)` and its ground state :math:`\psi` decays like the square root of the
tilted law, although :math:`u` itself grows (``exp(p y)`` for an OU variable with a
linear coupling). So truncating the line to a box with :math:`\psi = 0` outside is safe
once :math:`\psi^2` is negligible on the faces, while reflecting faces on :math:`u`
(the route for one variable with ``domain=``) would impose :math:`u' = 0` where
:math:`u` is large, and a box on :math:`u` itself puts the faces where the drift is
under-resolved.

Where :math:`V - W \to +\infty` along some direction (a potential that outgrows the
confinement, e.g. ``p y^2`` past the OU blow-up) the operator is not bounded above and
:math:`H = +\infty`; the box search returns ``inf`` when the ground state
sits on the faces and the eigenvalue's increments do not shrink over four growths (a
confined problem's do).

Discretisation: fourth-order central differences on a tensor grid (a symmetric
matrix), the box centred at the stable point of the fast drift at :math:`p = 0` and
grown by 5/4 until each face carries less than ``BOX_WEIGHT`` of :math:`\psi^2`; the
largest eigenvalue (shift-invert Lanczos, ``scipy.sparse.linalg.eigsh``, shifted above
a bound on the spectrum: the potential's maximum) at ``m`` and
``2 m`` points per axis, Richardson-extrapolated for fourth order,
:math:`\lambda = \lambda_{2m} + (\lambda_{2m} - \lambda_m)/15`. The record checks the
convergence (:math:`|\lambda_{2m} - \lambda_m|/15`) and the box (the eigenvalue on a
box 5/4 as large). The matrix is symmetric, so its largest eigenvalue is a lower
bound (Rayleigh-Ritz on the box's functions, up to the difference error) and there
are no spurious complex modes, unlike a grid on :math:`\mathcal K_p` itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import sympy as sp

from .._sympy_util import zero_check
from ..errors import UnsolvedError
from ..report.derivation import Check, Step

if TYPE_CHECKING:
    from .ldp import Tilted

__all__ = ["BOX_WEIGHT", "GRID_POINTS", "box_grid_route", "ground_state_potential"]

#: share of ``psi**2`` allowed on the outermost layer of each face of the box
BOX_WEIGHT = 1e-9
#: default points per axis by the number of fast variables (the finer grid doubles it)
GRID_POINTS = {1: 64, 2: 48, 3: 16}
_GROW = 1.25
_MAX_GROW = 40
#: half-width of a fitted box in standard deviations of the ground state's psi**2
_WIDTHS = 8.0
_DENSE = 200
_STENCILS = {1: {-2: 1 / 12, -1: -2 / 3, 1: 2 / 3, 2: -1 / 12},
             2: {-2: -1 / 12, -1: 4 / 3, 0: -5 / 2, 1: 4 / 3, 2: -1 / 12}}


@dataclass(frozen=True)
class Axis:
    """``m`` interior points of the box ``(lo, hi)`` (``psi = 0`` on and beyond the faces)."""

    lo: float
    hi: float
    m: int

    @property
    def points(self) -> np.ndarray:
        return np.linspace(self.lo, self.hi, self.m + 2)[1:-1]

    @property
    def h(self) -> float:
        return (self.hi - self.lo) / (self.m + 1)


def difference_matrix(axis: Axis, derivative: int):  # noqa: ANN201 - scipy.sparse matrix
    r"""The fourth-order central difference of order ``derivative`` on ``axis`` with
    :math:`\psi = 0` beyond the faces:
    :math:`\psi' \approx (\psi_{-2} - 8\psi_{-1} + 8\psi_1 - \psi_2)/(12h)` (antisymmetric),
    :math:`\psi'' \approx (-\psi_{-2} + 16\psi_{-1} - 30\psi_0 + 16\psi_1 - \psi_2)/(12h^2)`
    (symmetric)."""
    from scipy.sparse import diags

    m, st = axis.m, _STENCILS[derivative]
    return diags([np.full(m - abs(s), w) for s, w in st.items()], list(st), shape=(m, m),
                 format="csr") / axis.h ** derivative


class TensorGrid:
    """The tensor product of box axes, with the difference matrices lifted to it."""

    def __init__(self, axes: Sequence[Axis]) -> None:
        from scipy.sparse import identity, kron

        self.axes = tuple(axes)
        self.shape = tuple(a.m for a in axes)
        self.points = np.meshgrid(*(a.points for a in axes), indexing="ij")

        def lift(D, k: int):  # noqa: ANN001, ANN202
            out = None
            for j, a in enumerate(self.axes):
                f = D if j == k else identity(a.m, format="csr")
                out = f if out is None else kron(out, f, format="csr")
            return out

        self.d1 = [lift(difference_matrix(a, 1), k) for k, a in enumerate(axes)]
        self.d2 = [lift(difference_matrix(a, 2), k) for k, a in enumerate(axes)]

    def face_weight(self, w: np.ndarray) -> float:
        """The largest share of ``w >= 0`` (one value per point) on the outermost layer
        of a face of the box."""
        w = w.reshape(self.shape)
        total = float(w.sum())
        return max(float(np.take(w, end, axis=k).sum()) / total
                   for k, a in enumerate(self.axes) for end in (0, a.m - 1))


def schrodinger_matrix(grid: TensorGrid, A: np.ndarray, potential: np.ndarray):
    r"""The symmetric matrix of :math:`\tfrac12 A:\nabla^2 + U` on ``grid`` (``A``
    constant, ``potential`` the values of :math:`U` on the grid)."""
    from scipy.sparse import diags

    d = len(grid.axes)
    M = diags(np.broadcast_to(potential, grid.shape).ravel())
    for k in range(d):
        if A[k, k] != 0:
            M = M + (0.5 * A[k, k]) * grid.d2[k]
        for j in range(k + 1, d):
            if A[k, j] != 0:  # (A_kj + A_jk)/2 psi_kj with A symmetric
                M = M + A[k, j] * (grid.d1[k] @ grid.d1[j])
    return M.tocsc()


def upper_bound(A: np.ndarray, potential: np.ndarray, grid: TensorGrid) -> float:
    r"""A bound above the largest eigenvalue of :func:`schrodinger_matrix`: the
    potential's maximum plus the kinetic part's largest eigenvalue, which is at most 0
    for a diagonal ``A`` (the fourth-order stencil's symbol
    :math:`(-2\cos 2\theta + 32\cos\theta - 30)/12 \le 0`, and a Dirichlet Toeplitz
    section stays inside the symbol's range), and otherwise at most the kinetic rows'
    Gershgorin bound."""
    top = float(np.max(potential))
    if np.count_nonzero(A - np.diag(np.diag(A))) == 0:
        return top
    K = schrodinger_matrix(grid, A, np.zeros(grid.shape))
    off = abs(K).sum(axis=1).A1 - abs(K.diagonal())
    return top + float(np.max(K.diagonal() + off))


def largest_eigenpair(M, bound: float, near: float | None = None
                      ) -> tuple[float, np.ndarray]:
    """The largest eigenvalue of the symmetric ``M`` and its eigenvector: dense for
    small matrices, otherwise shift-invert Lanczos (``eigsh``).

    The shift is just above ``near`` (the value on a coarser grid) when given, and the
    result is kept if its eigenvector is one-signed (the ground state of a Schrödinger
    operator is positive, and no other eigenvector is); otherwise, or without ``near``,
    the shift is above ``bound`` (a bound above every eigenvalue), where the largest
    eigenvalue is the nearest to the shift."""
    n = M.shape[0]
    band = _bandwidth(M)
    if band <= 4:                      # one variable: the banded LAPACK solver, O(n)
        from scipy.linalg import eig_banded

        ab = np.zeros((band + 1, n))
        dense = M.todia()
        for off, row in zip(dense.offsets, dense.data):
            if off >= 0:              # upper form: ab[band - off, j] = M[j - off, j]
                ab[band - off, off:] = row[off:]
        w, U = eig_banded(ab, select="i", select_range=(n - 1, n - 1))
        return float(w[-1]), U[:, -1]
    if n <= _DENSE:
        w, U = np.linalg.eigh(M.toarray())
        return float(w[-1]), U[:, -1]
    from scipy.sparse.linalg import eigsh

    if near is not None:
        w, U = eigsh(M, k=1, sigma=near + 1e-2 * (1.0 + abs(near)), which="LM", tol=1e-12)
        if _one_signed(U[:, 0]) > 0.99:
            return float(w[0]), U[:, 0]
    sigma = bound + 1e-3 * (1.0 + abs(bound))
    w, U = eigsh(M, k=1, sigma=sigma, which="LM", tol=1e-12)
    return float(w[0]), U[:, 0]


def _bandwidth(M) -> int:  # noqa: ANN001
    C = M.tocoo()
    return int(np.max(np.abs(C.row - C.col))) if C.nnz else 0


def _one_signed(u: np.ndarray) -> float:
    """``|sum u| / sum |u|``: 1 for a one-signed vector."""
    s = float(np.abs(u).sum())
    return abs(float(u.sum())) / s if s > 0 else 0.0


def ground_state_potential(T: Tilted) -> tuple[sp.Matrix, sp.Expr, Check]:
    r"""``(A, V - W, check)`` of the ground-state transform (module docstring), after
    checking that the fast noise is constant and :math:`A^{-1} b_p` a gradient.

    Raises
    ------
    UnsolvedError
        When the fast noise depends on the fast variables, is singular, or the tilted
        drift is not reversible (``A^{-1} b_p`` has a curl).
    """
    K = T.generator
    y = T.fast
    b, A = sp.Matrix(K.drift), sp.Matrix(K.diffusion)
    if any(sp.diff(e, v) != 0 for e in A for v in y):
        raise UnsolvedError(f"the fast noise {A.tolist()} depends on the fast variables "
                            f"{list(y)}: the numeric route for fast variables on the line "
                            "needs a constant fast diffusion matrix")
    if A.det() == 0:
        raise UnsolvedError(f"the fast diffusion matrix {A.tolist()} is singular: the "
                            "numeric route for fast variables on the line needs noise on "
                            "every fast variable")
    Ainv = A.inv()
    w = Ainv * b
    curl = sp.Matrix([sp.diff(w[i], y[j]) - sp.diff(w[j], y[i]) for i in range(len(y))
                      for j in range(i + 1, len(y))]) if len(y) > 1 else sp.zeros(1, 1)
    check = zero_check("A^{-1} b_p is a gradient (the tilted fast drift is reversible)",
                       sp.expand(curl))
    if not check.passed:
        raise UnsolvedError(
            f"the fast drift {list(b)} is not reversible for the fast noise (A^-1 b_p has a "
            f"curl, {list(sp.expand(curl))}): the numeric route for several fast variables "
            "on the line covers reversible fast dynamics (b = A grad(phi)/2), by the "
            "ground-state transform to a symmetric operator. Put the fast variables on "
            "circles (periodic=) or use a reversible drift.")
    V = sum((q.potential for q in K.potential_parts), sp.S.Zero)
    div = sum((sp.diff(b[i], y[i]) for i in range(len(y))), sp.S.Zero)
    W = sp.expand((b.T * Ainv * b)[0] / 2 + div / 2)
    return A, sp.expand(V - W), check


def box_grid_route(T: Tilted, n: int | None) -> dict | None:
    """The route's record for :func:`symavg.derive.ldp.hamiltonian`, or None when a
    fast variable is on a circle or a chain is fast (other routes)."""
    K = T.generator
    if not T.fast or K.jump is not None or K.modes or any(v in K.periodic_map
                                                           for v in T.fast):
        return None
    d = len(T.fast)
    if d > 3:
        raise UnsolvedError(f"{d} fast diffusion variables on the line: the tensor-grid "
                            "route covers at most 3 (its size grows as n**d)")
    m = int(n) if n is not None else GRID_POINTS[d]
    if m < 8:
        raise UnsolvedError(f"n = {m} points per axis is too few for fourth-order "
                            "differences: use n >= 8")
    A, U, check = ground_state_potential(T)
    args = [T.slow, T.momentum, *T.fast]
    zero_p = {q: 0 for q in T.momentum}
    b0 = [e.subs(zero_p) for e in K.drift]

    f_slow = sp.Matrix(T.slow_drift.get(None, sp.zeros(len(T.slow), 1)))

    def numeric(prm: Mapping) -> Callable:
        fU = sp.lambdify(args, U.subs(prm), "numpy")
        ff = [sp.lambdify(args, e.subs(prm), "numpy") for e in f_slow]
        fb0 = sp.lambdify(args, sp.Matrix(b0).subs(prm), "numpy")
        An = np.array(sp.Matrix(A).subs(prm).evalf(), dtype=float)
        if not np.all(np.isfinite(An)) or np.any(np.linalg.eigvalsh(An) <= 0):
            raise UnsolvedError(f"the fast diffusion matrix {An.tolist()} is not positive "
                                f"definite at {prm}")

        def matrix(x: np.ndarray, p: np.ndarray, box: Sequence, mm: int) -> tuple:
            grid = TensorGrid([Axis(lo, hi, mm) for lo, hi in box])
            with np.errstate(over="ignore", invalid="ignore"):
                pot = np.asarray(fU(tuple(x), tuple(p), *grid.points), float)
            if not np.all(np.isfinite(pot)):
                raise UnsolvedError(f"the ground-state potential is not finite on the grid at "
                                    f"x = {list(x)}, p = {list(p)}")
            return schrodinger_matrix(grid, An, pot), grid, upper_bound(An, pot, grid)

        def drift0(x: np.ndarray, yv: np.ndarray) -> np.ndarray:
            return np.asarray(fb0(tuple(x), tuple(np.zeros(len(T.momentum))), *yv),
                              float).ravel()

        def start_box(x: np.ndarray) -> list:
            """Centred at the stable point of the fast drift at p = 0; half-width 1.5 times
            the width along each axis where the restoring drift has done one unit of work
            against the noise (the width of the fast law)."""
            from scipy.optimize import root

            c = np.zeros(d)
            try:
                sol = root(lambda yv: drift0(x, yv), c)
                if sol.success and np.all(np.isfinite(sol.x)):
                    c = sol.x
            except (ValueError, FloatingPointError, ZeroDivisionError):
                pass
            t = np.geomspace(1e-3, 1e3, 400)
            box = []
            for k in range(d):
                reach = []
                for sign in (1.0, -1.0):
                    pts = np.repeat(c[:, None], t.size, axis=1)
                    pts[k] += sign * t
                    with np.errstate(all="ignore"):
                        bt = -2 * sign * np.array([drift0(x, pts[:, i])[k] for i in
                                                   range(t.size)]) / An[k, k]
                    work = np.concatenate([[0.0], np.cumsum(0.5 * (bt[1:] + bt[:-1])
                                                            * np.diff(t))])
                    hit = np.flatnonzero(np.isfinite(work) & (work >= 1.0))
                    if hit.size:
                        reach.append(float(t[hit[0]]))
                s = max(reach) if reach else 1.0
                box.append((float(c[k]) - 1.5 * s, float(c[k]) + 1.5 * s))
            return box

        fitted: dict = {}

        def fitted_box(x: np.ndarray, p: np.ndarray) -> tuple[list, float]:
            """A box fitted to the ground state at ``m`` points, and the eigenvalue there.

            Each pass centres the box at the mean of ``psi**2`` with a half-width of
            ``_WIDTHS`` of its standard deviations, or grows it by 5/4 along an axis whose
            faces carry more than BOX_WEIGHT of ``psi**2``; the first box with light faces
            and at most twice as wide as that is taken. The search starts from the box of
            the fast law itself (``p = 0``) at the same ``x``."""
            key = (tuple(np.round(x, 12)), tuple(np.round(p, 12)))
            if key in fitted:
                return fitted[key]
            p0 = np.zeros(len(T.momentum))
            if np.any(p != 0):
                box = fitted_box(x, p0)[0]      # the fast law's box: a near start
            else:
                box = start_box(x)
            rising, last, step = 0, None, None
            for _ in range(_MAX_GROW):
                M, grid, bound = matrix(x, p, box, m)
                val, psi = largest_eigenpair(M, bound)
                # not confined (V - W -> +inf along some direction, H = +inf): the ground
                # state sits on the faces and the eigenvalue rises faster and faster as
                # the box grows (a confined one converges: its increments shrink)
                heavy = grid.face_weight(psi ** 2) > 1e-3
                inc = None if last is None else val - last
                rising = (rising + 1 if heavy and inc is not None and inc > 0 and
                          (step is None or inc >= 0.8 * step) else 0)
                last, step = val, inc
                if rising >= 4:
                    fitted[key] = (box, math.inf)
                    return box, math.inf
                w = (psi ** 2).reshape(grid.shape)
                w = w / w.sum()
                heavy, new, fits = [], [], True
                for k, (lo, hi) in enumerate(box):
                    marg = w.sum(axis=tuple(j for j in range(d) if j != k))
                    pts = grid.axes[k].points
                    mu = float(marg @ pts)
                    sd = float(np.sqrt(max(marg @ (pts - mu) ** 2, 0.0)))
                    face = max(float(marg[0]), float(marg[-1]))
                    half = (hi - lo) / 2
                    if face > BOX_WEIGHT:
                        fits = False
                        heavy.append(k)
                        new.append((mu - _GROW * half, mu + _GROW * half))
                    else:
                        want = _WIDTHS * sd
                        if half > 2 * want:       # light faces, but the grid is wasted
                            fits = False
                        new.append((mu - want, mu + want) if half > 2 * want
                                   else (mu - half, mu + half))
                if fits:
                    fitted[key] = (box, val)
                    if len(fitted) > 512:
                        fitted.pop(next(iter(fitted)))
                    return box, val
                box = new
            raise UnsolvedError(f"no box fits the tilted ground state at x = {list(x)}, "
                                f"p = {list(p)} after {_MAX_GROW} passes: the tilted fast law "
                                "may not be confined there (H = +inf?)")

        def eig(x: np.ndarray, p: np.ndarray, mm: int, scale: float = 1.0) -> float:
            """The eigenvalue at ``mm`` points per axis on the fitted box, or on a box
            ``scale`` times as wide with the same spacing (about ``scale * mm`` points)."""
            x, p = np.atleast_1d(np.asarray(x, float)), np.atleast_1d(np.asarray(p, float))
            box, val = fitted_box(x, p)
            if (scale == 1.0 and mm == m) or not math.isfinite(val):
                return val
            if scale != 1.0:
                box = [((lo + hi) / 2 - scale * (hi - lo) / 2,
                        (lo + hi) / 2 + scale * (hi - lo) / 2) for lo, hi in box]
                mm = int(round(scale * (mm + 1))) - 1
            M, _, bound = matrix(x, p, box, mm)
            return largest_eigenpair(M, bound, near=val)[0]

        def fn(x: np.ndarray, p: np.ndarray) -> float:
            e1 = eig(x, p, m)
            if not math.isfinite(e1):
                return e1
            e2 = eig(x, p, 2 * m)
            return e2 + (e2 - e1) / 15

        def average(x: np.ndarray) -> np.ndarray:
            r"""``<f>`` under the fast law at ``x``: :math:`\sum \psi_0^2 f / \sum
            \psi_0^2` with :math:`\psi_0` the ground state at :math:`p = 0` (its square is
            the invariant density, e^phi), at ``2 m`` points."""
            x = np.atleast_1d(np.asarray(x, float))
            p0 = np.zeros(len(T.momentum))
            box, val = fitted_box(x, p0)
            M, grid, bound = matrix(x, p0, box, 2 * m)
            _, psi = largest_eigenpair(M, bound, near=val)
            w = psi ** 2 / float(np.sum(psi ** 2))
            return np.array([float(np.sum(w * np.broadcast_to(np.asarray(
                f(tuple(x), tuple(p0), *grid.points), float), grid.shape).ravel()))
                for f in ff])

        fn.eig = eig  # type: ignore[attr-defined]
        fn.order = 4  # type: ignore[attr-defined]
        fn.average = average  # type: ignore[attr-defined]
        fn.box_check = lambda x, p: (eig(x, p, 2 * m), eig(x, p, 2 * m, _GROW))  # type: ignore[attr-defined]
        return fn

    names = ", ".join(map(str, T.fast))
    text = ("No closed form. The tilted fast drift is reversible (A^{-1} b_p is a gradient), "
            "so the ground-state transform psi = e^{phi/2} u turns K_p into the symmetric "
            "operator A:grad^2/2 + V - W below, whose ground state decays. Its largest "
            f"eigenvalue in {names}: fourth-order central differences on a box with psi = 0 "
            f"outside, at {m} and {2 * m} points per axis, Richardson-extrapolated; the box "
            "is centred at the fast drift's stable point and grown until each face carries "
            f"less than {BOX_WEIGHT:g} of psi^2.")
    step = Step("principal eigenvalue", text, ((r"V - W", U),), (check,),
                "numeric principal eigenvalue (ground-state transform, box grid)")
    return dict(expr=None, eigenfunction=None, characteristic=None, steps=[step],
                strategy="numeric principal eigenvalue (ground-state transform, box grid)",
                numeric=numeric, grid=m, own_average=True)
