r"""Code generation: SymPy coefficients to straight-line numeric source.

The numeric layer never evaluates SymPy objects in a loop. A model's
coefficients are turned into Python source once:

1. undefined functions (``c(x)``) are replaced by the user's definitions
   (``functions={c: sp.Lambda(x, x)}``) and derivatives are evaluated;
2. every sub-expression that depends on parameters only and holds a function
   call (``besseli(0, V0/D)``, an unevaluated ``Integral``, ...) is *hoisted*:
   it becomes a derived parameter computed once per run with SciPy / mpmath,
   so the kernel only sees elementary functions that numba compiles;
3. :func:`sympy.cse` turns the remaining expressions into straight-line
   assignments, printed with SymPy's NumPy printer. The same text works on
   scalars (inside a numba kernel) and on arrays (vectorised NumPy), and it
   never builds the deep nested call that makes
   ``numba.njit(sympy.lambdify(...))`` fail with ``RecursionError`` on
   expressions of a few thousand operations.

The public entry point is :func:`lambdify_model`, which returns a
:class:`CompiledModel` with vectorised ``drift(state, params)`` and
``noise(state, params)`` / ``diffusion(state, params)`` functions.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.codeprinter import PrintMethodNotImplementedError
from sympy.printing.numpy import NumPyPrinter

from ..errors import ModelError, SimulationError


# --------------------------------------------------------------- functions
def hoist_parameter_functions(exprs: Sequence[sp.Expr], state: Sequence[sp.Symbol],
                              prefix: str = "_h") -> tuple[list[sp.Expr],
                                                           list[tuple[sp.Symbol, sp.Expr]]]:
    """Replace maximal state-free sub-expressions holding a function call by symbols.

    Returns the rewritten expressions and the list ``[(symbol, expression)]``
    of derived parameters, in the order they must be computed.
    """
    state_set = set(state)
    table: dict[sp.Basic, sp.Symbol] = {}
    derived: list[tuple[sp.Symbol, sp.Expr]] = []

    def visit(node: sp.Basic) -> sp.Basic:
        if node.is_Atom:
            return node
        state_free = not (node.free_symbols & state_set)
        calls = isinstance(node, sp.Integral) or (
            not isinstance(node, sp.Derivative) and bool(node.atoms(sp.Function)))
        if state_free and calls:
            if node not in table:
                sym = sp.Symbol(f"{prefix}{len(table)}", real=True)
                table[node] = sym
                derived.append((sym, node))
            return table[node]
        args = [visit(a) for a in node.args]
        return node.func(*args) if any(a is not b for a, b in zip(args, node.args)) else node

    return [visit(sp.sympify(e)) for e in exprs], derived


def evaluate_derived(derived: Sequence[tuple[sp.Symbol, sp.Expr]],
                     values: Mapping[sp.Symbol, float]) -> dict[sp.Symbol, float]:
    """Numerical values of hoisted parameter expressions (SciPy/mpmath, once per run).

    Unevaluated integrals are computed by adaptive quadrature (``mpmath.quad``
    through :meth:`sympy.Integral.evalf`).
    """
    out: dict[sp.Symbol, float] = {}
    subs = {k: sp.Float(v) for k, v in values.items()}
    for sym, expr in derived:
        e = expr.xreplace(subs)
        try:
            val = complex(sp.N(e, 17))
        except (TypeError, ValueError) as exc:
            raise SimulationError(
                f"could not evaluate the parameter expression {expr} at {dict(values)}: {exc}"
            ) from None
        if abs(val.imag) > 1e-12 * max(1.0, abs(val.real)) or not np.isfinite(val.real):
            raise SimulationError(
                f"the parameter expression {expr} evaluates to {val} at the given parameters; "
                "a real finite number is needed"
            )
        out[sym] = val.real
        subs[sym] = sp.Float(val.real)
    return out


# --------------------------------------------------------------- printing
class _Printer(NumPyPrinter):
    """NumPy printer that writes ``numpy.`` names (valid in numba and NumPy)."""

    def __init__(self) -> None:
        super().__init__({"fully_qualified_modules": True, "inline": True,
                          "allow_unknown_functions": False})

    def doprint(self, expr: sp.Basic, assign_to: object = None) -> str:
        """Print ``expr``; a function NumPy/numba cannot evaluate is a clear error."""
        try:
            return super().doprint(expr, assign_to)
        except PrintMethodNotImplementedError as exc:
            name = exc.args[0].splitlines()[0].rsplit(": ", 1)[-1]
            raise SimulationError(
                f"a coefficient applies {name} to a state variable, which the simulators "
                "cannot evaluate (only elementary functions are compiled; special functions "
                "of parameters alone are fine): rewrite the coefficient") from None

    def _print_Phi1(self, expr: sp.Basic) -> str:
        return f"_phi1({self._print(expr.args[0])})"

    def _print_ChebyshevSeries(self, expr: sp.Basic) -> str:
        return "_clenshaw(" + ", ".join(self._print(a) for a in expr.args) + ")"


def straight_line(exprs: Sequence[sp.Expr], names: Sequence[str],
                  indent: str = "    ", tmp: str = "_t") -> list[str]:
    """Lines ``tmp_k = ...`` (common sub-expressions) then ``name = ...``.

    Every symbol in ``exprs`` must already carry the name of a local variable.
    """
    printer = _Printer()
    reps, reduced = sp.cse(list(exprs), symbols=sp.numbered_symbols(tmp), order="none")
    lines = [f"{indent}{s} = {printer.doprint(e)}" for s, e in reps]
    for name, e in zip(names, reduced):
        text = printer.doprint(e)
        if not (e.free_symbols or e.is_Atom is False):
            text = f"float({text})"
        lines.append(f"{indent}{name} = {text}")
    if any("numpy.select" in ln or "numpy.piecewise" in ln for ln in lines):
        raise ModelError("Piecewise coefficients are not supported by the simulators yet; "
                         "write the coefficient with smooth functions (e.g. Heaviside-free)")
    return lines


# --------------------------------------------------------------- module cache
def cache_dir() -> Path:
    """Where generated kernels live: ``$SYMAVG_CACHE_DIR`` or ``~/.cache/symavg``."""
    root = os.environ.get("SYMAVG_CACHE_DIR")
    path = Path(root) if root else Path.home() / ".cache" / "symavg"
    try:
        (path / "kernels").mkdir(parents=True, exist_ok=True)
    except OSError:
        path = Path(tempfile.gettempdir()) / "symavg-cache"
        (path / "kernels").mkdir(parents=True, exist_ok=True)
    return path / "kernels"


_MODULES: dict[str, Any] = {}


def load_source(source: str, tag: str = "k") -> Any:
    """Import generated ``source`` as a module, written once to the cache folder.

    A file-backed module lets numba cache its compiled kernels on disk
    (``cache=True``), so a second process reuses them, and shows the generated
    code in tracebacks. Modules are keyed by the hash of their source.
    """
    key = hashlib.sha256(source.encode()).hexdigest()[:20]
    name = f"symavg_{tag}_{key}"
    if name in _MODULES:
        return _MODULES[name]
    folder = cache_dir()
    path = folder / f"{name}.py"
    if not path.exists() or path.read_text() != source:
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(source)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    _MODULES[name] = mod
    return mod


def have_numba() -> bool:
    """True when numba can be imported."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------- public API
