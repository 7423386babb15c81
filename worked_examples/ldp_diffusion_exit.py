"""Kramers' law for a small-noise averaged diffusion, to Delta V / eps = 12 by splitting.

The slow variable of dx = (x - x^3 + y) dt, forced by a fast Ornstein-Uhlenbeck process
dy = -y/eps dt + sqrt(2/eps) dW, has the slow-fast Hamiltonian H = p (x - x^3) + p^2
(the tilted generator's eigenfunction is exp(p y)); its quasipotential from the well
x = -1 is V = (x^2 - 1)^2 / 4, a barrier Delta V = 1/4 at the saddle 0. The averaged
diffusion of sa.reduce(order=1), dX = (X - X^3) dt + sqrt(2 eps) dW, has the same
Hamiltonian, so its mean time to reach x = 1/2 obeys the Kramers-Eyring law

    E[tau] ~ C exp(Delta V / eps),    C = 2 pi / sqrt(U''(-1) |U''(0)|) = 2 pi / sqrt(2)

(Berglund, Markov Process. Relat. Fields 19 (2013) 459, eq. (1.3)). E[tau] is simulated
by plain Monte Carlo (sa.ldp.mean_exit_time) up to Delta V / eps = 3.5 and by adaptive
multilevel splitting with the renewal formula (sa.ldp.splitting_mean_exit_time) from
Delta V / eps = 5 to 12, where E[tau] is 7e5 time units, and compared with the exact 1-D
formula (Gardiner, Handbook of Stochastic Methods, eq. 5.2.158) and with Kramers' law.
The number of plain paths per eps is SYMAVG_EXAMPLE_PATHS / 40 (default 500).
"""

# %%
import os

import numpy as np
import sympy as sp
from scipy.integrate import quad

import symavg as sa

x, y = sp.symbols("x y", real=True)
eps = sa.epsilon
model = sa.SDE([x, y], [x - x**3 + y, -y / eps], diffusion=[[0, 0], [0, 2 / eps]])

# %% the Hamiltonian, the quasipotential and the averaged diffusion
H = sa.ldp.hamiltonian(model, fast=[y], momentum=sp.Symbol("p", real=True))
qp = sa.ldp.quasipotential(H, start=-1)
averaged = sa.reduce(model, fast=[y], order=1)
print("H(x, p) =", H.expr)
print("V(x) =", qp.expr)
print("averaged diffusion: drift", averaged.drift[0], " diffusion", averaged.diffusion[0, 0])
dV = qp.evaluate(0.0) - qp.evaluate(-1.0)
C = 2 * np.pi / np.sqrt(2.0)
print(f"Delta V = {dV}, Kramers prefactor C = {C:.4f}")


def U(z):
    return z**4 / 4 - z**2 / 2


def exact_mean_exit_time(e, x0=-1.0, b=0.5):
    """(1/e) int_{x0}^b e^{U(v)/e} int_{-inf}^v e^{-U(z)/e} dz dv."""
    def inner(v):
        return quad(lambda z: np.exp(-(U(z) - U(-1)) / e), -4.0, v,
                    points=[-1.0] if v > -1 else None, limit=200)[0]
    return quad(lambda v: np.exp((U(v) - U(-1)) / e) * inner(v), x0, b, points=[0.0],
                limit=200)[0] / e


# %% plain Monte Carlo and splitting
from _common import figure_path  # noqa: E402

paths = max(50, int(os.environ.get("SYMAVG_EXAMPLE_PATHS", 20_000)) // 40)
rows = []
for k, e in enumerate([1 / 8, 1 / 10, 1 / 12, 1 / 14]):
    est = sa.ldp.mean_exit_time(averaged, {x: -1.0}, upper={x: 0.5}, eps=e, paths=paths,
                                dt=5e-3, seed=k)
    rows.append(("plain", e, est.mean, est.stderr, exact_mean_exit_time(e)))
for k, e in enumerate([1 / 20, 1 / 28, 1 / 36, 1 / 48]):
    est = sa.ldp.splitting_mean_exit_time(averaged, {x: -1.0}, {x: 0.5}, level=-0.8, eps=e,
                                          paths=200, replicas=100, kill=10, runs=8,
                                          dt=2e-3, seed=10 + k)
    rows.append(("AMS", e, est.mean, est.stderr, exact_mean_exit_time(e)))
print("| method | Delta V / eps | E[tau] | +- | exact | Kramers C e^{Delta V/eps} |")
print("| --- | --- | --- | --- | --- | --- |")
for how, e, mu, se, ex in rows:
    print(f"| {how} | {dV / e:.1f} | {mu:.4g} | {se:.2g} | {ex:.4g} | {C * np.exp(dV / e):.4g} |")
agree = all(abs(mu - ex) < 4 * se for _, _, mu, se, ex in rows)
ratio = exact_mean_exit_time(0.01) / (C * np.exp(dV / 0.01))
print(f"exact / Kramers at eps = 0.01: {ratio:.4f}")
print("simulated E[tau] within 4 standard errors of the exact value:", agree)
print("all checks passed:", H.steps.passed and qp.steps.passed and agree
      and abs(ratio - 1) < 0.02)

# %% the figure: eps log E[tau] against eps
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

fig, ax = plt.subplots(figsize=(5.5, 3.8))
grid = np.linspace(0.012, 0.13, 30)
ax.plot(grid, [e * np.log(exact_mean_exit_time(e)) for e in grid], "k-", lw=1,
        label=r"exact $\epsilon\log E[\tau]$")
line = np.linspace(0.0, 0.13, 2)
ax.plot(line, dV + line * np.log(C), "k:", label=r"Kramers: $\Delta V + \epsilon\log C$")
for how, mark in (("plain", "o"), ("AMS", "s")):
    sel = [r for r in rows if r[0] == how]
    ax.errorbar([r[1] for r in sel], [r[1] * np.log(r[2]) for r in sel],
                yerr=[2 * r[1] * r[3] / r[2] for r in sel], fmt=mark,
                label=("plain Monte Carlo" if how == "plain" else "splitting (AMS)")
                + r" ($\pm 2$ s.e.)")
ax.axhline(dV, color="C3", ls="--", label=r"$\Delta V$ (sa.ldp.quasipotential)")
ax.set_xlabel(r"$\epsilon$")
ax.set_ylabel(r"$\epsilon\log E[\tau]$")
ax.set_xlim(0, 0.135)
ax.set_title("OU-forced double well: exit from the left well")
ax.legend(fontsize=8)
fig.tight_layout()
path = figure_path("ldp_diffusion_exit.png")
fig.savefig(path, dpi=120)
print("figure:", path)
