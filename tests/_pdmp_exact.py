"""The exact mean exit time of the feedback-type two-state PDMP, shared by the LDP tests
(``tests/test_ldp.py``, ``tests/test_ldp_splitting.py``): an independent reference for the
simulators, computed by quadrature of the backward equations."""

from __future__ import annotations

import numpy as np


def exact_mean_exit_time(Phi, k01, k10, e, x0, xc, n=200_001):
    r"""E[tau] from x0 (chain state from pi(x0)) to the face xc of (0, xc), for
    dx = (s - x) dt with rates k01(x)/e, k10/e, by the exact solution of the backward
    equations f_i T_i' + (k_ij/e)(T_j - T_i) = -1, T_1(xc) = 0: with g = f0 rho0 (rho the
    zero-flux stationary density, g ~ exp(-Phi/e)) d/dx[g (T0 - T1)] = -rho gives
    w = T0 - T1 = int_0^x exp((Phi(x) - Phi(z))/e) (1/|f0| + 1/f1)(z) dz, and then
    T1(x) = int_x^xc (1 + k10 w/e)/f1, E[tau] = T1 + pi0 w (the PDMP analogue of the
    diffusion's double-integral formula, Gardiner, Handbook of Stochastic Methods,
    sec. 5.2.7). Trapezoid rule on a fine grid, independent of the simulator."""
    from scipy.integrate import cumulative_trapezoid

    z = np.linspace(0.0, xc, n)
    zz = np.where(z > 0, z, 0.5)
    lg = np.where(z > 0, -Phi(zz) / e + np.log(1 / zz + 1 / (1 - z)), -np.inf)
    m = lg[1:].max()
    Ic = cumulative_trapezoid(np.exp(lg - m), z, initial=0.0)
    w = np.zeros_like(z)
    w[1:] = Ic[1:] * np.exp(Phi(z[1:]) / e + m)
    g = (1 + k10 * w / e) / (1 - z)
    T1 = -cumulative_trapezoid(g[::-1], z[::-1], initial=0.0)[::-1]
    pi0 = k10 / (k01(x0) + k10)
    return float(np.interp(x0, z, T1) + pi0 * np.interp(x0, z, w))
