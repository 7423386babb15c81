r"""Tabulated propensities for the SSA: averages that the compiled loop looks up.

Two kinds of reduced propensities have no straight-line code:

* a propensity holding finite sums :math:`\sum_{\xi=0}^{U(y)} g(\xi, y)` (the exact
  detailed-balance averages of ``net.reduce()``: a fast dimerization, any number of
  enzymes), tabulated as a whole over the counts of every species it depends on;
* a :class:`~symavg.derive.network_numeric.FastAverage` :math:`E_m(y_f)` (the numeric
  conditional law of a general fast subnetwork), tabulated from the fast master
  equation at the parameters of the run; the propensity around it stays code.

Each table covers a box of counts: a species that no reaction of the network changes
only needs its initial values, the others ``0..size``. The box is written in the
parameter vector (``p``) as a header ``[start, lo_1, len_1, ..., lo_d, len_d]`` per
table, so the generated code does not depend on the sizes (one compile per network).
The lookup is row-major; a count outside the box gives NaN, which stops the run with
an error that says to raise ``table_size``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..errors import SimulationError

__all__ = ["TableSpec", "sum_table", "table_lines", "table_values", "tabulated"]


@dataclass(frozen=True)
class TableSpec:
    """One tabulated quantity.

    Attributes
    ----------
    kind : {"sum", "fast"}
    reaction : int
        The reaction whose propensity holds it.
    expr : Expr
        The whole propensity (``"sum"``) or the ``FastAverage`` atom (``"fast"``).
    species : tuple of int
        Positions (in ``net.species``) of the species the table runs over, in index order.
    """

    kind: str
    reaction: int
    expr: sp.Expr
    species: tuple[int, ...]


def _fast_atoms(a: sp.Expr) -> list[sp.Expr]:
    from ..derive.network_numeric import FastAverage

    return sorted({f for f in a.atoms(sp.Function) if isinstance(f, FastAverage)}, key=str)


def tabulated(net: object) -> list[TableSpec]:
    """The tables a network's propensities need (empty for plain propensities)."""
    out: list[TableSpec] = []
    seen: set = set()
    for r, a in enumerate(net.propensities):
        if a.has(sp.Sum):
            used = tuple(i for i, s in enumerate(net.species) if s in a.free_symbols)
            out.append(TableSpec("sum", r, a, used))
            continue
        for f in _fast_atoms(a):
            if f in seen:
                continue
            seen.add(f)
            bad = [x for x in f.args if not (x.is_Integer or x in net.species)]
            if bad:
                raise SimulationError(f"reaction {net.reactions[r].text!r}: the tabulated "
                                      f"average {f} has arguments {bad} that are neither "
                                      "species nor integers")
            used = tuple(net.species.index(x) for x in f.args if not x.is_Integer)
            out.append(TableSpec("fast", r, f, used))
    return out


def table_lines(specs: Sequence[TableSpec], header: int) -> tuple[list[str], dict]:
    """Lookup code for each table (``tabK = p[...]``) and ``{expr: Symbol("tabK")}``.

    ``header`` is the position of the first table header in ``p``.
    """
    lines: list[str] = []
    reps: dict = {}
    h = header
    for k, t in enumerate(specs):
        lines.append("    _ix = 0")
        lines.append("    _ok = True")
        for d, i in enumerate(t.species):
            lo, ln = h + 1 + 2 * d, h + 2 + 2 * d
            lines.append(f"    _j = n[{i}] - int(p[{lo}])")
            lines.append(f"    if _j < 0 or _j >= int(p[{ln}]):")
            lines.append("        _ok = False")
            lines.append(f"    _ix = _ix * int(p[{ln}]) + _j")
        lines.append(f"    tab{k} = p[int(p[{h}]) + _ix] if _ok else numpy.nan")
        reps[t.expr] = sp.Symbol(f"tab{k}")
        h += 1 + 2 * len(t.species)
    return lines, reps


def header_size(specs: Sequence[TableSpec]) -> int:
    return sum(1 + 2 * len(t.species) for t in specs)


def table_values(net: object, specs: Sequence[TableSpec], vals: Mapping,
                 ranges: Mapping[int, tuple[int, int]], start: int) -> list[float]:
    r"""Headers and contents of every table, to append to ``p`` at position ``start``.

    ``ranges[i] = (lo, hi)`` is the box of species ``i``; ``vals`` the parameter values.
    Fast averages of one law on the same box are computed in one solve.
    """
    head_len = header_size(specs)
    heads: list[float] = []
    data: list[np.ndarray] = []
    pos = start + head_len
    fast_groups: dict = {}
    for t in specs:
        if t.kind == "fast":
            law = t.expr.func.law
            lo, hi = _fast_box(t, law, net, ranges)
            fast_groups.setdefault((id(law), lo, hi), (law, lo, hi, []))[3].append(t)
    fast_vals: dict = {}
    for law, lo, hi, members in fast_groups.values():
        tab = law.table(vals, lo, hi, [m.expr.func.observable for m in members])
        for m in members:
            fast_vals[m.expr] = tab.values[m.expr.func.observable]
    for t in specs:
        los = [ranges[i][0] for i in t.species]
        his = [ranges[i][1] for i in t.species]
        if t.kind == "sum":
            arr = sum_table_nd(t.expr, [net.species[i] for i in t.species], vals, los, his)
        else:
            arr = fast_vals[t.expr]
        arr = np.asarray(arr, dtype=float).ravel()
        heads.append(float(pos))
        for lo, hi in zip(los, his):
            heads.extend([float(lo), float(hi - lo + 1)])
        data.append(arr)
        pos += arr.size
    return heads + [float(v) for d in data for v in d]


