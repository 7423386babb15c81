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

__all__ = ["BOX_WEIGHT", "FITTED_POINTS", "GRID_POINTS", "NotReversibleError", "box_grid_route",
           "ground_state_potential", "ray_weight_transform"]

class NotReversibleError(UnsolvedError):
    """The ground-state transform does not apply (a non-reversible drift, or fast noise
    that is not constant or is singular)."""


#: share of ``psi**2`` allowed on the outermost layer of each face of the box
BOX_WEIGHT = 1e-9
#: default points per axis by the number of fast variables (the finer grid doubles it)
GRID_POINTS = {1: 64, 2: 48, 3: 16}
#: the same for the second-order fitted grid (non-reversible drifts)
FITTED_POINTS = {1: 200, 2: 64, 3: 20}
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
        w, U = eigsh(M, k=1, sigma=near + 1e-2 * (1.0 + abs(near)), which="LM", tol=1e-12,
                     v0=np.ones(n))
        if _one_signed(U[:, 0]) > 0.99:
            return float(w[0]), U[:, 0]
    sigma = bound + 1e-3 * (1.0 + abs(bound))
    w, U = eigsh(M, k=1, sigma=sigma, which="LM", tol=1e-12, v0=np.ones(n))
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
        raise NotReversibleError(f"the fast noise {A.tolist()} depends on the fast variables "
                            f"{list(y)}: the numeric route for fast variables on the line "
                            "needs a constant fast diffusion matrix")
    if A.det() == 0:
        raise NotReversibleError(f"the fast diffusion matrix {A.tolist()} is singular: the "
                            "numeric route for fast variables on the line needs noise on "
                            "every fast variable")
    Ainv = A.inv()
    w = Ainv * b
    curl = sp.Matrix([sp.diff(w[i], y[j]) - sp.diff(w[j], y[i]) for i in range(len(y))
                      for j in range(i + 1, len(y))]) if len(y) > 1 else sp.zeros(1, 1)
    check = zero_check("A^{-1} b_p is a gradient (the tilted fast drift is reversible)",
                       sp.expand(curl))
    if not check.passed:
        raise NotReversibleError(
            f"the fast drift {list(b)} is not reversible for the fast noise (A^-1 b_p has a "
            f"curl, {list(sp.expand(curl))}): the numeric route for several fast variables "
            "on the line covers reversible fast dynamics (b = A grad(phi)/2), by the "
            "ground-state transform to a symmetric operator. Put the fast variables on "
            "circles (periodic=) or use a reversible drift.")
    V = sum((q.potential for q in K.potential_parts), sp.S.Zero)
    div = sum((sp.diff(b[i], y[i]) for i in range(len(y))), sp.S.Zero)
    W = sp.expand((b.T * Ainv * b)[0] / 2 + div / 2)
    return A, sp.expand(V - W), check


