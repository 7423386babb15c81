"""Reaction networks with a fast subnetwork: fast-equilibrium reduction, validity, SSA check.

1. Fast reversible isomerization S1 <-> S2 (rates k1/eps, k2/eps) with slow degradation
   S2 -> 0 (k3): the total T = S1 + S2 is slow and decays with the slow-scale propensity
   k3 k1 T/(k1 + k2) (Cao, Gillespie & Petzold, J. Chem. Phys. 122 (2005) 014116, Sec. IV;
   Rao & Arkin, J. Chem. Phys. 118 (2003) 4999).
2. One enzyme molecule with fast binding E + S <-> C, slow production 0 -> S and
   catalysis C -> E + P: the exact bound fraction gives k_cat S_T/(S_T + k2/k1), the
   discrete Michaelis-Menten propensity with the dissociation constant, not the QSSA
   constant (k2 + k_cat)/k1.
3. Fast dimerization 2 A <-> B: the conditional law by detailed balance, an exact ratio of
   finite sums.

Each reduction prints its derivation and validity report; the isomerization is checked by
exact SSA of the full network at several eps against the reduced network.
"""

# %%
import sympy as sp

import symavg as sa

eps = sa.epsilon
k0, k1, k2, k3, kc = sp.symbols("k0 k1 k2 k3 k_cat", positive=True)

# %% 1. fast isomerization
iso = sa.ReactionNetwork(["S1 -> S2", "S2 -> S1", "S2 -> 0"], [k1 / eps, k2 / eps, k3])
print(iso)
print("conservation laws:", iso.conservation_laws, " spectral gap:", iso.spectral_gap())
red = iso.reduce()
print(red)
print(red.validity)
print(red.steps.to_markdown())
print("all checks passed:", red.steps.passed)

# %% 2. a single enzyme
enz = sa.ReactionNetwork(["0 -> S", "E + S -> C", "C -> E + S", "C -> E + P"],
                         [k0, k1 / eps, k2 / eps, kc])
red_enz = enz.reduce(values={"T_EC": 1})
ST, P = red_enz.species
print(red_enz)
print("QSSA propensity for comparison:", kc * ST / (ST + (k2 + kc) / k1))
print(red_enz.validity)
print("all checks passed:", red_enz.steps.passed)

# %% 3. fast dimerization
ka, kb, kd = sp.symbols("k_a k_b k_d", positive=True)
dim = sa.ReactionNetwork(["2 A -> B", "B -> 2 A", "0 -> A", "B -> 0"],
                         [ka / eps, kb / eps, k0, kd])
red_dim = dim.reduce()
y, = red_dim.species
print(red_dim)
print("E[B | A + 2B = 10] at k_a = 1, k_b = 2:",
      sp.N(red_dim.propensities[1].subs({ka: 1, kb: 2, kd: 1, y: 10}).doit()))
print("all checks passed:", red_dim.steps.passed)

# %% Monte Carlo check of the isomerization (k1 = k2 = k3 = 1, 30 molecules of S1)
from _common import monte_carlo_check  # noqa: E402

S1, S2 = iso.species
T, = red.species
monte_carlo_check(iso, red, "network_fast_equilibrium", x0={S1: 30, S2: 0}, T=1.0,
                  eps_values=[0.2, 0.1, 0.05], observables=[T, T**2],
                  params={k1: 1.0, k2: 1.0, k3: 1.0})
