"""Model files: a slow-fast SDE declared in TOML.

A model file declares the state (slow and fast variables), the parameters
with their numeric values, the SDE (drift and noise or diffusion, periodic
variables) and, optionally, the settings of a Monte Carlo check. Every
expression in it goes through the restricted parser
:func:`symavg.io.parse.parse_expr`, so a model file can never run code.
The schema is documented in ``docs/cli.md``; in short::

    name = "fast OU driving a slow variable"
    description = "dx = y/eps dt, dy = -y/eps^2 dt + sqrt(2)/eps dW"

    [state]
    slow = ["x"]
    fast = ["y"]

    [parameters]
    values = { theta = 1.0 }      # symbols with numeric values (positive=True)
    symbols = []                  # symbols without values (positive=True)
    functions = ["c"]             # undefined functions, e.g. c(x)

    [sde]
    drift = ["y/eps", "-y/eps^2"]          # or { x = "y/eps", y = "-y/eps^2" }
    noise = [["0"], ["sqrt(2)/eps"]]       # n x m sigma; a flat list = independent noises
    # diffusion = [["0", "0"], ["0", "2/eps^2"]]   # sigma sigma^T instead of noise
    periodic = { }                         # e.g. { y = "2*pi" }

    [simulate]
    x0 = { x = 0.0 }
    T = 0.5
    eps = [0.1, 0.05, 0.025]
    paths = 20000
    seed = 1
    observables = ["x", "x^2"]

State variables are declared ``real=True``, parameters ``positive=True``, and
the names ``eps`` and ``epsilon`` both mean :data:`symavg.epsilon`. A file with
``scale = "delta"`` writes its fast terms with ``delta`` instead; the scale
lives in the declaration, so the model is ``SDE(..., eps=delta)`` and
``reduce``, ``simulate``, ``verify`` and the CLI all read it from there.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import sympy as sp

from .._symbols import epsilon
from ..errors import ModelError, ParseError
from ..models.sde import SDE
from .parse import CONSTANTS, check_name, parse_expr

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["ModelSpec", "load_model", "loads_model"]

_TOP_KEYS = ("name", "description", "scale", "state", "parameters", "sde", "simulate")
_STATE_KEYS = ("slow", "fast")
_PARAM_KEYS = ("values", "symbols", "functions")
_SDE_KEYS = ("drift", "noise", "diffusion", "periodic")
_SIM_KEYS = ("x0", "T", "eps", "paths", "seed", "observables")
_EPS_NAMES = ("eps", "epsilon")


@dataclass(frozen=True)
class ModelSpec:
    """A model file, read and checked.

    Attributes
    ----------
    model : SDE
        The full slow-fast model; its state is ``slow + fast``, its scale
        parameter ``model.eps``.
    slow, fast : list of Symbol
        The slow and the fast variables (``real=True``).
    eps : Symbol
        The scale parameter, :data:`symavg.epsilon` unless the file names
        another one with ``scale = "delta"``: a convenience, always
        ``model.eps`` (the default; any other symbol is a ModelError).
    params : dict of Symbol to float
        The parameter values (``[parameters] values``), symbols ``positive=True``.
    x0 : dict of Symbol to float
        Initial condition (``[simulate] x0``); fast variables left out start
        from their invariant law.
    T : float or None
        Final time of the Monte Carlo check.
    eps_values : list of float
        Values of ``eps`` for the Monte Carlo check.
    paths : int or None
        Number of Monte Carlo paths.
    seed : int or None
        Random seed.
    observables : list of sympy.Expr
        Functions of the slow variables whose means are compared; the slow
        variables themselves by default.
    functions : dict of str to sympy.Function
        The undefined functions the file declares.
    name, description : str
        Free text from the file.
    source : str
        The file the spec was read from (``"<string>"`` for :func:`loads_model`).

    Examples
    --------
    >>> import symavg as sa
    >>> spec = sa.loads_model('''
    ... [state]
    ... slow = ["x"]
    ... fast = ["y"]
    ... [sde]
    ... drift = { x = "y/eps", y = "-y/eps^2" }
    ... noise = [["0"], ["sqrt(2)/eps"]]
    ... ''')
    >>> spec.slow, spec.fast
    ([x], [y])
    """

    model: SDE
    slow: list[sp.Symbol]
    fast: list[sp.Symbol]
    eps: sp.Symbol | None = None
    params: dict[sp.Symbol, float] = field(default_factory=dict)
    x0: dict[sp.Symbol, float] = field(default_factory=dict)
    T: float | None = None
    eps_values: list[float] = field(default_factory=list)
    paths: int | None = None
    seed: int | None = None
    observables: list[sp.Expr] = field(default_factory=list)
    functions: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    description: str = ""
    source: str = "<string>"

    def __post_init__(self) -> None:
        own = self.model.eps
        if self.eps is None:
            object.__setattr__(self, "eps", own)
        elif self.eps != own:
            raise ModelError(f"ModelSpec: eps={self.eps} but the model was declared with the "
                             f"scale parameter {own}; the scale lives in the declaration "
                             f"(SDE(..., eps={self.eps}))")

    @property
    def state(self) -> list[sp.Symbol]:
        """All state variables, slow first."""
        return list(self.slow) + list(self.fast)


class _Reader:
    """Reads one parsed TOML document, with the file name in every error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def err(self, key: str, msg: str) -> ParseError:
        return ParseError(f"{self.source}: key '{key}': {msg}")

    # ---- structure -------------------------------------------------------
    def table(self, doc: Mapping, key: str, where: str, allowed: Sequence[str],
              required: bool = True) -> dict:
        full = f"{where}.{key}" if where else key
        if key not in doc:
            if required:
                raise ParseError(f"{self.source}: missing section [{full}]")
            return {}
        t = doc[key]
        if not isinstance(t, dict):
            raise self.err(full, f"must be a table ([{full}] or {{ ... }}); got "
                                 f"{_describe(t)}")
        self.keys(t, full, allowed)
        return t

    def keys(self, t: Mapping, where: str, allowed: Sequence[str]) -> None:
        unknown = [k for k in t if k not in allowed]
        if unknown:
            loc = f"[{where}]" if where else "the top level"
            raise ParseError(
                f"{self.source}: unknown key {unknown[0]!r} in {loc}; allowed keys are "
                f"{', '.join(allowed)}"
            )

    def string(self, t: Mapping, key: str, where: str, default: str = "") -> str:
        if key not in t:
            return default
        v = t[key]
        if not isinstance(v, str):
            raise self.err(_join(where, key), f"must be a string; got {_describe(v)}")
        return v

    def names(self, t: Mapping, key: str, where: str, what: str,
              required: bool = False) -> list[str]:
        full = _join(where, key)
        if key not in t:
            if required:
                raise ParseError(f"{self.source}: missing key '{full}' (a list of {what} "
                                 "names, e.g. [\"x\"])")
            return []
        v = t[key]
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list):
            raise self.err(full, f"must be a list of names; got {_describe(v)}")
        out = [check_name(n, file=self.source, key=full, what=what) for n in v]
        if required and not out:
            raise self.err(full, f"declare at least one {what}")
        return out

    def number(self, v: object, key: str, *, positive: bool = False) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.err(key, f"must be a number; got {_describe(v)}")
        x = float(v)
        if not math.isfinite(x):
            raise self.err(key, f"must be finite; got {v!r}")
        if positive and x <= 0:
            raise self.err(key, f"must be positive; got {v!r}")
        return x

    def integer(self, v: object, key: str, *, positive: bool = False) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.err(key, f"must be an integer; got {_describe(v)}")
        if positive and v <= 0:
            raise self.err(key, f"must be a positive integer; got {v!r}")
        return v

    # ---- expressions -----------------------------------------------------
    def expr(self, v: object, key: str, symbols: Mapping[str, sp.Basic],
             functions: Mapping[str, Callable[..., sp.Expr]] | None = None) -> sp.Expr:
        if isinstance(v, bool):
            raise self.err(key, f"must be an expression (a string or a number); got {v!r}")
        if isinstance(v, int):
            return sp.Integer(v)
        if isinstance(v, float):
            if not math.isfinite(v):
                raise self.err(key, f"must be finite; got {v!r}")
            # TOML floats are binary; take the shortest decimal that round-trips, which is
            # the literal as written for up to 15 significant digits, as an exact rational.
            try:
                num, den = Decimal(repr(v)).as_integer_ratio()
            except (InvalidOperation, ValueError):  # pragma: no cover - finite floats parse
                raise self.err(key, f"unreadable number {v!r}") from None
            return sp.Rational(num, den)
        if not isinstance(v, str):
            raise self.err(key, f"must be an expression (a string or a number); got "
                                f"{_describe(v)}")
        return parse_expr(v, symbols, functions, file=self.source, key=key)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _describe(v: object) -> str:
    kind = {dict: "a table", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number"}.get(type(v), type(v).__name__)
    text = repr(v)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{kind} {text}"


def loads_model(text: str, source: str = "<string>") -> ModelSpec:
    """Read a model from TOML text; see :func:`load_model`.

    Parameters
    ----------
    text : str
        The TOML document.
    source : str
        A name for the text in error messages.

    Returns
    -------
    ModelSpec

    Examples
    --------
    >>> import symavg as sa
    >>> spec = sa.loads_model('''
    ... [state]
    ... slow = ["x"]
    ... fast = ["y"]
    ... [sde]
    ... drift = { x = "y/eps", y = "-y/eps^2" }
    ... noise = [["0"], ["sqrt(2)/eps"]]
    ... ''')
    >>> sa.reduce(spec.model, fast=spec.fast).diffusion
    Matrix([[2]])
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParseError(f"{source}: TOML syntax error: {exc}") from None
    return _build(doc, _Reader(source))


def load_model(path: str | Path) -> ModelSpec:
    """Read a slow-fast model from a TOML model file.

    Parameters
    ----------
    path : str or Path
        The model file. Its schema is documented in ``docs/cli.md`` and in
        the docstring of :mod:`symavg.io.modelfile`.

    Returns
    -------
    ModelSpec
        The model (an :class:`~symavg.models.sde.SDE`), its fast variables,
        scale parameter, parameter values and Monte Carlo settings.

    Raises
    ------
    OSError
        If the file cannot be read.
    ParseError
        If the file is not valid TOML, misses a required section or key, has
        an unknown key (the message lists the allowed ones), a value of the
        wrong type, or an expression the restricted parser rejects. The
        message names the file, the key and the offending text.

    Examples
    --------
    >>> import os, tempfile, symavg
    >>> path = os.path.join(tempfile.mkdtemp(), "ou.toml")
    >>> _ = open(path, "w").write('''
    ... [state]
    ... slow = ["x"]
    ... fast = ["y"]
    ... [sde]
    ... drift = { x = "y/eps", y = "-y/eps^2" }
    ... noise = [["0"], ["sqrt(2)/eps"]]
    ... ''')
    >>> spec = load_model(path)
    >>> symavg.reduce(spec.model, spec.fast).diffusion
    Matrix([[2]])
    """
    p = Path(path)
    data = p.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return loads_model(text, source=str(p))


def _build(doc: dict, r: _Reader) -> ModelSpec:
    r.keys(doc, "", _TOP_KEYS)
    name = r.string(doc, "name", "")
    description = r.string(doc, "description", "")

    # ---- scale parameter -------------------------------------------------
    scale = r.string(doc, "scale", "", default="eps")
    if scale in _EPS_NAMES:
        eps = epsilon
        eps_names = {n: eps for n in _EPS_NAMES}
    else:
        check_name(scale, file=r.source, key="scale", what="scale parameter")
        eps = sp.Symbol(scale, positive=True)
        eps_names = {scale: eps}

    # ---- declarations ----------------------------------------------------
    st = r.table(doc, "state", "", _STATE_KEYS)
    slow_names = r.names(st, "slow", "state", "slow variable", required=True)
    fast_names = r.names(st, "fast", "state", "fast variable", required=True)
    pt = r.table(doc, "parameters", "", _PARAM_KEYS, required=False)
    values = pt.get("values", {})
    if not isinstance(values, dict):
        raise r.err("parameters.values", "must be a table { name = number, ... }; got "
                                         f"{_describe(values)}")
    value_names = [check_name(n, file=r.source, key="parameters.values", what="parameter")
                   for n in values]
    sym_names = r.names(pt, "symbols", "parameters", "parameter")
    fun_names = r.names(pt, "functions", "parameters", "function")

    declared: dict[str, str] = {}
    for where, names in (("state.slow", slow_names), ("state.fast", fast_names),
                         ("parameters.values", value_names), ("parameters.symbols", sym_names),
                         ("parameters.functions", fun_names)):
        for n in names:
            if n in eps_names:
                raise r.err(where, f"{n!r} is the scale parameter; it is declared already")
            if n in declared:
                raise r.err(where, f"{n!r} is declared twice (also in {declared[n]})")
            declared[n] = where

    slow = [sp.Symbol(n, real=True) for n in slow_names]
    fast = [sp.Symbol(n, real=True) for n in fast_names]
    state = slow + fast
    params = {sp.Symbol(n, positive=True): r.number(values[n], f"parameters.values.{n}")
              for n in value_names}
    param_syms = list(params) + [sp.Symbol(n, positive=True) for n in sym_names]
    functions = {n: sp.Function(n) for n in fun_names}

    by_name: dict[str, sp.Basic] = dict(eps_names)
    by_name.update({s.name: s for s in state})
    by_name.update({s.name: s for s in param_syms})
    const_names = {s.name: s for s in param_syms}

    # ---- the SDE ---------------------------------------------------------
    sde = r.table(doc, "sde", "", _SDE_KEYS)
    if "drift" not in sde:
        raise ParseError(f"{r.source}: missing key 'sde.drift' (one expression per state "
                         f"variable {', '.join(s.name for s in state)})")
    drift = _vector(r, sde["drift"], "sde.drift", state, by_name, functions)
    noise = diffusion = None
    if "noise" in sde and "diffusion" in sde:
        raise ParseError(f"{r.source}: give either sde.noise (sigma) or sde.diffusion "
                         "(sigma sigma^T), not both")
    if "noise" in sde:
        noise = _noise(r, sde["noise"], "sde.noise", state, by_name, functions)
    if "diffusion" in sde:
        diffusion = _matrix(r, sde["diffusion"], "sde.diffusion", by_name, functions)
    periodic = {}
    per = sde.get("periodic", {})
    if not isinstance(per, dict):
        raise r.err("sde.periodic", f"must be a table {{ y = \"2*pi\" }}; got {_describe(per)}")
    for k, v in per.items():
        var = _state_var(r, k, "sde.periodic", state)
        periodic[var] = r.expr(v, f"sde.periodic.{k}", {**eps_names, **const_names})

    try:
        model = SDE(state, drift, noise=noise, diffusion=diffusion, periodic=periodic or None,
                    eps=eps)
    except ModelError as exc:
        raise ParseError(f"{r.source}: [sde]: {exc}") from None

    # ---- Monte Carlo settings ---------------------------------------------
    sim = r.table(doc, "simulate", "", _SIM_KEYS, required=False)
    x0: dict[sp.Symbol, float] = {}
    x0t = sim.get("x0", {})
    if not isinstance(x0t, dict):
        raise r.err("simulate.x0", f"must be a table {{ x = 0.0 }}; got {_describe(x0t)}")
    for k, v in x0t.items():
        var = _state_var(r, k, "simulate.x0", state)
        x0[var] = _value(r, v, f"simulate.x0.{k}", const_names, params)
    T = r.number(sim["T"], "simulate.T", positive=True) if "T" in sim else None
    eps_values: list[float] = []
    if "eps" in sim:
        ev = sim["eps"]
        ev = ev if isinstance(ev, list) else [ev]
        eps_values = [r.number(e, f"simulate.eps[{i}]", positive=True) for i, e in enumerate(ev)]
    paths = r.integer(sim["paths"], "simulate.paths", positive=True) if "paths" in sim else None
    seed = r.integer(sim["seed"], "simulate.seed") if "seed" in sim else None
    observables: list[sp.Expr] = list(slow)
    if "observables" in sim:
        ob = sim["observables"]
        ob = ob if isinstance(ob, list) else [ob]
        obs_names = {**const_names, **{s.name: s for s in state}}
        observables = []
        for i, o in enumerate(ob):
            key = f"simulate.observables[{i}]"
            e = r.expr(o, key, obs_names)
            bad = sorted((e.free_symbols & set(fast)), key=str)
            if bad:
                raise r.err(key, f"observables are functions of the slow variables "
                                 f"({', '.join(s.name for s in slow)}) and parameters only; "
                                 f"{o!r} uses the fast variable {bad[0]}")
            observables.append(e)

    return ModelSpec(model=model, slow=slow, fast=fast, params=params, x0=x0, T=T,
                     eps_values=eps_values, paths=paths, seed=seed, observables=observables,
                     functions=functions, name=name, description=description, source=r.source)


def _state_var(r: _Reader, name: str, key: str, state: Sequence[sp.Symbol]) -> sp.Symbol:
    for s in state:
        if s.name == name:
            return s
    raise r.err(key, f"{name!r} is not a state variable; the state is "
                     f"{', '.join(s.name for s in state)}")


def _vector(r: _Reader, v: object, key: str, state: Sequence[sp.Symbol],
            names: Mapping[str, sp.Basic], functions: Mapping) -> list[sp.Expr]:
    n = len(state)
    if isinstance(v, dict):
        missing = [s.name for s in state if s.name not in v]
        for k in v:
            _state_var(r, k, key, state)
        if missing:
            raise r.err(key, f"no entry for state variable {missing[0]!r}; give one entry per "
                             f"state variable ({', '.join(s.name for s in state)})")
        return [r.expr(v[s.name], f"{key}.{s.name}", names, functions) for s in state]
    if not isinstance(v, list):
        raise r.err(key, f"must be a list of {n} expressions (slow variables first) or a table "
                         f"{{ variable = expression }}; got {_describe(v)}")
    if len(v) != n:
        raise r.err(key, f"has {len(v)} entries but the state has {n} variables "
                         f"({', '.join(s.name for s in state)}, slow first)")
    return [r.expr(e, f"{key}[{i}]", names, functions) for i, e in enumerate(v)]


def _matrix(r: _Reader, v: object, key: str, names: Mapping[str, sp.Basic],
            functions: Mapping) -> list[list[sp.Expr]]:
    if not isinstance(v, list) or not v or not all(isinstance(row, list) for row in v):
        raise r.err(key, f"must be a list of rows (a list of lists of expressions); got "
                         f"{_describe(v)}")
    return [[r.expr(e, f"{key}[{i}][{j}]", names, functions) for j, e in enumerate(row)]
            for i, row in enumerate(v)]


def _noise(r: _Reader, v: object, key: str, state: Sequence[sp.Symbol],
           names: Mapping[str, sp.Basic], functions: Mapping) -> object:
    if isinstance(v, dict):
        rows = []
        for s in state:
            if s.name not in v:
                raise r.err(key, f"no row for state variable {s.name!r}")
        for k in v:
            _state_var(r, k, key, state)
        vals = [v[s.name] for s in state]
        if all(isinstance(e, list) for e in vals):
            rows = [[r.expr(e, f"{key}.{s.name}[{j}]", names, functions)
                     for j, e in enumerate(row)] for s, row in zip(state, vals)]
            return rows
        if any(isinstance(e, list) for e in vals):
            raise r.err(key, "give either one expression per variable (independent noises) or "
                             "one row per variable, not a mix")
        return [r.expr(e, f"{key}.{s.name}", names, functions) for s, e in zip(state, vals)]
    if not isinstance(v, list) or not v:
        raise r.err(key, f"must be an n x m matrix (list of rows), a flat list (independent "
                         f"noises), or a table {{ variable = row }}; got {_describe(v)}")
    if all(isinstance(row, list) for row in v):
        return _matrix(r, v, key, names, functions)
    if any(isinstance(row, list) for row in v):
        raise r.err(key, "mixes rows (lists) and single expressions; give an n x m matrix or a "
                         "flat list")
    return [r.expr(e, f"{key}[{i}]", names, functions) for i, e in enumerate(v)]


def _value(r: _Reader, v: object, key: str, names: Mapping[str, sp.Basic],
           params: Mapping[sp.Symbol, float]) -> float:
    if isinstance(v, bool):
        raise r.err(key, f"must be a number; got {v!r}")
    if isinstance(v, int | float):
        return r.number(v, key)
    e = r.expr(v, key, {**CONSTANTS, **names})
    missing = e.free_symbols - set(params)
    if missing:
        raise r.err(key, f"needs a value for {sorted(map(str, missing))[0]}: give it under "
                         "[parameters] values")
    x = complex(e.subs(params).evalf())
    if x.imag != 0 or not math.isfinite(x.real):
        raise r.err(key, f"{v!r} is not a finite real number")
    return x.real
