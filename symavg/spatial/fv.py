r"""Cell-centred finite-volume solvers for :math:`-\nabla\cdot(a\nabla u) = 0` on a box.

The box is cut into ``n_1 x ... x n_d`` cells of size ``h_j = L_j / n_j``;
``a`` is constant in each cell (a scalar conductivity, or one value per
direction for a diagonal tensor). The discretisation is the two-point flux
approximation: the conductance of the bond between neighbouring cells ``i``
and ``i'`` across a face normal to ``e_j`` is

.. math::

    c = \frac{1}{h_j^2}\,\frac{2 a_i a_{i'}}{a_i + a_{i'}}

(the harmonic mean: two half-cells in series), and a cell touching the
boundary is joined to a node on the face by a half-cell bond
:math:`c_b = 2 a_i / h_j^2`. With bond currents :math:`I = c\,\Delta u` the
discrete energy density is :math:`W = N^{-1}\sum_{\rm bonds} c\,(\Delta u)^2`
(``N`` cells). Three boundary conditions give three apparent tensors of the
sample:

* periodic: :math:`u = E\cdot y + \chi`, :math:`\chi` periodic,
  :math:`E\cdot A_P E = \min_\chi W`;
* affine Dirichlet (kinematic): :math:`u = E\cdot y` on the boundary nodes,
  :math:`E\cdot A_D E = \min W`;
* uniform flux (static): boundary currents :math:`\Sigma\cdot n / h_j`
  prescribed, :math:`\Sigma\cdot A_N^{-1}\Sigma = \min N^{-1}\sum I^2/c`.

The discrete variational principles give, for every sample, exactly

.. math::

    \langle a^{-1}\rangle^{-1} \le A_N \le A_P \le A_D \le \langle a\rangle

(in the sense of quadratic forms): the Dirichlet potential, shifted by
``E.y``, is a periodic competitor (a periodic bond is the series connection
of the two boundary half-bonds), the Neumann flux glued across opposite
faces is a periodic flux competitor with the same complementary energy, and
the uniform potential / uniform flux give the Voigt / Reuss bounds.

Every linear system is solved by preconditioned conjugate gradients, the
preconditioner being the same operator with constant coefficients,
diagonalised by the FFT (periodic), the DST-II (Dirichlet) or the DCT-II
(Neumann): the iteration count depends on the contrast only, not on the
grid size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft
import scipy.sparse as sps

from ..errors import ModelError, SymavgError

BCS = ("periodic", "dirichlet", "neumann")


class SolverError(SymavgError):
    """An iterative solve did not converge within its iteration budget."""


@dataclass(frozen=True)
class FVSolution:
    """Apparent tensor of one sample and solver statistics."""

    tensor: np.ndarray
    bc: str
    iterations: tuple[int, ...]
    residual: float


def _as_fields(a: np.ndarray, d: int | None = None) -> tuple[np.ndarray, int]:
    """Return ``(fields, d)`` with ``fields`` of shape ``(d, *grid)`` (one
    conductivity per direction)."""
    a = np.asarray(a, dtype=float)
    if d is None:
        d = a.ndim
        fields = np.broadcast_to(a, (d,) + a.shape)
    else:
        fields = a if a.ndim == d + 1 else np.broadcast_to(a, (d,) + a.shape)
    if not np.all(np.isfinite(fields)) or np.any(fields <= 0):
        bad = np.argwhere(~(fields > 0))[0]
        raise ModelError(
            f"the conductivity must be positive and finite in every cell; cell {tuple(bad[1:])} "
            f"(direction {bad[0]}) has {fields[tuple(bad)]!r}. Fix the coefficient field or "
            "the parameter values."
        )
    return fields, d


#: why each boundary condition needs at least two cells in every direction
SMALL_SAMPLE_REASON = {
    "periodic": "a periodic bond would join a cell to itself, and the apparent tensor "
                "across would be just the arithmetic (Voigt) average of the column",
    "dirichlet": "with one cell across, the affine boundary data fix the potential drop "
                 "of every cell and the apparent tensor is just the arithmetic (Voigt) "
                 "average of the column",
    "neumann": "with one cell across, the uniform boundary flux fixes the current of "
               "every cell and the apparent tensor is just the harmonic (Reuss) "
               "average of the column",
}


def check_sample_size(shape: tuple[int, ...], bc: str) -> None:
    """Raise :class:`~symavg.errors.ModelError` when a sample of ``shape`` cells is
    too small for the boundary condition ``bc`` (fewer than 2 cells in some
    direction), naming the direction and the fix."""
    for j, n in enumerate(shape):
        if n < 2:
            raise ModelError(
                f"the sample has {n} cell(s) in direction {j} (shape {tuple(shape)}), too "
                f"small for the {bc} boundary condition: {SMALL_SAMPLE_REASON[bc]}. Use at "
                "least 2 cells in every direction: a larger sample, or a finer resolution of the "
                "medium (pixels per unit length)."
            )


def _harm(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.multiply(x, y)
    out *= 2.0
    out /= x + y
    return out


def _dot(x: np.ndarray, y: np.ndarray) -> float:
    # einsum rather than BLAS: OpenBLAS threads contend with the FFT threads on small machines
    return float(np.einsum("i,i->", x.ravel(), y.ravel()))


def pcg(apply_k: Callable[[np.ndarray], np.ndarray], b: np.ndarray,
        precond: Callable[[np.ndarray], np.ndarray], tol: float = 1e-10,
        maxiter: int = 5000) -> tuple[np.ndarray, int, float]:
    """Preconditioned conjugate gradients for ``K x = b`` (``K`` symmetric
    positive semidefinite, ``b`` in its range). ``apply_k`` may return a work
    buffer that its next call overwrites (``K p`` is used once per iteration).
    Returns ``(x, iterations, relative residual)``; raises :class:`SolverError`
    if ``maxiter`` is hit."""
    x = np.zeros_like(b)
    bnorm = float(np.sqrt(_dot(b, b)))
    if bnorm == 0.0:
        return x, 0, 0.0
    r = b.copy()
    z = precond(r)
    p = z.copy()
    tmp = np.empty_like(b)  # reused: fresh large temporaries cost page faults
    rz = _dot(r, z)
    for it in range(1, maxiter + 1):
        q = apply_k(p)
        alpha = rz / _dot(p, q)
        np.multiply(p, alpha, out=tmp)
        x += tmp
        np.multiply(q, alpha, out=tmp)
        r -= tmp
        res = float(np.sqrt(_dot(r, r))) / bnorm
        if res < tol:
            return x, it, res
        z = precond(r)
        rz_new = _dot(r, z)
        p *= rz_new / rz
        p += z
        rz = rz_new
    raise SolverError(
        f"conjugate gradients did not reach the tolerance {tol:g} in {maxiter} iterations "
        f"(relative residual {res:.2e}); the contrast may be too high: raise maxiter."
    )


class FVProblem:
    """The finite-volume operator of one sample with one boundary condition.

    Parameters
    ----------
    a : ndarray
        Cell conductivities, shape ``grid`` (isotropic) or ``(d, *grid)``
        (diagonal tensor, one conductivity per direction).
    bc : {"periodic", "dirichlet", "neumann"}
    lengths : sequence of float, optional
        Box side lengths (default: one per cell, ``h_j = 1``).
    d : int, optional
        Dimension, when ``a`` holds one field per direction.
    workers : int, optional
        Threads for ``scipy.fft`` (default 1).
    """

    def __init__(self, a: np.ndarray, bc: str = "periodic",
                 lengths: tuple[float, ...] | None = None, d: int | None = None,
                 workers: int | None = None) -> None:
        if bc not in BCS:
            raise ModelError(f"unknown boundary condition {bc!r}; use one of {BCS}")
        self.fields, self.d = _as_fields(a, d)
        self.shape = self.fields.shape[1:]
        check_sample_size(self.shape, bc)
        self.n_cells = int(np.prod(self.shape))
        self.bc = bc
        if lengths is None:
            lengths = tuple(float(n) for n in self.shape)
        self.h = tuple(float(L) / n for L, n in zip(lengths, self.shape))
        self.c_int: list[np.ndarray] = []
        for j in range(self.d):
            aj = self.fields[j]
            if bc == "periodic":
                c = _harm(aj, np.roll(aj, -1, axis=j))
            else:
                lo = np.take(aj, range(self.shape[j] - 1), axis=j)
                hi = np.take(aj, range(1, self.shape[j]), axis=j)
                c = _harm(lo, hi)
            self.c_int.append(c / self.h[j] ** 2)
        self.c_lo = [2.0 * np.take(self.fields[j], [0], axis=j) / self.h[j] ** 2
                     for j in range(self.d)]
        self.c_hi = [2.0 * np.take(self.fields[j], [self.shape[j] - 1], axis=j) / self.h[j] ** 2
                     for j in range(self.d)]
        self.workers = workers
        self._out = np.empty(self.shape)
        self._flux = [np.empty(c.shape) for c in self.c_int]
        self._eig = self._precond_eigenvalues()
        self._eig_r = self._eig[..., : self.shape[-1] // 2 + 1]

    # -------------------------------------------------------------- operator
    def apply(self, u: np.ndarray) -> np.ndarray:
        """``K u``: minus the discrete divergence of the bond currents
        (homogeneous boundary data)."""
        return self._apply_into(u).copy()

    def _sl(self, j: int, start: int | None, stop: int | None) -> tuple:
        s = [slice(None)] * self.d
        s[j] = slice(start, stop)
        return tuple(s)

    def _apply_into(self, u: np.ndarray) -> np.ndarray:
        """``K u`` into a work buffer owned by the problem (overwritten by the next
        call). Large temporaries cost page faults that dominate the arithmetic, so
        every operation here is in place."""
        out = self._out
        out.fill(0.0)
        for j in range(self.d):
            c, f = self.c_int[j], self._flux[j]
            hi, lo = self._sl(j, 1, None), self._sl(j, 0, -1)
            if self.bc == "periodic":
                # f_i = c_i (u_{i+1} - u_i) with wrap-around; out_i -= f_i - f_{i-1}
                np.subtract(u[hi], u[lo], out=f[lo])
                np.subtract(u[self._sl(j, 0, 1)], u[self._sl(j, -1, None)],
                            out=f[self._sl(j, -1, None)])
                f *= c
                out -= f
                out[hi] += f[lo]
                out[self._sl(j, 0, 1)] += f[self._sl(j, -1, None)]
            else:
                np.subtract(u[hi], u[lo], out=f)
                f *= c
                out[lo] -= f
                out[hi] += f
                if self.bc == "dirichlet":
                    s0, s1 = self._sl(j, 0, 1), self._sl(j, -1, None)
                    out[s0] += self.c_lo[j] * u[s0]
                    out[s1] += self.c_hi[j] * u[s1]
        return out

    def _precond_eigenvalues(self) -> np.ndarray:
        f = self.fields
        if f.strides[0] == 0:  # one isotropic field broadcast over the directions
            f = f[0]
        a0 = float(np.exp(np.mean(np.log(f))))
        lam = np.zeros(self.shape)
        for j, n in enumerate(self.shape):
            k = np.arange(n)
            if self.bc == "periodic":
                ev = 4.0 * np.sin(np.pi * k / n) ** 2
            elif self.bc == "dirichlet":
                ev = 4.0 * np.sin(np.pi * (k + 1) / (2 * n)) ** 2
            else:
                ev = 4.0 * np.sin(np.pi * k / (2 * n)) ** 2
            shp = [1] * self.d
            shp[j] = n
            lam += (a0 / self.h[j] ** 2) * ev.reshape(shp)
        inv = np.zeros(self.shape)
        np.divide(1.0, lam, out=inv, where=lam > 1e-300)
        return inv

    def precondition(self, r: np.ndarray) -> np.ndarray:
        """Apply the inverse of the constant-coefficient operator (zero mean
        for the periodic and Neumann problems)."""
        if self.bc == "periodic":
            rh = sfft.rfftn(r, workers=self.workers)
            rh *= self._eig_r
            return sfft.irfftn(rh, s=self.shape, workers=self.workers)
        if self.bc == "dirichlet":
            return sfft.idstn(sfft.dstn(r, type=2, norm="ortho", workers=self.workers) * self._eig,
                              type=2, norm="ortho", workers=self.workers)
        return sfft.idctn(sfft.dctn(r, type=2, norm="ortho", workers=self.workers) * self._eig,
                          type=2, norm="ortho", workers=self.workers)

    # -------------------------------------------------------------- loads
    def _slab(self, j: int, idx: int) -> tuple:
        s = [slice(None)] * self.d
        s[j] = slice(idx, idx + 1)
        return tuple(s)

    def _rhs_affine(self, k: int) -> np.ndarray:
        """Right-hand side of the fluctuation problem for ``E = e_k``."""
        b = np.zeros(self.shape)
        hk = self.h[k]
        g = self.c_int[k] * hk
        if self.bc == "periodic":
            b += g - np.roll(g, 1, axis=k)
        else:
            n = self.shape[k]
            lo = [slice(None)] * self.d
            hi = [slice(None)] * self.d
            lo[k] = slice(0, n - 1)
            hi[k] = slice(1, n)
            b[tuple(lo)] += g
            b[tuple(hi)] -= g
            b[self._slab(k, 0)] -= self.c_lo[k] * hk / 2
            b[self._slab(k, n - 1)] += self.c_hi[k] * hk / 2
        return b

    def _bond_differences(self, w: np.ndarray, k: int) -> list[list[np.ndarray]]:
        """Potential differences across all bonds for ``u = e_k.y + w``."""
        out = []
        for j in range(self.d):
            shift = self.h[j] if j == k else 0.0
            if self.bc == "periodic":
                out.append([np.roll(w, -1, axis=j) - w + shift])
            else:
                n = self.shape[j]
                lo = -w[self._slab(j, 0)] - shift / 2
                hi = -w[self._slab(j, n - 1)] + shift / 2
                out.append([np.diff(w, axis=j) + shift, lo, hi])
        return out

    def _conductances(self, j: int) -> list[np.ndarray]:
        if self.bc == "periodic":
            return [self.c_int[j]]
        return [self.c_int[j], self.c_lo[j], self.c_hi[j]]

    def _rhs_flux(self, k: int) -> np.ndarray:
        b = np.zeros(self.shape)
        n = self.shape[k]
        b[self._slab(k, n - 1)] += 1.0 / self.h[k]
        b[self._slab(k, 0)] -= 1.0 / self.h[k]
        return b

    # -------------------------------------------------------------- solve
    def apparent_tensor(self, tol: float = 1e-10, maxiter: int = 5000) -> FVSolution:
        """Solve the ``d`` load cases and return the apparent tensor.

        Periodic and Dirichlet: :math:`A_{kl} = N^{-1}\\sum c\\,\\Delta u^k\\Delta u^l`.
        Neumann: :math:`(A^{-1})_{kl} = N^{-1}\\sum I^k I^l / c`.
        """
        d = self.d
        its = []
        worst = 0.0
        if self.bc in ("periodic", "dirichlet"):
            diffs = []
            for k in range(d):
                w, it, res = pcg(self._apply_into, self._rhs_affine(k), self.precondition,
                                 tol, maxiter)
                its.append(it)
                worst = max(worst, res)
                diffs.append(self._bond_differences(w, k))
            A = np.zeros((d, d))
            for j in range(d):
                cs = self._conductances(j)
                for k in range(d):
                    for m in range(k, d):
                        A[k, m] += sum(float(np.sum(c * dk * dm)) for c, dk, dm
                                       in zip(cs, diffs[k][j], diffs[m][j]))
            A = A / self.n_cells
            A = np.triu(A) + np.triu(A, 1).T
        else:
            currents = []
            for k in range(d):
                b = self._rhs_flux(k)
                u, it, res = pcg(self._apply_into, b, self.precondition, tol, maxiter)
                its.append(it)
                worst = max(worst, res)
                cur = []
                for j in range(d):
                    cb = 1.0 / self.h[j] if j == k else 0.0
                    cur.append([self.c_int[j] * np.diff(u, axis=j),
                                np.full_like(self.c_lo[j], -cb),
                                np.full_like(self.c_hi[j], cb)])
                currents.append(cur)
            H = np.zeros((d, d))
            for j in range(d):
                cs = self._conductances(j)
                for k in range(d):
                    for m in range(k, d):
                        H[k, m] += sum(float(np.sum(ik * im / c)) for c, ik, im
                                       in zip(cs, currents[k][j], currents[m][j]))
            H = H / self.n_cells
            H = np.triu(H) + np.triu(H, 1).T
            A = np.linalg.inv(H)
            A = 0.5 * (A + A.T)
        return FVSolution(A, self.bc, tuple(its), worst)

    # -------------------------------------------------------------- sparse
    def sparse_matrix(self) -> sps.csr_matrix:
        """The operator ``K`` as a sparse matrix (for direct solves and tests)."""
        n = self.n_cells
        idx = np.arange(n).reshape(self.shape)
        rows, cols, vals = [], [], []
        diag = np.zeros(self.shape)
        for j in range(self.d):
            c = self.c_int[j]
            if self.bc == "periodic":
                i0, i1 = idx, np.roll(idx, -1, axis=j)
                diag += c + np.roll(c, 1, axis=j)
            else:
                m = self.shape[j]
                i0 = np.take(idx, range(m - 1), axis=j)
                i1 = np.take(idx, range(1, m), axis=j)
                lo = [slice(None)] * self.d
                hi = [slice(None)] * self.d
                lo[j] = slice(0, m - 1)
                hi[j] = slice(1, m)
                diag[tuple(lo)] += c
                diag[tuple(hi)] += c
                if self.bc == "dirichlet":
                    diag[self._slab(j, 0)] += self.c_lo[j]
                    diag[self._slab(j, m - 1)] += self.c_hi[j]
            rows += [i0.ravel(), i1.ravel()]
            cols += [i1.ravel(), i0.ravel()]
            vals += [-c.ravel(), -c.ravel()]
        rows.append(idx.ravel())
        cols.append(idx.ravel())
        vals.append(diag.ravel())
        return sps.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                              shape=(n, n))


def apparent_tensor(a: np.ndarray, bc: str = "periodic", lengths: tuple[float, ...] | None = None,
                    tol: float = 1e-10, maxiter: int = 5000) -> FVSolution:
    """Apparent conductivity tensor of a pixel/voxel sample; see :class:`FVProblem`.

    Parameters
    ----------
    a : ndarray
        The conductivity per pixel (voxel): shape ``grid``, or ``(d, *grid)`` for a diagonal
        tensor.
    bc : {"periodic", "dirichlet", "neumann"}
        The boundary condition (affine for Dirichlet, uniform flux for Neumann).
    lengths : tuple of float, optional
        The side lengths of the sample (default: one per pixel).
    tol, maxiter : float, int
        The tolerance and the iteration limit of the conjugate-gradient solver.

    Returns
    -------
    FVSolution
        ``tensor`` (``d x d``), ``bc``, the solver's ``iterations`` and ``residual``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.ones((8, 8)); a[:4, :] = 4.0        # layers across axis 0: harmonic mean in x
    >>> t = apparent_tensor(a).tensor
    >>> round(float(t[0, 0]), 6), round(float(t[1, 1]), 6)
    (1.6, 2.5)
    """
    return FVProblem(a, bc, lengths).apparent_tensor(tol, maxiter)


def periodic_direct(a: np.ndarray, lengths: tuple[float, ...] | None = None) -> np.ndarray:
    """The periodic apparent tensor by a sparse direct solve (one unknown pinned
    to remove the constants), same discretisation as :class:`FVProblem`."""
    from scipy.sparse.linalg import spsolve

    prob = FVProblem(a, "periodic", lengths)
    K = prob.sparse_matrix()[1:, 1:].tocsc()  # pin chi_0 = 0
    d = prob.d
    diffs = []
    for k in range(d):
        b = prob._rhs_affine(k).ravel()
        w = np.concatenate([[0.0], spsolve(K, b[1:])]).reshape(prob.shape)
        diffs.append(prob._bond_differences(w, k))
    A = np.zeros((d, d))
    for j in range(d):
        c = prob.c_int[j]
        for k in range(d):
            for m in range(d):
                A[k, m] += float(np.sum(c * diffs[k][j][0] * diffs[m][j][0]))
    return A / prob.n_cells
