# %% [markdown]
# # Laminates and one-dimensional cell problems
#
# A coefficient field that depends on one coordinate only has a closed-form
# effective tensor (the lamination formula). symavg derives it, substitutes the
# correctors back into the cell equation, spot-checks every period average
# against quadrature, and compares with the FFT solver.

# %%
import sympy as sp

from symavg.spatial import CellProblem

y1, y2 = sp.symbols("y1 y2", real=True)
a, b = sp.symbols("a b", positive=True)

# %% 1-D: the harmonic mean; <1/(a + b sin y)> comes from the residue rule
res = CellProblem(a + b * sp.sin(y1), {y1: 2 * sp.pi}).effective_tensor()
print(res.tensor)          # Matrix([[sqrt(a**2 - b**2)]])

# %% an anisotropic laminate, layers normal to y1
A = sp.Matrix([[2 + sp.sin(y1), sp.cos(y1) / 2 + sp.Rational(1, 3)],
               [sp.cos(y1) / 2 + sp.Rational(1, 3), 3]])
lam = CellProblem(A, {y1: 2 * sp.pi, y2: 1}).effective_tensor()
print(lam.tensor)
print(lam.steps.to_markdown())

# %% the same tensor from the FFT route
num = CellProblem(A, {y1: 2 * sp.pi, y2: 1}).effective_tensor(numeric=True, n=64)
print(num.tensor)
print(num.convergence_table())