def ray_weight_transform(T: Tilted) -> tuple[sp.Matrix, list, list, sp.Expr]:
    r"""``(A, b', V', g)`` of the conjugation :math:`\psi = e^{g} u` for a fast drift that
    is not reversible, with the *ray-integral* weight

    .. math::

        g(y) = \int_0^1 A^{-1} b_p(t y)\cdot y\,dt ,

    which is :math:`\varphi/2` exactly when :math:`A^{-1}b_p = \nabla\varphi/2`, and
    otherwise has the growth of the drift (for :math:`b = -\nabla U + \gamma J\nabla U`
    with a radial :math:`U` it is :math:`-U/2`, the exact law). The conjugated operator
    (module docstring of :mod:`.ldp_grid`, with :math:`\nabla u = e^{-g}(\nabla\psi -
    \psi\nabla g)`)

    .. math::

        e^{g}\mathcal K_p e^{-g}\psi = b'\cdot\nabla\psi + \tfrac12 A:\nabla^2\psi
            + V'\psi, \quad b' = b_p - A\nabla g, \quad
        V' = V - b_p\cdot\nabla g - \tfrac12 A:\nabla^2 g + \tfrac12\nabla g\cdot
            A\nabla g ,

    keeps a drift (the non-reversible part) but its eigenfunctions decay like those of
    the reversible case.

    With a fast chain the weight is built from the drift averaged over the chain states
    (the same ``g`` in every state, so the rates :math:`Q(y)` are unchanged) and each
    state gets its own :math:`b'_i`, :math:`V'_i`.

    Raises
    ------
    NotReversibleError
        When the fast noise is not constant and diagonal, or the drift not polynomial in
        the fast variables (the ray integral is taken exactly for polynomials).
    """
    K = T.generator
    y = T.fast
    d = len(y)
    modes = list(K.jump.states) if K.jump is not None else [None]
    drifts, A = [], None
    for lab in modes:
        b_i, A_i = K.diffusion_in(lab) if lab is not None else (K.drift, K.diffusion)
        b_i, A_i = sp.Matrix(b_i), sp.Matrix(A_i)
        if A is not None and sp.expand(A_i - A) != sp.zeros(d, d):
            raise NotReversibleError(f"the fast noise differs between the chain states "
                                     f"({A.tolist()} and {A_i.tolist()}): the fitted grid "
                                     "needs one constant diagonal fast noise")
        A = A_i
        drifts.append(b_i)
    what = "the fast drift is not reversible" if K.jump is None else "a chain is fast"
    if any(sp.diff(e, v) != 0 for e in A for v in y) or any(
            A[i, j] != 0 for i in range(d) for j in range(d) if i != j):
        raise NotReversibleError(
            f"{what} and the fast noise {A.tolist()} is not constant and diagonal: the "
            "exponentially fitted route needs independent fast noises of constant size")
    if not all(sp.sympify(e).is_polynomial(*y) for b_i in drifts for e in b_i):
        raise NotReversibleError(
            f"{what} and the fast drift is not polynomial in {list(y)}: the weight of the "
            "exponentially fitted route is the ray integral of A^-1 b_p, taken exactly for "
            "polynomial drifts")
    t = sp.Dummy("t", positive=True)
    Ainv = A.inv()
    mean = sum(drifts, sp.zeros(d, 1)) / len(drifts)
    ray = sp.expand(((Ainv * mean).subs({v: t * v for v in y}, simultaneous=True).T
                     * sp.Matrix(y))[0])
    g = sp.expand(sp.integrate(sp.Poly(ray, t).as_expr(), (t, 0, 1)))
    grad = sp.Matrix([sp.diff(g, v) for v in y])
    lap = sum((A[i, i] * sp.diff(g, y[i], 2) for i in range(d)), sp.S.Zero) / 2
    bps, Vps = [], []
    for lab, b_i in zip(modes, drifts):
        V = sum((q.potential for q in K.potential_parts if q.mode is None or q.mode == lab),
                sp.S.Zero)
        bps.append(sp.expand(b_i - A * grad))
        Vps.append(sp.expand(V - (b_i.T * grad)[0] - lap + (grad.T * A * grad)[0] / 2))
    return A, bps, Vps, g


def bernoulli(z: np.ndarray) -> np.ndarray:
    """:math:`B(z) = z / (e^z - 1) > 0` with :math:`B(0) = 1` (``1/scipy.special.exprel``)."""
    from scipy.special import exprel

    return 1.0 / exprel(z)


def fitted_matrix(grid: TensorGrid, A: np.ndarray, drift: Sequence[Callable],
                  potential: np.ndarray):
    r"""The Scharfetter-Gummel (exponentially fitted) matrix of
    :math:`b'\cdot\nabla + \tfrac12 A:\nabla^2 + V'` (``A`` diagonal) on ``grid`` with
    :math:`\psi = 0` outside. The weight of node :math:`j` towards :math:`j \pm 1` along an
    axis is :math:`\frac{a}{2h^2} B(\mp z)`, :math:`z = 2 b' h/a` at the cell midpoint
    (Scharfetter & Gummel, IEEE Trans. Electron Devices 16 (1969) 64): exact for constant
    coefficients, second order, and positive for any drift, so the matrix is Metzler.
    ``drift[k]`` maps the grid's coordinate arrays to :math:`b'_k`."""
    from scipy.sparse import coo_matrix

    shape = grid.shape
    N = int(np.prod(shape))
    idx = np.arange(N).reshape(shape)
    diag = np.array(np.broadcast_to(potential, shape), dtype=float)
    rows, cols, vals = [], [], []
    for k, ax in enumerate(grid.axes):
        h, a = ax.h, float(A[k, k])
        for sgn in (1, -1):
            mid = list(grid.points)
            mid[k] = grid.points[k] + sgn * h / 2
            with np.errstate(over="ignore", invalid="ignore"):
                bm = np.broadcast_to(np.asarray(drift[k](*mid), float), shape)
                wgt = a / (2 * h * h) * bernoulli(-sgn * 2 * bm * h / a)
            keep = np.ones(shape, bool)
            sl = [slice(None)] * len(shape)
            sl[k] = ax.m - 1 if sgn == 1 else 0
            keep[tuple(sl)] = False
            rows.append(idx[keep])
            cols.append(np.roll(idx, -sgn, axis=k)[keep])
            vals.append(wgt[keep])
            diag = diag - wgt            # across a face the weight still leaves: killing
    rows.append(idx.ravel())
    cols.append(idx.ravel())
    vals.append(diag.ravel())
    return coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(N, N)).tocsc()