@dataclass(frozen=True)
class CompiledModel:
    r"""Numeric drift and noise of a model, vectorised over paths.

    ``drift(state, params)`` takes ``state`` of shape ``(n,)`` or ``(n, P)``
    (rows in the order of :attr:`state`) and a ``{Symbol: float}`` dict, and
    returns :math:`b` with the same trailing shape; ``noise`` returns
    :math:`\sigma` of shape ``(n, m[, P])`` and ``diffusion``
    :math:`\sigma\sigma^T` of shape ``(n, n[, P])``.
    """

    state: tuple[sp.Symbol, ...]
    parameters: tuple[sp.Symbol, ...]
    derived: tuple[tuple[sp.Symbol, sp.Expr], ...]
    m: int
    source: str
    backend: str
    module: Any
    defaults: dict[sp.Symbol, float] = field(default_factory=dict)

    def _p(self, params: Mapping | None) -> np.ndarray:
        values = {**self.defaults, **dict(params or {})}
        missing = [s for s in self.parameters if s not in values]
        if missing:
            raise SimulationError(
                f"missing parameter values for {missing}: pass params={{{missing[0]}: ...}}"
            )
        base = [float(values[s]) for s in self.parameters]
        derived = evaluate_derived(self.derived, values)
        return np.array(base + [derived[s] for s, _ in self.derived], dtype=float)

    def _call(self, fn: Callable, state: Any, params: Mapping | None, shape: tuple) -> np.ndarray:
        z = np.asarray(state, dtype=float)
        if z.shape[0] != len(self.state):
            raise SimulationError(f"state must have {len(self.state)} rows "
                                  f"{list(self.state)}; got shape {z.shape}")
        p = self._p(params)
        vals = fn(*z, *p)
        tail = z.shape[1:]
        return np.array([np.broadcast_to(v, tail) for v in vals], dtype=float).reshape(
            shape + tail)

    def drift(self, state: Any, params: Mapping | None = None) -> np.ndarray:
        """The drift :math:`b(z)`."""
        return self._call(self.module.drift, state, params, (len(self.state),))

    def noise(self, state: Any, params: Mapping | None = None) -> np.ndarray:
        r"""The noise matrix :math:`\sigma(z)`."""
        return self._call(self.module.noise, state, params, (len(self.state), self.m))

    def diffusion(self, state: Any, params: Mapping | None = None) -> np.ndarray:
        r"""The diffusion matrix :math:`\sigma\sigma^T(z)`."""
        s = self.noise(state, params)
        return np.einsum("ik...,jk...->ij...", s, s)


