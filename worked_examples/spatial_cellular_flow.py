# %% [markdown]
# # Effective diffusivity of the cellular flow
#
# dX = eps^-1 u(X/eps) dt + sqrt(2 kappa) dW with
# u = (sin y1 cos y2, -cos y1 sin y2): K = kappa I + sym <u (x) chi>, where
# -(u.grad + kappa Lap) chi = u on the torus. The same answer comes from
# `sa.reduce` on the SDE (its numeric spectral fallback for fast variables on a
# torus) and from `effective_diffusivity_periodic_flow`. K/kappa grows like
# Pe^(1/2) at large Peclet number (Childress 1979; Shraiman 1987).
#
# Runs in about 5 s. The figure goes to $SYMAVG_FIGURES if set, else to
# worked_examples/figures/ (ignored by git).

# %%
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

import symavg as sa  # noqa: E402
from symavg.spatial import effective_diffusivity_periodic_flow  # noqa: E402

here = os.path.dirname(os.path.abspath(globals().get("__file__", "spatial_cellular_flow.py")))
outdir = os.environ.get("SYMAVG_FIGURES") or os.path.join(here, "figures")
os.makedirs(outdir, exist_ok=True)
y1, y2, x1, x2 = sp.symbols("y1 y2 x1 x2", real=True)
kappa = sp.Symbol("kappa", positive=True)
u = [sp.sin(y1) * sp.cos(y2), -sp.cos(y1) * sp.sin(y2)]

# %% shear-flow check (Taylor dispersion): K11 = kappa + U^2/(2 kappa) = 4.5 here
shear = effective_diffusivity_periodic_flow([2 * sp.cos(y2), 0], [y1, y2], kappa=0.5, n=16)
print(shear.K)

# %% the cellular flow as an SDE with periodic fast variables, through sa.reduce
eps = sa.epsilon
s = sp.sqrt(2 * kappa)
model = sa.SDE([x1, x2, y1, y2], [u[0] / eps, u[1] / eps, u[0] / eps**2, u[1] / eps**2],
               noise=[[s, 0], [0, s], [s / eps, 0], [0, s / eps]],
               periodic={y1: 2 * sp.pi, y2: 2 * sp.pi})
red = sa.reduce(model, [y1, y2], params={kappa: 0.1})
K_reduce = float(red.diffusion[0, 0]) / 2          # diffusion = 2 K
print([st.name for st in red.steps])               # ... 'numeric cell problems' ...
direct = effective_diffusivity_periodic_flow(u, [y1, y2], kappa=0.1, n=64)
print(f"Pe = 10: K = {K_reduce:.13f} (reduce), {direct.K[0, 0]:.13f} (flow solver)")

# %% over a range of Peclet numbers, with the grid-convergence of each value
kappas = [1.0, 0.3, 0.1, 0.05, 0.02]
K = []
for k in kappas:
    r = effective_diffusivity_periodic_flow(u, [y1, y2], kappa=k, n=64 if k > 0.05 else 128)
    K.append(r.K[0, 0])
    print(f"kappa={k:5.2f}  Pe={r.peclet:6.1f}  K={r.K[0, 0]:.12f}  "
          f"change n/2 -> n: {r.convergence[-1][2]:.1e}")

# %%
pe = 1 / np.array(kappas)
ratio = np.array(K) / np.array(kappas)
c = ratio[-1] / pe[-1] ** 0.5
fig, ax = plt.subplots()
ax.loglog(pe, ratio, "o-", label="K / kappa")
ax.loglog(pe, c * pe**0.5, "--", label=f"{c:.2f} Pe^(1/2) (through the last point)")
ax.set_xlabel("Pe = U L / kappa")
ax.legend()
path = os.path.join(outdir, "cellular_flow.png")
fig.savefig(path, dpi=110)
print("figure:", path)
