"""Quick start: derive the homogenized model of a fast OU process driving a slow
variable through a shared Brownian motion, and print the derivation.

Run with ``python -m symavg.quickstart``.
"""

from __future__ import annotations

import sympy as sp

import symavg as sa


def main() -> sa.EffectiveModel:
    eps = sa.epsilon
    x, y = sp.symbols("x y", real=True)
    c = sp.Function("c")
    model = sa.SDE(
        state=[x, y],
        drift=[c(x) * y / eps, -y / eps**2],
        noise=[[1], [sp.sqrt(2) / eps]],
    )
    red = sa.reduce(model, fast=[y])
    print(red.steps.to_markdown())
    print("regime:   ", red.regime)
    print("drift:    ", red.drift[0])
    print("diffusion:", sp.factor(red.diffusion[0, 0]))
    return red


if __name__ == "__main__":
    main()