def perron(M, guess: float | None) -> tuple[float, np.ndarray, np.ndarray]:
    """The Perron root of the Metzler ``M`` with its right and left eigenvectors (both
    positive): dense for small matrices (the eigenvalue of largest real part), otherwise
    shift-invert ARPACK above ``guess`` (a coarser grid's root), kept when the
    eigenvector is one-signed (only the Perron vector is)."""
    n = M.shape[0]
    if n <= _DENSE or guess is None:
        if n > 1600:
            raise UnsolvedError("internal: a dense Perron root of a large grid")
        Ad = M.toarray()
        w, U = np.linalg.eig(Ad)
        wl, Vl = np.linalg.eig(Ad.T)
        k, kl = int(np.argmax(w.real)), int(np.argmax(wl.real))
        return float(w[k].real), np.abs(U[:, k].real), np.abs(Vl[:, kl].real)
    from scipy.sparse.linalg import ArpackNoConvergence, eigs

    ones = np.ones(n)
    # shifts just above the guess first (fast), last above the largest row sum: a bound on
    # the Perron root of a Metzler matrix, where it is the nearest eigenvalue (slow, sure)
    bound = float(np.max(np.asarray(M.sum(axis=1)).ravel()))
    shifts = [guess + c * (1.0 + abs(guess)) for c in (0.05, 0.5, 2.0)]
    shifts.append(max(bound, shifts[-1]) + 1e-3 * (1.0 + abs(bound)))
    for sigma in shifts:
        try:
            w, U = eigs(M, k=1, sigma=sigma, which="LM", tol=1e-12, maxiter=50000, v0=ones)
        except ArpackNoConvergence:
            continue
        if abs(w[0].imag) < 1e-8 * (1 + abs(w[0])) and _one_signed(U[:, 0].real) > 0.99:
            _, Vl = eigs(M.T.tocsc(), k=1, sigma=sigma, which="LM", tol=1e-12,
                         maxiter=50000, v0=ones)
            return float(w[0].real), np.abs(U[:, 0].real), np.abs(Vl[:, 0].real)
    raise UnsolvedError("the Perron root of the exponentially fitted grid was not found "
                        "(no positive eigenvector near the coarse grid's root): try another n=")


def _check_confining(Vp: sp.Expr, T: Tilted, prm: Mapping) -> None:
    """Refuse a ray-integral weight that does not confine: the top-degree part of
    :math:`V'` at :math:`p = 0` must be negative in every direction (sampled on the unit
    sphere), else :math:`V' \to +\\infty` along some direction and the fitted grid's box
    fills with modes of the faces (the weight is then far from the fast law)."""
    y = T.fast
    V0 = sp.expand(sp.sympify(Vp).subs({q: 0 for q in T.momentum}).subs(prm))
    poly = sp.Poly(V0, *y)
    top = max(sum(mon) for mon in poly.monoms())
    lead = sum((c * sp.prod([v**e for v, e in zip(y, mon)])
                for mon, c in zip(poly.monoms(), poly.coeffs()) if sum(mon) == top),
               sp.S.Zero)
    free = lead.free_symbols - set(y)
    if free:
        raise NotReversibleError(f"the fitted grid's weight depends on {sorted(map(str, free))}"
                                 " with no value given: pass params=")
    d = len(y)
    rng = np.random.default_rng(0)
    dirs = rng.normal(size=(4000, d))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    vals = np.asarray(sp.lambdify(y, lead, "numpy")(*dirs.T), float) * np.ones(len(dirs))
    if top < 2 or float(np.max(vals)) >= 0:
        raise NotReversibleError(
            "the fast drift is not reversible, and the ray-integral weight of the fitted "
            f"grid does not confine it (the leading part {lead} of the conjugated potential "
            "is not negative in every direction): no numeric route for this non-reversible "
            "fast drift")