def _fast_box(t: TableSpec, law: object, net: object,
              ranges: Mapping[int, tuple[int, int]]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    lo, hi = [], []
    for x in t.expr.args:
        if x.is_Integer:
            lo.append(int(x))
            hi.append(int(x))
        else:
            a, b = ranges[net.species.index(x)]
            lo.append(a)
            hi.append(b)
    return tuple(lo), tuple(hi)


def sum_table(expr: sp.Expr, y: sp.Symbol, values: Mapping, size: int) -> np.ndarray:
    r"""``expr`` at ``y = 0..size``, where ``expr`` holds finite sums ``Sum(g, (xi, 0, U(y)))``
    (see :func:`sum_table_nd`)."""
    return sum_table_nd(expr, [y], values, [0], [size])


def sum_table_nd(expr: sp.Expr, ys: Sequence[sp.Symbol], values: Mapping,
                 los: Sequence[int], his: Sequence[int]) -> np.ndarray:
    r"""``expr`` on the box ``los <= ys <= his``, where ``expr`` holds finite sums
    ``Sum(g, (xi, L(y), U(y)))`` (shape ``his - los + 1``).

    Each sum is evaluated from its term ratio :math:`g(\xi+1)/g(\xi)` (a rational
    function for the hypergeometric terms of detailed-balance weights) in log
    space; when ``expr`` is homogeneous of degree 0 in the sums (a ratio of
    averages) a common scale is divided out, so no term overflows.
    """
    import mpmath

    ys = list(ys)
    expr = sp.sympify(expr).xreplace({k: sp.nsimplify(v) for k, v in values.items()})
    sums = sorted(expr.atoms(sp.Sum), key=str)
    dums = [sp.Dummy(f"S{k}") for k in range(len(sums))]
    outer = expr.xreplace(dict(zip(sums, dums)))
    t = sp.Dummy("t", positive=True)
    homogeneous = sp.cancel(outer.xreplace({d: t * d for d in dums}) - outer) == 0
    f_outer = sp.lambdify([*ys, *dums], outer, "math")
    parts = []
    for sm in sums:
        g, (xi, lo, hi) = sm.function, sm.limits[0]
        ratio = sp.factor(sp.expand_func(sp.gammasimp(sp.combsimp(g.subs(xi, xi + 1) / g))))
        if ratio.has(sp.gamma, sp.RisingFactorial, sp.factorial):
            raise SimulationError(f"the terms of {sm} have no rational term ratio: cannot "
                                  "tabulate the propensity")
        parts.append((sp.lambdify([xi, *ys], g, "mpmath"),
                      sp.lambdify([xi, *ys], ratio, "numpy"),
                      sp.lambdify(ys, lo, "math"), sp.lambdify(ys, hi, "math")))
    shape = tuple(int(h - lo_ + 1) for lo_, h in zip(los, his))
    out = np.empty(shape)
    for idx in np.ndindex(*shape):
        pt = [int(lo_ + i) for lo_, i in zip(los, idx)]
        logs = []
        for g0, rat, lo, hi in parts:
            a, b = int(math.floor(lo(*pt))), int(math.floor(hi(*pt)))
            start = a
            while start <= b and g0(start, *pt) == 0:
                start += 1
            if start > b:
                logs.append((np.array([]), np.array([])))
                continue
            first = mpmath.mpf(g0(start, *pt))
            xs = np.arange(start, b, dtype=float)
            r = (np.asarray(rat(xs, *[float(v) for v in pt]), dtype=float) * np.ones(len(xs))
                 if len(xs) else np.array([]))
            s0 = np.sign(float(first))
            sign = np.concatenate([[s0], s0 * np.cumprod(np.sign(r))])
            lg = float(mpmath.log(abs(first))) + np.concatenate([[0.0], np.cumsum(
                np.log(np.abs(r)))])
            logs.append((lg, sign))
        shift = max((float(lg.max()) for lg, _ in logs if len(lg)), default=0.0) \
            if homogeneous else 0.0
        vals = [float(np.sum(sg * np.exp(lg - shift))) if len(lg) else 0.0 for lg, sg in logs]
        try:
            out[idx] = float(f_outer(*[float(v) for v in pt], *vals))
        except ZeroDivisionError:
            out[idx] = 0.0
    return out
