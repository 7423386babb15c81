# %% [markdown]
# # Laminates and one-dimensional cell problems
#
# A coefficient field that depends on one coordinate only has a closed-form
# effective tensor (the lamination formula, off-diagonal entries included), and
# so does a diagonal field whose entry A_ii depends on y_i only. symavg derives
# it, substitutes the correctors back into the cell equation, spot-checks every
# period average against quadrature, and compares with the FFT solver.
# Runs in a few seconds; no figures.

# %%
import numpy as np
import sympy as sp

from symavg.spatial import CellProblem

y1, y2, y3 = sp.symbols("y1 y2 y3", real=True)
a, b = sp.symbols("a b", positive=True)

# %% 1-D: the harmonic mean; <1/(a + b sin y)> comes from the residue rule
res = CellProblem(a + b * sp.sin(y1), {y1: 2 * sp.pi}).effective_tensor()
print(res.tensor)          # Matrix([[sqrt(a**2 - b**2)]])

# %% an anisotropic laminate, layers normal to y1: A*_12 = A*_11 <A12/A11> != <A12>
A = sp.Matrix([[2 + sp.sin(y1), sp.cos(y1) / 2 + sp.Rational(1, 3)],
               [sp.cos(y1) / 2 + sp.Rational(1, 3), 3]])
lam = CellProblem(A, {y1: 2 * sp.pi, y2: 1}).effective_tensor()
print(lam.tensor)          # [[sqrt(3), 1/3], [1/3, sqrt(3)/4 + 5/2]]
print(lam.steps.to_markdown())

# %% the same tensor from the FFT route, with its grid-convergence table
num = CellProblem(A, {y1: 2 * sp.pi, y2: 1}).effective_tensor(numeric=True, n=64)
print(num.tensor)
print(num.convergence_table())
print("max |closed form - FFT| =", np.max(np.abs(lam.numeric() - num.tensor)))

# %% a separable diagonal field in 3-D: each load case is one-dimensional
D = sp.diag(2 + sp.sin(y1), 3 + sp.cos(y2), 1 / (2 + sp.sin(y3)))
sep = CellProblem(D, {y1: 2 * sp.pi, y2: 2 * sp.pi, y3: 2 * sp.pi}).effective_tensor()
print(sep.tensor)          # diag(sqrt(3), 2*sqrt(2), 1/2)
for c in sep.steps.checks:
    print(f"  {c.name}: {'passed' if c.passed else 'FAILED'} ({c.detail})")
