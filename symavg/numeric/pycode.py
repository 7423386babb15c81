r"""Standalone Python source for a reduced model.

:func:`effective_to_python` writes a module that needs only NumPy (numba is
used when it is installed) with

* ``drift(state, params)`` -> :math:`F`, shape ``(n,)`` or ``(n, P)``;
* ``noise(state, params)`` -> :math:`A`, shape ``(n, m[, P])``;
* ``diffusion(state, params)`` -> :math:`AA^T`, shape ``(n, n[, P])``;
* ``simulate(x0, T, *, dt, paths, seed=None, params=None)`` -> the final
  states, shape ``(paths, n)``, by Euler-Maruyama;

``params`` maps parameter names (strings, or anything with a ``.name``, such
as SymPy symbols) to numbers. The module docstring states the reduced SDE,
the order of the state variables and the parameters. It imports neither SymPy
nor symavg. Parameter-only special functions (``besseli(0, V0/D)``) are
printed for ``scipy.special`` (imported only then, and said in the
docstring); unevaluated integrals need ``params`` at generation time, which
then bakes their values in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy as sp
from sympy.printing.numpy import SciPyPrinter

from ..errors import ModelError
from .codegen import evaluate_derived, hoist_parameter_functions, straight_line
from .plan import model_coefficients
from .tabulate import CLENSHAW_SOURCE, chebyshev_table, tabulate_integrals


def effective_to_python(model: Any, params: Mapping | None = None,
                        functions: Mapping | None = None,
                        tabulate: Mapping | None = None) -> str:
    """Source of a standalone module for ``model`` (an ``EffectiveModel`` or an ``SDE``).

    Parameters
    ----------
    model : EffectiveModel or SDE
    params : dict {Symbol: float}, optional
        Values baked into the module for parameter-only expressions that
        cannot be printed (unevaluated integrals); other parameters stay arguments.
    functions : dict, optional
        Definitions of undefined functions (``{c: sp.Lambda(x, x)}``).
    tabulate : dict {Symbol: (lo, hi)}, optional
        With ``params``: coefficients without closed form that depend on a state
        variable are baked in as Chebyshev tables on that interval
        (:mod:`symavg.numeric.tabulate`).

    The scale parameter is the model's own (``model.eps``); where the
    coefficients contain it (a full model, a reduced model of order 1) it is a
    parameter of the module like the others, given by name in ``params``.
    """
    if hasattr(model, "check_validity") and params is not None:
        model.check_validity(params, "to_python")
    validity = []
    for c in getattr(model, "validity", ()):
        if c.free_symbols <= set(model.parameters) and not c.has(sp.Integral):
            try:  # conditions the plain-Python printer cannot write are checked above only
                validity.append((str(c), sp.pycode(c, strict=True)))
            except (sp.printing.codeprinter.PrintMethodNotImplementedError, TypeError):
                continue

    co = model_coefficients(model, functions)
    n, m = len(co.state), co.m
    zs = [sp.Symbol(f"z{i}", real=True) for i in range(n)]
    ps = [sp.Symbol(f"p{i}", real=True) for i in range(len(co.parameters))]
    sub = dict(zip(co.state, zs)) | dict(zip(co.parameters, ps))
    exprs = [e.xreplace(sub) for e in co.drift] + [e.xreplace(sub) for e in co.noise]
    back = {v: k for k, v in sub.items()}
    exprs, tables = tabulate_integrals(exprs, zs, back)
    hoisted, derived = hoist_parameter_functions(exprs, zs, prefix="h")
    baked: dict[sp.Symbol, float] = {}
    frozen: set[sp.Symbol] = set()       # parameters whose values are baked into numbers
    der_lines = []
    table_syms: list[sp.Symbol] = []
    for spec in tables:
        interval = dict(tabulate or {}).get(spec.variable)
        if interval is None or params is None:
            raise ModelError(
                f"the reduced model holds {spec.expr}, which has no closed form and depends on "
                f"{spec.variable}; pass params={{symbol: value}} and tabulate={{"
                f"{spec.variable}: (lo, hi)}} to to_python to bake a Chebyshev table of it "
                "into the module")
        c, err = chebyshev_table(spec, dict(params), interval)
        frozen |= spec.expr.free_symbols & set(co.parameters)
        der_lines.append(f"    # Chebyshev table of {sp.sstr(spec.expr)} on {tuple(interval)}"
                         f", interpolation error {err:.1e}")
        for sym, val in zip((spec.lo, spec.hi, *spec.coeffs),
                            (float(interval[0]), float(interval[1]), *c.tolist())):
            der_lines.append(f"    {sym} = {val!r}")
            table_syms.append(sym)
    scipy_needed = False
    printer = SciPyPrinter({"fully_qualified_modules": True, "inline": True})
    for h, e in derived:
        if e.has(sp.Integral):
            if params is None:
                raise ModelError(
                    f"the reduced model holds the integral {e.xreplace(back)}, which has no "
                    "closed form; pass params={symbol: value} to to_python to bake its value "
                    "into the module")
            baked |= evaluate_derived([(h, e.xreplace(back))], dict(params))
            frozen |= e.xreplace(back).free_symbols & set(co.parameters)
            der_lines.append(f"    {h} = {baked[h]!r}  # {sp.sstr(e.xreplace(back))}")
            continue
        text = printer.doprint(e)
        scipy_needed |= "scipy" in text
        der_lines.append(f"    {h} = {text}")
    hs = [h for h, _ in derived] + table_syms
    lines = straight_line(hoisted, [f"b{i}" for i in range(n)] + [f"s{k}" for k in range(n * m)])
    args = ", ".join([str(z) for z in zs] + [str(p) for p in ps] + [str(h) for h in hs])
    names = [s.name for s in co.state]
    pnames = [s.name for s in co.parameters]
    baked_values = {q.name: float(dict(params or {})[q]) for q in sorted(frozen, key=str)}
    sde = _describe(model, co)
    scale_line = ("none" if co.scale is None else co.scale.name + (
        " (a parameter: pass its value in params)" if co.eps_symbol is not None
        else " (absent from these coefficients)"))
    bret = ", ".join(f"b{i}" for i in range(n))
    sret = ", ".join(f"s{k}" for k in range(n * m))
    imports = "import scipy.special\n" if scipy_needed else ""
    needs = "NumPy and SciPy" if scipy_needed else "NumPy only"
    parg = ", ".join(str(p) for p in ps)
    return f'''"""Reduced model generated by symavg (needs {needs}; numba is used if installed).

