"""Enzyme kinetics with fast binding: the fast-equilibrium propensity, not the QSSA one.

Substrate S is made at rate k0 and converted by enzymes E through fast binding
E + S <-> C (rates k1/eps, k2/eps) and slow catalysis C -> E + P (k_cat). The fast
subnetwork conserves S_T = S + C and E_T = E + C; averaging it (Cao, Gillespie &
Petzold, J. Chem. Phys. 122 (2005) 014116) gives the catalysis propensity
k_cat E[C | S_T, E_T], with the exact conditional law of the bound complex:

* one enzyme (E_T = 1): k_cat S_T/(S_T + k2/k1), the discrete Michaelis-Menten form with
  the dissociation constant K_D = k2/k1;
* E_T enzymes: a ratio of finite sums in both slow variables (detailed balance), which
  the SSA tabulates over (S_T, E_T).

The QSSA Michaelis-Menten propensity k_cat E_T S_T/(S_T + K_M) with K_M = (k2 + k_cat)/k1
(Rao & Arkin, J. Chem. Phys. 118 (2003) 4999) is the limit of a different scaling (fast
binding AND fast catalysis); with only the binding fast it overestimates K_D and
underestimates the flux. The figure shows both propensities, and the product P(t) of the
full network (exact SSA at small eps) against both reduced networks.
"""

# %%
import os

import numpy as np
import sympy as sp

import symavg as sa

eps = sa.epsilon
k0, k1, k2, kc = sp.symbols("k0 k1 k2 k_cat", positive=True)
net = sa.ReactionNetwork(["0 -> S", "E + S -> C", "C -> E + S", "C -> E + P"],
                         [k0, k1 / eps, k2 / eps, kc])
print(net)
print("fast subnetwork conserves:", net.fast_subnetwork().conserved)

# %% one enzyme: a closed form
one = net.reduce(values={"T_EC": 1})
ST1, _ = one.species
print("one enzyme:", one.propensities[1])
print(one.validity)
print("all checks passed:", one.steps.passed)

# %% any number of enzymes: a ratio of sums in (S_T, E_T)
red = net.reduce()
ST, ET, P = red.species
print("E_T enzymes:", red.propensities[1])
print(red.steps.to_markdown())
print("all checks passed:", red.steps.passed)

# %% the propensities against the QSSA one, at E_T = 3
from symavg.numeric.ssa import sum_table  # noqa: E402

values = {k0: 3.0, k1: 1.0, k2: 4.0, kc: 2.0}
KD = values[k2] / values[k1]
KM = (values[k2] + values[kc]) / values[k1]
s_grid = np.arange(0, 41)
exact3 = sum_table(red.propensities[1].subs(ET, 3), ST, values, 40)
exact1 = values[kc] * s_grid / (s_grid + KD)
qssa3 = values[kc] * 3 * s_grid / (s_grid + KM)

# %% full network (exact SSA, eps = 0.05) against both reductions: the product P(t)
from _common import figure_path, monte_carlo_check  # noqa: E402

S, E, C, Pf = net.species
paths = int(os.environ.get("SYMAVG_EXAMPLE_PATHS", 20_000)) // 4
times = np.linspace(0, 4, 21)
x0 = {S: 6, E: 3, C: 0, Pf: 0}
full = sa.ssa(net, x0, 4.0, eps=0.05, params=values, paths=paths, seed=1, saveat=times)
fe = sa.ssa(red, {ST: 6, ET: 3, P: 0}, 4.0, params=values, paths=paths, seed=2,
            saveat=times)
qssa = sa.ReactionNetwork(["0 -> T_SC", "T_SC -> P"], [k0, kc], species=[ST, ET, P],
                          propensities=[k0, kc * ET * ST / (ST + (k2 + kc) / k1)],
                          records=red.records)
qs = sa.ssa(qssa, {ST: 6, ET: 3, P: 0}, 4.0, params=values, paths=paths, seed=3,
            saveat=times)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
ax1.plot(s_grid, exact3, "o-", ms=3, label=r"fast equilibrium, $E_T = 3$ (exact sums)")
ax1.plot(s_grid, qssa3, "--", label=r"QSSA $k_{cat}E_T S_T/(S_T + K_M)$, $E_T = 3$")
ax1.plot(s_grid, exact1, "s-", ms=3, label=r"fast equilibrium, $E_T = 1$: $K_D = k_2/k_1$")
ax1.set_xlabel(r"$S_T = S + C$")
ax1.set_ylabel("catalysis propensity")
ax1.legend(fontsize=8)
mf, sf = full.mean(Pf)
for ens, lab, sty in ((fe, "fast-equilibrium reduction", "C0o-"),
                      (qs, "QSSA reduction", "C1s--")):
    m, se = ens.mean(P)
    ax2.errorbar(times, m - mf, yerr=2 * np.hypot(se, sf), fmt=sty, ms=3, capsize=2,
                 label=lab)
ax2.axhline(0.0, color="k", lw=0.8)
ax2.set_xlabel("t")
ax2.set_ylabel(r"E P(t): reduced $-$ full SSA ($\epsilon = 0.05$), $\pm 2$ se")
ax2.legend(fontsize=8)
fig.tight_layout()
path = figure_path("network_enzyme.png")
fig.savefig(path, dpi=120)
print("figure:", path)
print("P(4): full", full.mean(Pf)[0][-1], " fast equilibrium", fe.mean(P)[0][-1],
      " QSSA", qs.mean(P)[0][-1])

# %% Monte Carlo check: the full network at three eps against the reduced one
monte_carlo_check(net, red, "network_enzyme", x0=x0, T=2.0, eps_values=[0.4, 0.2, 0.1],
                  observables=[P], params=values)
