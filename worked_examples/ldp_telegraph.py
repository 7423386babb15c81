"""Large deviations of a fast telegraph process, checked by importance sampling.

dX = S dt with S = +-1 flipping at rate lambda/eps. The slow-fast Hamiltonian is the
Perron root of the tilted matrix Q + diag(p s_i), H(p) = sqrt(lambda^2 + p^2) - lambda,
and the rate function its Legendre transform L(v) = lambda (1 - sqrt(1 - v^2)), finite
for |v| <= 1 (Bouchet, Grafke, Tangarife & Vanden-Eijnden, J. Stat. Phys. 162 (2016) 793,
sec. 2; Dembo & Zeitouni sec. 3.1 for finite chains). So

    -eps log P(X_T >= v T) -> T L(v)      as eps -> 0,

with a correction -(eps/2) log eps + O(eps) from the sqrt(eps) prefactor (Bahadur-Rao type,
Dembo & Zeitouni sec. 3.7). The probability is estimated at several eps by importance
sampling under the Doob-transformed chain of the optimal tilt p* = L'(v), down to
probabilities of 1e-16 that plain Monte Carlo could never reach.
"""

# %%
import os

import numpy as np
import sympy as sp

import symavg as sa

x, p, v = sp.symbols("x p v", real=True)
lam = sp.Symbol("lambda", positive=True)
eps = sa.epsilon
chain = sa.MarkovChain({("-", "+"): lam / eps, ("+", "-"): lam / eps})
telegraph = sa.SwitchingSDE([x], chain, drift={"-": -1, "+": 1})

# %% the Hamiltonian and the rate function, with their derivation
H = sa.ldp.hamiltonian(telegraph, momentum=p)
L = sa.ldp.rate_function(H, velocity=v)
print("H(x, p) =", H.expr)
print("L(x, v) =", L.expr, "on", L.domain)
print(L.steps.to_markdown())
print("all checks passed:", L.steps.passed)

# %% importance sampling at several eps
from _common import figure_path  # noqa: E402

paths = int(os.environ.get("SYMAVG_EXAMPLE_PATHS", 20_000))
vel, T, prm = 0.6, 1.0, {lam: 1.0}
predicted = T * L.evaluate(0.0, vel, prm)
eps_values = [0.1, 0.05, 0.025, 0.0125, 0.00625]
rows = []
for k, e in enumerate(eps_values):
    est = sa.ldp.additive_tail_probability(telegraph, vel, T, e, params=prm, paths=paths,
                                           seed=k)
    rows.append((e, est.probability, est.log_rate, est.log_rate_stderr))
print("| eps | P(X_T >= vT) | -eps log P | +- | with (eps/2) log eps removed |")
print("| --- | --- | --- | --- | --- |")
for e, P, r, se in rows:
    print(f"| {e:g} | {P:.3e} | {r:.4f} | {se:.1e} | {r + e / 2 * np.log(e):.4f} |")
print("predicted limit T L(v) =", round(predicted, 6))

# %% the figure: predicted and simulated -eps log P against eps
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

fig, ax = plt.subplots(figsize=(5.5, 3.8))
es = np.array([r[0] for r in rows])
ax.errorbar(es, [r[2] for r in rows], yerr=[2 * r[3] for r in rows], fmt="o",
            label=r"importance sampling, $-\epsilon\log\hat P$")
ax.errorbar(es, [r[2] + r[0] / 2 * np.log(r[0]) for r in rows], yerr=[2 * r[3] for r in rows],
            fmt="s", label=r"minus the prefactor term $-\frac{\epsilon}{2}\log\epsilon$")
ax.axhline(predicted, color="k", ls="--", label=r"$T\,L(v)$ (rate function)")
ax.set_xscale("log")
ax.set_xlabel(r"$\epsilon$")
ax.set_ylabel(r"$-\epsilon\log P(X_T \geq vT)$")
ax.set_title(r"telegraph process, $\lambda = 1$, $v = 0.6$, $T = 1$")
ax.legend(fontsize=8)
fig.tight_layout()
path = figure_path("ldp_telegraph.png")
fig.savefig(path, dpi=120)
print("figure:", path)