{sde}

State order: {names}
Parameters (params keys, by name): {pnames}
Scale parameter of the model: {scale_line}
Baked in at generation (fixed): {baked_values or "none"}

Functions
---------
drift(state, params)      F, shape (n,) or (n, P)
noise(state, params)      A with A A^T = diffusion, shape (n, m) or (n, m, P)
diffusion(state, params)  A A^T, shape (n, n) or (n, n, P)
simulate(x0, T, *, dt, paths, seed=None, params=None)
                          Euler-Maruyama; final states, shape (paths, n)
"""
import math

import numpy
{imports}
try:  # optional acceleration
    from numba import njit as _njit
except ImportError:  # pragma: no cover - numba is optional
    _njit = None

STATE = {tuple(names)!r}
PARAMETERS = {tuple(pnames)!r}
# values baked into numbers at generation (tables, integrals); other values are refused
BAKED = {baked_values!r}
# where the reduced model holds (symavg's validity conditions): (text, Python condition)
VALIDITY = {validity!r}
N = {n}
M = {m}


def _params(params):
    given = {{getattr(k, "name", k): float(v) for k, v in dict(params or {{}}).items()}}
    for name, value in BAKED.items():
        if name in given and given[name] != value:
            raise ValueError(f"this module was generated with {{name}} = {{value}} baked into "
                             f"its tables; got {{name}} = {{given[name]}}: generate it again")
        given[name] = value
    missing = [name for name in PARAMETERS if name not in given]
    if missing:
        raise KeyError(f"missing parameter values {{missing}}: pass params={{{{name: value}}}}")
    for text, cond in VALIDITY:
        if not eval(cond, {{"math": math}}, dict(given)):  # noqa: S307 - generated by symavg
            raise ValueError(f"the reduced model holds only where {{text}}; the parameter "
                             f"values {{given}} violate it")
    return tuple(given[name] for name in PARAMETERS)


{CLENSHAW_SOURCE if tables else ""}

def _derived({parg}):
{chr(10).join(der_lines) if der_lines else "    pass"}
    return ({", ".join(str(h) for h in hs) + "," if hs else ""})


def _coeffs({args}):
{chr(10).join(lines)}
    return ({bret},), ({sret},)


def _args(state, params):
    z = numpy.asarray(state, dtype=float)
    if z.shape[0] != N:
        raise ValueError(f"state must have {{N}} rows {{STATE}}; got shape {{z.shape}}")
    p = _params(params)
    return z, p + _derived(*p)


def drift(state, params=None):
    """The effective drift F at ``state`` (rows in the order STATE)."""
    z, p = _args(state, params)
    b, _ = _coeffs(*z, *p)
    return numpy.array([numpy.broadcast_to(v, z.shape[1:]) for v in b])


def noise(state, params=None):
    """A noise matrix A with A A^T = diffusion."""
    z, p = _args(state, params)
    _, s = _coeffs(*z, *p)
    flat = numpy.array([numpy.broadcast_to(v, z.shape[1:]) for v in s])
    return flat.reshape((N, M) + z.shape[1:])


def diffusion(state, params=None):
    """The effective diffusion matrix A A^T (Ito convention)."""
    a = noise(state, params)
    return numpy.einsum("ik...,jk...->ij...", a, a)


def _step_numpy(Z, p, dt, nsteps, rng):
    sq = math.sqrt(dt)
    for _ in range(nsteps):
        dW = sq * rng.standard_normal((M, Z.shape[1]))
        b, s = _coeffs(*Z, *p)
        for i in range(N):
            inc = b[i] * dt
            for k in range(M):
                inc = inc + s[i * M + k] * dW[k]
            Z[i] = Z[i] + inc
    return Z


def simulate(x0, T, *, dt, paths, seed=None, params=None):
    """Euler-Maruyama for ``paths`` copies from ``x0`` (a sequence in the order STATE,
    or a dict keyed by name) to time ``T``; returns the final states, shape (paths, N)."""
    if isinstance(x0, dict):
        x0 = [float(x0[k] if k in x0 else next(v for q, v in x0.items()
                                                 if getattr(q, "name", q) == k))
              for k in STATE]
    p = _params(params)
    p = p + _derived(*p)
    nsteps = max(int(math.ceil(T / dt - 1e-9)), 1)
    rng = numpy.random.default_rng(seed)
    Z = numpy.empty((N, paths))
    Z[:] = numpy.asarray(x0, dtype=float)[:, None]
    if _njit is not None and _step_numba is not None:
        _step_numba(Z, numpy.asarray(p, dtype=float), T / nsteps, nsteps, rng)
    else:
        _step_numpy(Z, p, T / nsteps, nsteps, rng)
    return Z.T.copy()


_step_numba = None
if _njit is not None:
    if "_clenshaw" in globals():
        _clenshaw = _njit(_clenshaw)
    _scalar = _njit(_coeffs)

    @_njit
    def _step_numba(Z, p, dt, nsteps, rng):
        sq = math.sqrt(dt)
        z = numpy.empty(N)
        dW = numpy.empty(M)
        for j in range(Z.shape[1]):
            for i in range(N):
                z[i] = Z[i, j]
            for _ in range(nsteps):
                for k in range(M):
                    dW[k] = sq * rng.standard_normal()
                b, s = _scalar({", ".join(f"z[{i}]" for i in range(n))}{"".join(
        f", p[{i}]" for i in range(len(ps) + len(hs)))})
                for i in range(N):
                    inc = b[i] * dt
                    for k in range(M):
                        inc += s[i * M + k] * dW[k]
                    z[i] += inc
            for i in range(N):
                Z[i, j] = z[i]
'''


def _describe(model: Any, co: Any) -> str:
    rows = []
    for i, x in enumerate(co.state):
        terms = [f"({sp.sstr(co.drift[i])}) dt"]
        for k in range(co.m):
            e = co.noise[i * co.m + k]
            if e != 0:
                terms.append(f"({sp.sstr(e)}) dW{k + 1}")
        rows.append(f"    d{x} = " + " + ".join(terms))
    regime = getattr(model, "regime", None)
    head = f"The {regime} limit (Ito SDE):" if regime else "The SDE (Ito):"
    return head + "\n\n" + "\n".join(rows)
