r"""Elementary bounds on effective conductivity tensors.

* Voigt (arithmetic) and Reuss (harmonic) bounds, for any coefficient field
  (Wiener bounds):

  .. math:: \langle A^{-1}\rangle^{-1} \le A^* \le \langle A\rangle .

* Hashin-Shtrikman bounds for an isotropic, statistically isotropic
  ``m``-phase medium in ``d`` dimensions with phase conductivities
  :math:`\sigma_i` and volume fractions :math:`f_i` (Hashin & Shtrikman,
  J. Appl. Phys. 33 (1962) 3125; Torquato, *Random Heterogeneous Materials*,
  2002, eq. 21.23; Milton, *The Theory of Composites*, 2002, Sec. 23.1):

  .. math::

      \sigma_{HS}^{\pm} = \Lambda(\sigma_{\max / \min}),\qquad
      \Lambda(s) = \Big[\sum_i \frac{f_i}{\sigma_i + (d-1)s}\Big]^{-1} - (d-1)s .
"""

from __future__ import annotations

import numpy as np


def voigt_reuss(A: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Voigt :math:`\\langle A\\rangle` and Reuss :math:`\\langle A^{-1}\\rangle^{-1}` of a
    gridded field (shape ``grid`` for a scalar, ``(d, d, *grid)`` for a matrix).

    Parameters
    ----------
    A : ndarray
        The conductivity on a grid: shape ``grid`` (scalar) or ``(d, d, *grid)``.
    d : int
        The dimension.

    Returns
    -------
    (ndarray, ndarray)
        The Voigt (arithmetic) and the Reuss (harmonic) mean, each ``d x d``.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.ones((4, 4)); A[:2] = 4.0           # a laminate: half 1, half 4
    >>> voigt, reuss = voigt_reuss(A, 2)
    >>> float(voigt[0, 0]), float(reuss[0, 0])
    (2.5, 1.6)
    """
    A = np.asarray(A, dtype=float)
    if A.ndim == d:  # scalar
        return np.mean(A) * np.eye(d), np.eye(d) / np.mean(1.0 / A)
    flat = np.moveaxis(A.reshape(d, d, -1), -1, 0)
    voigt = flat.mean(axis=0)
    reuss = np.linalg.inv(np.linalg.inv(flat).mean(axis=0))
    return voigt, 0.5 * (reuss + reuss.T)


def hashin_shtrikman(values: tuple[float, ...], fractions: tuple[float, ...],
                     d: int) -> tuple[float, float]:
    r"""Lower and upper Hashin-Shtrikman bounds of an isotropic multiphase medium.

    Parameters
    ----------
    values : phase conductivities :math:`\sigma_i > 0`
    fractions : volume fractions :math:`f_i` (summing to one)
    d : dimension (2 or 3)

    Returns
    -------
    (float, float)
        The lower and the upper bound of the effective conductivity.

    Examples
    --------
    >>> lo, hi = hashin_shtrikman((1.0, 4.0), (0.5, 0.5), 2)
    >>> round(lo, 4), round(hi, 4)
    (1.8571, 2.1538)
    """
    s = np.asarray(values, dtype=float)
    f = np.asarray(fractions, dtype=float)
    f = f / f.sum()

    def lam(t: float) -> float:
        return float(1.0 / np.sum(f / (s + (d - 1) * t)) - (d - 1) * t)

    return lam(float(s.min())), lam(float(s.max()))


def is_between(lower: np.ndarray, A: np.ndarray, upper: np.ndarray, rtol: float = 1e-8) -> bool:
    """``lower <= A <= upper`` as quadratic forms, up to ``rtol`` times the scale."""
    scale = float(np.max(np.abs(upper))) or 1.0
    lo = np.linalg.eigvalsh(0.5 * ((A - lower) + (A - lower).T)).min()
    hi = np.linalg.eigvalsh(0.5 * ((upper - A) + (upper - A).T)).min()
    return bool(lo >= -rtol * scale and hi >= -rtol * scale)
