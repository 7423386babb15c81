r"""Fourier-Galerkin (Moulinec-Suquet) solver of the periodic cell problem.

For a symmetric positive definite coefficient field :math:`A(y)` on the box
:math:`Y = \prod_j [0, L_j)` and a macroscopic gradient :math:`E`, find the
periodic, mean-zero gradient field :math:`e = \nabla\chi` with

.. math::

    \nabla\cdot\big(A(y)\,(E + e)\big) = 0, \qquad
    A^* E = \langle A\,(E + e)\rangle .

The unknown :math:`e` lives in the space of compatible (curl-free, mean
zero) fields, onto which the Green operator :math:`\Gamma` with Fourier
symbol :math:`\hat\Gamma(\xi) = \xi\xi^T/|\xi|^2` projects. The discrete
problem (trigonometric collocation on an ``n_1 x ... x n_d`` grid, the
Fourier-Galerkin method with trapezoidal quadrature) is

.. math::

    \Gamma\big(A\,e\big) = -\Gamma\big(A\,E\big),

which is symmetric positive definite on compatible fields and is solved by
conjugate gradients (Zeman, Vondrejc, Novak & Marek, J. Comput. Phys. 229
(2010) 8065); its condition number is bounded by the contrast
:math:`\max\lambda(A)/\min\lambda(A)`, independently of the grid. Each
iteration costs ``2 d`` real FFTs. For an even ``n_j`` the Nyquist
wavenumber is dropped from the gradient, so the discrete fields stay real.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft

from .fv import SolverError, _dot


@dataclass(frozen=True)
class SpectralSolution:
    """The effective tensor on one grid and the solver statistics."""

    tensor: np.ndarray
    iterations: tuple[int, ...]
    residual: float
    shape: tuple[int, ...]


def _wavevectors(shape: tuple[int, ...], lengths: tuple[float, ...]) -> list[np.ndarray]:
    d = len(shape)
    xis = []
    for j, (n, L) in enumerate(zip(shape, lengths)):
        k = sfft.rfftfreq(n, 1.0 / n) if j == d - 1 else sfft.fftfreq(n, 1.0 / n)
        k = np.array(k, dtype=float)
        if n % 2 == 0:
            k[np.abs(k) == n // 2] = 0.0  # drop the Nyquist mode from derivatives
        shp = [1] * d
        shp[j] = k.size
        xis.append((2.0 * np.pi / L) * k.reshape(shp))
    return xis


def spectral_effective_tensor(A: np.ndarray, lengths: tuple[float, ...], tol: float = 1e-10,
                              maxiter: int = 2000, workers: int | None = None
                              ) -> SpectralSolution:
    r"""Effective tensor of a gridded coefficient field by FFT-preconditioned CG.

    Parameters
    ----------
    A : ndarray
        Either shape ``grid`` (scalar conductivity), or ``(d, d, *grid)``
        (a symmetric matrix at every grid point), sampled at the cell centres
        :math:`y_i = (i + 1/2) L/n`.
    lengths : tuple of float
        The periods :math:`L_j`.
    tol : float
        Relative residual of :math:`\Gamma(A(E+e))` at which CG stops.

    Returns
    -------
    SpectralSolution
        ``tensor`` is :math:`A^*_{ik} = \langle (A(e_k + e^{(k)}))_i\rangle`.
    """
    A = np.asarray(A, dtype=float)
    d = len(lengths)
    scalar = A.ndim == d
    shape = A.shape if scalar else A.shape[2:]
    if not scalar and A.shape[:2] != (d, d):
        raise ValueError("A must have shape grid or (d, d, *grid)")
    xis = _wavevectors(shape, lengths)
    xi2 = sum(x**2 for x in xis)
    inv = np.where(xi2 > 0, 1.0 / np.where(xi2 > 0, xi2, 1.0), 0.0)
    axes = tuple(range(d))
    # work buffers, reused: fresh large temporaries cost page faults that rival the FFTs
    g_out = np.empty((d,) + tuple(shape))
    a_out = np.empty((d,) + tuple(shape))
    tmp = np.empty((d,) + tuple(shape))

    def gamma(f: np.ndarray) -> np.ndarray:
        """Green operator into ``g_out`` (overwritten by the next call)."""
        s = None
        for j in range(d):
            fh = sfft.rfftn(f[j], axes=axes, workers=workers)
            fh *= xis[j]
            if s is None:
                s = fh
            else:
                s += fh
        s *= inv
        for j in range(d):
            g_out[j] = sfft.irfftn(xis[j] * s, s=shape, axes=axes, workers=workers)
        return g_out

    def amul(e: np.ndarray, out: np.ndarray) -> np.ndarray:
        if scalar:
            np.multiply(A, e, out=out)
            return out
        for i in range(d):
            np.multiply(A[i, 0], e[0], out=out[i])
            for j in range(1, d):
                np.multiply(A[i, j], e[j], out=tmp[0])
                out[i] += tmp[0]
        return out

    Aeff = np.zeros((d, d))
    its = []
    worst = 0.0
    for k in range(d):
        E = np.zeros((d,) + tuple(shape))
        E[k] = 1.0
        AE = amul(E, np.empty_like(E))
        b = -gamma(AE)
        x = np.zeros_like(b)
        bnorm = float(np.sqrt(_dot(b, b)))
        it = 0
        res = 0.0
        if bnorm > 0.0:
            r = b.copy()
            p = r.copy()
            rr = _dot(r, r)
            ref = float(np.sqrt(_dot(AE, AE)))
            for it in range(1, maxiter + 1):  # noqa: B007 - it is reported
                q = gamma(amul(p, a_out))
                alpha = rr / _dot(p, q)
                np.multiply(p, alpha, out=tmp)
                x += tmp
                np.multiply(q, alpha, out=tmp)
                r -= tmp
                rr_new = _dot(r, r)
                res = float(np.sqrt(rr_new)) / ref
                if res < tol:
                    break
                p *= rr_new / rr
                p += r
                rr = rr_new
            else:
                raise SolverError(
                    f"spectral CG did not converge in {maxiter} iterations (residual {res:.1e}); "
                    "the contrast is very high: raise maxiter or use scheme='fv'."
                )
        x += E
        flux = amul(x, a_out)
        Aeff[:, k] = [float(np.mean(flux[i])) for i in range(d)]
        its.append(it)
        worst = max(worst, res)
    return SpectralSolution(Aeff, tuple(its), worst, tuple(shape))