def box_grid_route(T: Tilted, n: int | None) -> dict | None:
    """The route's record for :func:`symavg.derive.ldp.hamiltonian`, or None when a
    fast variable is on a circle or a chain is fast (other routes)."""
    K = T.generator
    if not T.fast or any(v in K.periodic_map for v in T.fast):
        return None
    d = len(T.fast)
    if d > 3:
        raise UnsolvedError(f"{d} fast diffusion variables on the line: the tensor-grid "
                            "route covers at most 3 (its size grows as n**d)")
    modes = list(K.jump.states) if K.jump is not None else [None]
    try:
        if K.jump is not None:
            raise NotReversibleError("a chain is fast: no ground-state transform")
        A, U0, check = ground_state_potential(T)
        U, drift_c, kind, order = [U0], None, "symmetric", 4
    except NotReversibleError as why:
        A, drift_c, U, g = ray_weight_transform(T)      # raises when it does not apply
        kind, order = "fitted", 2
        check = Check("no ground-state transform: conjugated by the ray-integral weight e^g",
                      True, "symbolic", f"{why}; g = {g}")
    Q = None if K.jump is None else [[K.jump.rates[i, j] for j in range(len(modes))]
                                      for i in range(len(modes))]
    m = int(n) if n is not None else (GRID_POINTS if kind == "symmetric" else
                                      FITTED_POINTS)[d]
    if m < 8:
        raise UnsolvedError(f"n = {m} points per axis is too few: use n >= 8")
    args = [T.slow, T.momentum, *T.fast]
    zero_p = {q: 0 for q in T.momentum}
    nil = sp.zeros(len(T.slow), 1)
    b0 = sum((sp.Matrix(K.diffusion_in(lab)[0] if lab is not None else K.drift)
              for lab in modes), sp.zeros(d, 1)).subs(zero_p) / len(modes)
    f_slow = [sp.Matrix(T.slow_drift.get(None, nil)) + (sp.Matrix(T.slow_drift.get(lab, nil))
                                                         if lab is not None else nil)
              for lab in modes]

    def numeric(prm: Mapping) -> Callable:
        fU = [sp.lambdify(args, u_.subs(prm), "numpy") for u_ in U]
        ff = [[sp.lambdify(args, e.subs(prm), "numpy") for e in fs] for fs in f_slow]
        fq = None if Q is None else [[sp.lambdify(args, sp.sympify(e).subs(prm), "numpy")
                                      for e in row] for row in Q]
        fb0k = [sp.lambdify(args, e.subs(prm), "numpy") for e in b0]
        An = np.array(sp.Matrix(A).subs(prm).evalf(), dtype=float)
        if not np.all(np.isfinite(An)) or np.any(np.linalg.eigvalsh(An) <= 0):
            raise UnsolvedError(f"the fast diffusion matrix {An.tolist()} is not positive "
                                f"definite at {prm}")

        fd = None if drift_c is None else [[sp.lambdify(args, e.subs(prm), "numpy")
                                            for e in bp] for bp in drift_c]
        if fd is not None:
            for u_ in U:
                _check_confining(u_, T, prm)

        def on(grid: TensorGrid, f: Callable, x: np.ndarray, p: np.ndarray) -> np.ndarray:
            with np.errstate(over="ignore", invalid="ignore"):
                return np.broadcast_to(np.asarray(f(tuple(x), tuple(p), *grid.points), float),
                                       grid.shape)

        def matrix(x: np.ndarray, p: np.ndarray, box: Sequence, mm: int) -> tuple:
            from scipy.sparse import bmat, diags

            grid = TensorGrid([Axis(lo, hi, mm) for lo, hi in box])
            pots = [on(grid, f, x, p) for f in fU]
            if not all(np.all(np.isfinite(q)) for q in pots):
                raise UnsolvedError(f"the ground-state potential is not finite on the grid at "
                                    f"x = {list(x)}, p = {list(p)}")
            if fd is None:
                return (schrodinger_matrix(grid, An, pots[0]), grid,
                        upper_bound(An, pots[0], grid))
            X, P = tuple(x), tuple(p)
            blocks = [fitted_matrix(grid, An, [(lambda *yy, f=f: f(X, P, *yy)) for f in fs],
                                    q) for fs, q in zip(fd, pots)]
            if fq is None:
                return blocks[0], grid, None
            nb = len(blocks)
            rows = [[None] * nb for _ in range(nb)]
            for i in range(nb):
                for j in range(nb):
                    c = diags(on(grid, fq[i][j], x, p).ravel())
                    rows[i][j] = blocks[i] + c if i == j else c
            return bmat(rows, format="csc"), grid, None

        def solve(x: np.ndarray, p: np.ndarray, box: Sequence, mm: int,
                  near: float | None) -> tuple[float, np.ndarray, TensorGrid]:
            """The principal eigenvalue at ``mm`` points on ``box`` and the weight of each
            point in it (``psi**2``, or ``u v`` for the fitted grid)."""
            M, grid, bound = matrix(x, p, box, mm)
            if fd is None:
                val, psi = largest_eigenpair(M, bound, near=near)
                return val, psi ** 2, grid
            if near is None and M.shape[0] > _DENSE:
                coarse = max(8, int((_DENSE / len(modes)) ** (1 / d)))
                near = perron(matrix(x, p, box, coarse)[0], None)[0]
            val, u, v = perron(M, near)
            return val, (u * v).reshape((len(modes), -1)).sum(axis=0), grid

        def drift0(x: np.ndarray, yv: np.ndarray) -> np.ndarray:
            zero = tuple(np.zeros(len(T.momentum)))
            return np.array([float(f(tuple(x), zero, *yv)) for f in fb0k])

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
                        bt = -2 * sign * np.broadcast_to(np.asarray(fb0k[k](
                            tuple(x), tuple(np.zeros(len(T.momentum))), *pts), float),
                            t.shape) / An[k, k]
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

            While a face carries more than BOX_WEIGHT of the weight (``psi**2``, or ``u v``),
            the axes with heavy faces grow by 5/4 around the weight's mean; once every face
            is light, an axis wider than twice ``_WIDTHS`` standard deviations shrinks (by
            at most half per pass) around the mean. The first box with light faces and no
            axis to shrink is taken. The search starts from the box of
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
            near = None
            for _ in range(_MAX_GROW):
                val, weight, grid = solve(x, p, box, m, near)
                near = val
                # not confined (V - W -> +inf along some direction, H = +inf): the ground
                # state sits on the faces and the eigenvalue rises faster and faster as
                # the box grows (a confined one converges: its increments shrink)
                heavy = grid.face_weight(weight) > 1e-3
                inc = None if last is None else val - last
                rising = (rising + 1 if heavy and inc is not None and inc > 0 and
                          (step is None or inc >= 0.8 * step) else 0)
                last, step = val, inc
                if rising >= 4:
                    fitted[key] = (box, math.inf)
                    return box, math.inf
                w = weight.reshape(grid.shape)
                w = w / w.sum()
                stats = []
                for k, (lo, hi) in enumerate(box):
                    marg = w.sum(axis=tuple(j for j in range(d) if j != k))
                    pts = grid.axes[k].points
                    mu = float(marg @ pts)
                    sd = float(np.sqrt(max(marg @ (pts - mu) ** 2, 0.0)))
                    stats.append((mu, sd, max(float(marg[0]), float(marg[-1])), (hi - lo) / 2))
                light = all(face <= BOX_WEIGHT for _, _, face, _ in stats)
                fits = light and all(half <= 2 * _WIDTHS * sd for _, sd, _, half in stats)
                if light:
                    # the ground state is inside: shrink an axis that wastes the grid, at
                    # most by half per pass, around its mean
                    new = [(mu - max(_WIDTHS * sd, half / 2), mu + max(_WIDTHS * sd, half / 2))
                           if half > 2 * _WIDTHS * sd else (mu - half, mu + half)
                           for mu, sd, _, half in stats]
                else:
                    # grow the axes whose faces are heavy, following the mean
                    new = [(mu - _GROW * half, mu + _GROW * half) if face > BOX_WEIGHT
                           else (lo, hi) for (mu, _, face, half), (lo, hi) in zip(stats, box)]
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
            return solve(x, p, box, mm, val)[0]

        def fn(x: np.ndarray, p: np.ndarray) -> float:
            e1 = eig(x, p, m)
            if not math.isfinite(e1):
                return e1
            e2 = eig(x, p, 2 * m)
            return e2 + (e2 - e1) / (2 ** order - 1)

        def average(x: np.ndarray) -> np.ndarray:
            r"""``<f>`` under the fast law at ``x``: the weight at :math:`p = 0` (the ground
            state's square, or ``u v`` per chain state: the invariant law) against ``f``,
            at ``2 m`` points."""
            x = np.atleast_1d(np.asarray(x, float))
            p0 = np.zeros(len(T.momentum))
            box, val = fitted_box(x, p0)
            M, grid, bound = matrix(x, p0, box, 2 * m)
            if fd is None:
                _, psi = largest_eigenpair(M, bound, near=val)
                w = (psi ** 2)[None, :]
            else:
                _, u, v = perron(M, val)
                w = (u * v).reshape((len(modes), -1))
            w = w / float(w.sum())
            return np.array([sum(float(np.sum(w[i] * on(grid, ff[i][k], x, p0).ravel()))
                                 for i in range(len(modes))) for k in range(len(T.slow))])

        fn.eig = eig  # type: ignore[attr-defined]
        fn.order = order  # type: ignore[attr-defined]
        fn.average = average  # type: ignore[attr-defined]
        fn.box_check = lambda x, p: (eig(x, p, 2 * m), eig(x, p, 2 * m, _GROW))  # type: ignore[attr-defined]
        return fn

    names = ", ".join(map(str, T.fast))
    if kind == "symmetric":
        text = ("No closed form. The tilted fast drift is reversible (A^{-1} b_p is a "
                "gradient), so the ground-state transform psi = e^{phi/2} u turns K_p into the "
                "symmetric operator A:grad^2/2 + V - W below, whose ground state decays. Its "
                f"largest eigenvalue in {names}: fourth-order central differences on a box "
                f"with psi = 0 outside, at {m} and {2 * m} points per axis, "
                "Richardson-extrapolated; the box is centred at the fast drift's stable point "
                f"and fitted until each face carries less than {BOX_WEIGHT:g} of psi^2.")
        strategy = "numeric principal eigenvalue (ground-state transform, box grid)"
        shown: tuple = ((r"V - W", U),)
    else:
        chain = (f" with a fast chain ({len(modes)} states, one block each, coupled by Q(y))"
                 if Q is not None else "")
        text = (f"No closed form, and no ground-state transform{chain}: K_p conjugated "
                "by the ray-integral weight e^g (g below; exact for a reversible drift) keeps "
                "the drift b' below but has decaying eigenfunctions. Its Perron root in "
                f"{names}: the Scharfetter-Gummel (exponentially fitted) discretisation, a "
                "Metzler matrix for any drift, on a box with psi = 0 outside, at "
                f"{m} and {2 * m} points per axis, Richardson-extrapolated (second order); the "
                f"box is fitted until each face carries less than {BOX_WEIGHT:g} of u v (the "
                "right and left eigenvectors).")
        strategy = "numeric principal eigenvalue (ray-weighted fitted grid, box)"
        shown = (("g", g), *((rf"b'_{{{lab}}}" if lab is not None else "b'", bp)
                             for lab, bp in zip(modes, drift_c)),
                 *((rf"V'_{{{lab}}}" if lab is not None else "V'", q)
                   for lab, q in zip(modes, U)))
    step = Step("principal eigenvalue", text, shown, (check,), strategy)
    return dict(expr=None, eigenfunction=None, characteristic=None, steps=[step],
                strategy=strategy, numeric=numeric, grid=m, own_average=True)
