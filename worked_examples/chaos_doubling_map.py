"""Noise from a deterministic map: Green-Kubo sums of the doubling map, exact and estimated.

    y_{n+1} = 2 y_n mod 1      (a Bernoulli shift; invariant law Lebesgue on [0, 1)).

For a mean-zero observable f the sums eps * sum_{n < t/eps^2} f(y_n) converge to a
Brownian motion of variance sigma^2 t with the Green-Kubo sum

    sigma^2 = C(0) + 2 sum_{n >= 1} C(n),    C(n) = int_0^1 f(y) f(2^n y mod 1) dy

(the central limit theorem for the doubling map: Lasota & Mackey, *Chaos, Fractals
and Noise*, Springer 1994, Example 4.1.1 and Sec. 4.3; Gottwald & Melbourne,
Proc. R. Soc. A 469 (2013) 20130201, for the homogenization of maps). Here C(n) is
exact: T^n is affine on each of the 2^n intervals [j/2^n, (j+1)/2^n), so for a
polynomial f the integral is a finite sum, and the series in n is geometric. For
f = cos(2 pi y), the Koopman operator sends e^{2 pi i k y} to e^{2 pi i 2k y}, so
C(n) = 0 for n >= 1 (orthogonal Fourier modes) and sigma^2 = C(0) = 1/2.

The estimates come from sa.green_kubo, which iterates the map as an exact shift of
binary digits (2y mod 1 in floating point is 0 after at most 53 steps).

Then a slow variable driven by the map, x_{n+1} = x_n - eps^2 x_n + eps (y_n - 1/2):
on s = eps^2 n it converges to dX = -X ds + sigma dW with sigma^2 = 1/4 (Gottwald &
Melbourne 2013); sa.verify compares the map with it at several eps.
"""

# %%
import os

import sympy as sp

import symavg as sa

y = sp.Symbol("y", real=True)
doubling = sa.DeterministicMap([y], [sp.Mod(2 * y, 1)])


def exact_green_kubo(f: sp.Expr) -> sp.Expr:
    """sigma^2 of a polynomial f: C(n) on the 2^n affine branches, then the geometric sum."""
    N, j, u, n = sp.symbols("N j u n", positive=True, integer=True)
    g = f - sp.integrate(f, (y, 0, 1))
    # on [j/N, (j+1)/N), T^n y = N y - j with N = 2^n; substitute y = (j + u)/N
    inner = sp.summation(sp.expand(g.subs(y, (j + u) / N)), (j, 0, N - 1))
    C = sp.simplify(sp.integrate(sp.expand(inner * g.subs(y, u)), (u, 0, 1)) / N)
    tail = sp.summation(sp.expand(C.subs(N, 2**n)), (n, 1, sp.oo))
    return sp.nsimplify(sp.simplify(C.subs(N, 1) + 2 * tail))


exact = {y - sp.Rational(1, 2): exact_green_kubo(y - sp.Rational(1, 2)),
         y**2 - sp.Rational(1, 3): exact_green_kubo(y**2 - sp.Rational(1, 3)),
         sp.cos(2 * sp.pi * y): sp.integrate(sp.cos(2 * sp.pi * y) ** 2, (y, 0, 1))}
# the cosine's correlations vanish: check the first few exactly
assert all(sp.integrate(sp.cos(2 * sp.pi * y) * sp.cos(2 * sp.pi * 2**k * y), (y, 0, 1)) == 0
           for k in range(1, 5))

# %% the estimates: FFT autocorrelation with Sokal's window, and batch means
paths = int(os.environ.get("SYMAVG_EXAMPLE_PATHS", 20_000))
n_samples = max(50_000, 50 * paths)          # 100 000 samples per trajectory at 2000
checks = []
print("| f | exact sigma^2 | autocorrelation (FFT) | batch means | agree |")
print("| --- | --- | --- | --- | --- |")
for k, (f, value) in enumerate(exact.items()):
    est = sa.green_kubo(doubling, f, n_samples=n_samples, paths=8, seed=k)
    ok = bool(est.agree and abs(est.value - float(value)) < 4 * est.stderr)
    checks.append(ok)
    print(f"| {f} | {value} = {float(value):.5f} | {est.value:.5f} +- {est.stderr:.1e} | "
          f"{est.batch_value:.5f} +- {est.batch_stderr:.1e} | {est.agree} |")
print()
print("window:", est.window)

# %% a slow variable driven by the doubling map, reduced and verified (T / eps^2 = 9, 16, 36
# steps: the map reaches T exactly)
from symavg.derive.chaotic_map import reduce_chaotic_map  # noqa: E402

eps = sa.epsilon
x = sp.Symbol("x", real=True)
driven = sa.DeterministicMap([x, y], [x - eps**2 * x + eps * (y - sp.Rational(1, 2)),
                                      sp.Mod(2 * y, 1)])
red = reduce_chaotic_map(driven, [y], n_samples=200_000)
lam, lam_se = red.records["Lambda"]
print("reduced model on", red.timescale, ": drift", red.drift[0], " diffusion",
      red.diffusion[0, 0], f" (exact 1/4; Lambda = {lam:.4f} +- {lam_se:.1e}, exact 1/12)")
gk = red.records["green_kubo"][y - sp.Rational(1, 2)]
checks.append(abs(float(red.diffusion[0, 0]) - 0.25) < 4 * gk.stderr and red.steps.passed)

from _common import monte_carlo_check  # noqa: E402

rep = monte_carlo_check(driven, red, "chaos_doubling_map", x0={x: 0.0}, T=1.44,
                        eps_values=[0.4, 0.3, 0.2], observables=[x**2], progress=False)
print("all checks passed:", all(checks))
