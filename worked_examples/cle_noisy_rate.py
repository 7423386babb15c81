"""Chemical Langevin equation with a fast-fluctuating rate: extra diffusion, noise-induced drift.

Birth-death 0 -> X (rate k_p), X -> 0 (rate gamma x) in a volume V; the chemical
Langevin equation (Gillespie, J. Chem. Phys. 113 (2000) 297) for the
concentration is

    dx = (k_p - gamma x) dt + sqrt((k_p + gamma x)/V) dW1.

A rate constant now fluctuates fast (extrinsic noise): s eta/eps added to it,
eta an OU process of unit variance and rate alpha/eps^2,

    d eta = -alpha eta / eps^2 dt + sqrt(2 alpha)/eps dW2

(the intrinsic noise is taken at the mean rates). In the limit eps -> 0
(Pavliotis & Stuart, Multiscale Methods, Springer 2008, Sec. 11.7; Wong & Zakai,
Ann. Math. Statist. 36 (1965) 1560):

* noisy production k_p + s eta/eps: the drift is unchanged, the diffusion gains
  the Green-Kubo term 2 s^2/alpha;
* noisy degradation gamma + s eta/eps, which multiplies x: the diffusion gains
  2 s^2 x^2/alpha and the drift gains the noise-induced term s^2 x/alpha (the
  Stratonovich correction of -sqrt(2/alpha) s x o dW), which raises the mean.
"""

# %%
import sympy as sp

import symavg as sa

eps = sa.epsilon
x, eta = sp.symbols("x eta", real=True)
kp, gamma, V, s, alpha = sp.symbols("k_p gamma V s alpha", positive=True)


def cle(production, degradation):
    return sa.SDE([x, eta], [production - degradation * x, -alpha * eta / eps**2],
                  noise=[sp.sqrt((kp + gamma * x) / V), sp.sqrt(2 * alpha) / eps])


# %% noisy production rate
model = cle(kp + s * eta / eps, gamma)
print("noisy production: full model, state", list(model.state))
print("  drift b     =", list(model.drift))
print("  noise sigma =", model.noise.tolist())
red = sa.reduce(model, fast=[eta])
print("  reduced drift     =", red.drift[0])
print("  reduced diffusion =", red.diffusion[0, 0])
print(red.steps.to_markdown())
print("all checks passed:", red.steps.passed)

# %% noisy degradation rate (multiplies x)
model = cle(kp, gamma + s * eta / eps)
print("noisy degradation: full model, state", list(model.state))
print("  drift b     =", list(model.drift))
red = sa.reduce(model, fast=[eta])
print("  reduced drift     =", red.drift[0])
print("  reduced diffusion =", red.diffusion[0, 0])
print("  noise-induced drift =", sp.simplify(red.drift[0] - (kp - gamma * x)))
print("  stationary mean of the reduced drift: x* =",
      sp.solve(sp.Eq(red.drift[0], 0), x), "(vs k_p/gamma without the noise)")
print(red.steps.to_markdown())
print("all checks passed:", red.steps.passed)

# %% Monte Carlo check of the noisy degradation rate (k_p = 2, gamma = 1/2, V = 10, s = 1/4)
from _common import monte_carlo_check  # noqa: E402

monte_carlo_check(model, red, "cle_noisy_rate", x0={x: 2.0}, T=0.3,
                  eps_values=[0.2, 0.1, 0.05], observables=[x, x**2],
                  params={kp: 2, gamma: sp.Rational(1, 2), V: 10, s: sp.Rational(1, 4),
                          alpha: 1},
                  scheme="weak2")   # commutative noise: weak order 2, step bias << error
