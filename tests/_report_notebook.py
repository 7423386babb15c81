"""Cells of the notebook that tests/test_report.py executes with nbclient (one rich
display per cell, checked by MIME type)."""

CELLS = [
    # (source, MIME type the last output must carry)
    ("""import sympy as sp
import symavg as sa
eps = sa.epsilon
x, y = sp.symbols("x y", real=True)
c = sp.Function("c")
model = sa.SDE(state=[x, y], drift=[c(x) * y / eps, -y / eps**2],
               noise=[[1], [sp.sqrt(2) / eps]])
model""", "text/markdown"),
    ("red = sa.reduce(model, fast=[y])\nred", "text/markdown"),
    ("red.steps", "text/markdown"),
    ("red.steps[5]", "text/markdown"),
    ("""c_def = {c: sp.Lambda(x, sp.sin(x))}
ens = sa.simulate(model, x0={x: 0.3}, T=0.1, eps=0.2, paths=200, seed=1, functions=c_def)
ens""", "text/html"),
    ("""rep = sa.verify(model, red, x0={x: 0.3}, T=0.1, eps_values=[0.4, 0.2], observables=[x],
                functions=c_def, paths=400, seed=1)
rep""", "text/html"),
    ("rep.plot()", "image/png"),
    ("""ys = sp.Symbol("y", real=True)
res = sa.CellProblem(2 + sp.cos(ys), {ys: 2 * sp.pi}).effective_tensor()
res""", "text/markdown"),
    ("""from symavg.spatial import RandomCheckerboard, rve_study
study = rve_study(RandomCheckerboard(1.0, 4.0, p=0.5, dim=2, resolution=2), sizes=[2, 4],
                  samples=4, seed=0, progress=False, resolution_check=False)
study""", "text/html"),
    ("study.plot()", "image/png"),
    ("""lam = sp.Symbol("lambda", positive=True)
chain = sa.MarkovChain({("-", "+"): lam / eps, ("+", "-"): lam / eps})
H = sa.ldp.hamiltonian(sa.SwitchingSDE([x], chain, drift={"-": -1, "+": 1}))
H""", "text/markdown"),
    ("""import numpy as np
from symavg.numeric.green_kubo import green_kubo_series
green_kubo_series(np.random.default_rng(1).standard_normal((2, 20_000)), spacing=1.0)""",
     "text/html"),
]