def lambdify_model(model: Any, backend: str = "numpy", params: Mapping | None = None,
                   functions: Mapping | None = None,
                   eps_symbol: sp.Symbol | None = None) -> CompiledModel:
    """Compile the drift and noise of an ``SDE`` or ``EffectiveModel``.

    Parameters
    ----------
    model : SDE or EffectiveModel
    backend : {"numpy", "numba"}
        ``"numba"`` compiles the functions with ``numba.njit`` (scalar inputs).
    params : dict {Symbol: float}, optional
        Default parameter values, used where a call gives none (parameters
        stay arguments of the generated code, so one compilation serves all values).
    functions : dict, optional
        Definitions of undefined functions, see :func:`substitute_functions`.
    eps_symbol : Symbol, optional
        Deprecated, kept for one release: the scale parameter is read from the
        model (``model.eps``) and stays a parameter like the others. ``None``
        (the default) or that same symbol; a different one is a
        :class:`~symavg.errors.ModelError`.

    Returns
    -------
    CompiledModel
        ``drift(state, params)``, ``noise(state, params)``, ``diffusion(state, params)`` as
        NumPy (or numba) functions, with the model's state and parameter order.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x = sp.Symbol("x", real=True); k = sp.Symbol("k", positive=True)
    >>> f = sa.SDE([x], [-k * x], noise=[1]).lambdify()
    >>> f.drift([2.0], {k: 3.0})
    array([-6.])
    """
    from .plan import model_coefficients, model_scale

    coeffs = model_coefficients(model, functions,
                                model_scale(model, eps_symbol, "lambdify_model"))
    n = len(coeffs.state)
    zs = [sp.Symbol(f"z{i}", real=True) for i in range(n)]
    ps = [sp.Symbol(f"p{i}", real=True) for i in range(len(coeffs.parameters))]
    sub = dict(zip(coeffs.state, zs)) | dict(zip(coeffs.parameters, ps))
    drift = [e.xreplace(sub) for e in coeffs.drift]
    noise = [e.xreplace(sub) for e in coeffs.noise]
    if any(i.free_symbols & set(zs) for e in drift + noise for i in e.atoms(sp.Integral)):
        raise SimulationError(
            "the model has a coefficient without closed form (an unevaluated integral that "
            "depends on the state): simulate it with sa.simulate(..., tabulate={x: (lo, hi)}) "
            "or emit it with to_python(params=..., tabulate=...), which tabulate it by "
            "quadrature")
    allx, derived = hoist_parameter_functions(drift + noise, zs)
    hs = [s for s, _ in derived]
    args = ", ".join([str(z) for z in zs] + [str(p) for p in ps] + [str(h) for h in hs])
    b_lines = straight_line(allx[:n], [f"b{i}" for i in range(n)])
    s_lines = straight_line(allx[n:], [f"s{k}" for k in range(len(noise))])
    back = {v: k for k, v in sub.items()}
    derived = [(s, e.xreplace(back)) for s, e in derived]
    jit = "@njit(cache=True)\n" if backend == "numba" else ""
    head = "from numba import njit\n" if backend == "numba" else ""
    src = (
        '"""Generated by symavg.numeric.codegen: drift and noise of a model."""\n'
        f"import math\nimport numpy\n{head}\n\n"
        f"{jit}def drift({args}):\n" + "\n".join(b_lines) +
        f"\n    return ({', '.join(f'b{i}' for i in range(n))},)\n\n\n"
        f"{jit}def noise({args}):\n" + "\n".join(s_lines) +
        f"\n    return ({', '.join(f's{k}' for k in range(len(noise)))},)\n"
    )
    if backend not in ("numpy", "numba"):
        raise ModelError(f"backend must be 'numpy' or 'numba'; got {backend!r}")
    if backend == "numba" and not have_numba():
        raise SimulationError("backend='numba' needs numba: pip install symavg[fast]")
    mod = load_source(src, "lam")
    return CompiledModel(coeffs.state, coeffs.parameters, tuple(derived), coeffs.m, src,
                         backend, mod, dict(params or {}))
