r"""Admissibility of a declaration: what the mathematics of an Itô SDE needs.

Checked when an :class:`~symavg.models.sde.SDE` or a
:class:`~symavg.models.markov.SwitchingSDE` is built, so that no derivation
ever starts from an impossible model:

* the noise :math:`\sigma` and the diffusion :math:`a = \sigma\sigma^T` are
  real (an ``I``, e.g. ``sqrt(-2)``, is refused: :math:`\sigma\sigma^T` would
  then be negative);
* :math:`a` is positive semi-definite: a diagonal entry or a principal
  :math:`2\times2` minor that SymPy proves negative, or a negative eigenvalue
  at a random point of the state space (when the coefficients have no free
  parameters besides the scale), is refused;
* the coefficients are periodic in every periodic variable
  (:math:`b(y + L) = b(y)`, checked exactly or at random points): ``x - y``
  on a circle, or ``cos(y/2)`` on a circle of length :math:`2\pi`, is refused;
* the periods are exact (no floats) and positive;
* a state variable declared ``positive=True`` (or ``nonnegative``) stays on
  the half-line: its diffusion must vanish at 0 and its drift there must not
  point outwards. An Ornstein-Uhlenbeck variable declared positive is
  refused, since SymPy would otherwise integrate its law over ``y > 0`` only.

Each refusal is a :class:`~symavg.errors.ModelError` that names the entry and
the fix. Nothing here imports ``derive/`` or ``numeric/``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence

import sympy as sp
from sympy.core.function import AppliedUndef

from ..errors import ModelError
from ._common import check_no_floats

#: random points used by the numeric checks (deterministic seed)
_POINTS = 6
_SEED = 20240614


def _sample(sym: sp.Symbol, rng: random.Random) -> sp.Rational:
    v = sp.Rational(rng.randint(11, 290), 100)
    if sym.is_positive or sym.is_nonnegative:
        return v
    if sym.is_negative or sym.is_nonpositive:
        return -v
    return v if rng.random() < 0.5 else -v


def _complex_value(e: sp.Expr) -> complex | None:
    try:
        return complex(sp.N(e, 15))
    except (TypeError, ValueError):
        return None


def check_real(matrix: sp.MatrixBase, where: str, state: Sequence[sp.Symbol]) -> None:
    """Refuse a noise or diffusion entry that is not real.

    An entry is refused when SymPy proves it non-real, or when it contains the
    imaginary unit and has a nonzero imaginary part at a random real point.
    """
    rng = random.Random(_SEED)
    for (i, j), e in _entries(matrix):
        if e.is_real is False and e.is_finite is not False:
            bad = True
        elif e.has(sp.I):
            bad = False
            for _ in range(_POINTS):
                if e.has(AppliedUndef):
                    break
                val = _complex_value(e.subs({s: _sample(s, rng) for s in e.free_symbols}))
                if val is not None and abs(val.imag) > 1e-12 * max(1.0, abs(val)):
                    bad = True
                    break
        else:
            continue
        if bad:
            raise ModelError(
                f"{where} entry ({i},{j}) = {e} is not real: the noise of an Itô SDE is a real "
                "matrix and the diffusion sigma sigma^T is real and positive semi-definite. "
                "Check the sign under the square root (sqrt(-2) = sqrt(2)*I)."
            )


def _entries(matrix: sp.MatrixBase) -> list[tuple[tuple[int, int], sp.Expr]]:
    m = sp.Matrix(matrix)
    return [((i, j), sp.sympify(m[i, j])) for i in range(m.shape[0]) for j in range(m.shape[1])]


def check_psd(a: sp.MatrixBase, state: Sequence[sp.Symbol], eps: sp.Symbol,
              where: str = "diffusion", periodic: Mapping | None = None) -> None:
    r"""Refuse a diffusion matrix that is not positive semi-definite.

    Proven violations are refused whatever the parameters: a diagonal entry
    with ``is_negative``, a principal :math:`2\times 2` minor with
    ``is_negative``. When the only free symbols are the state variables and the
    scale, the eigenvalues are also computed at random points of the state
    space (periodic variables included) and a clearly negative one is refused.
    """
    a = sp.Matrix(a)
    n = a.shape[0]
    for i in range(n):
        d = a[i, i]
        if d.is_negative or (d.is_real and d.is_nonpositive and not d.is_zero):
            raise ModelError(
                f"{where}: the diagonal entry for {state[i]} is {d}, which is negative: a "
                "diffusion sigma sigma^T has nonnegative diagonal. Give the noise sigma instead "
                f"(noise=...), or fix the sign (a 1-D model dX = F dt + sqrt(2 D) dW has "
                "diffusion 2 D with D >= 0)."
            )
    for i in range(n):
        for j in range(i + 1, n):
            minor = sp.expand(a[i, i] * a[j, j] - a[i, j] ** 2)
            if minor.is_negative:
                raise ModelError(
                    f"{where}: the principal minor in ({state[i]}, {state[j]}) is {minor} < 0, "
                    "so the matrix is not positive semi-definite (the covariance of a noise "
                    "needs |a_ij| <= sqrt(a_ii a_jj)). Give the noise sigma (noise=...)."
                )
    free = set().union(*(e.free_symbols for e in a)) - set(state) - {eps}
    if free or any(e.has(AppliedUndef) for e in a) or not any(e.free_symbols for e in a):
        return
    rng = random.Random(_SEED)
    import numpy as np

    per = dict(periodic or {})
    # the entries with symbols, by position: constant entries are evaluated once, the
    # others by exact substitution (xreplace: the symbols are atoms here, no function of
    # them is undefined) and evalf, entry by entry (a.subs(point) of the whole matrix and
    # numpy's conversion of its Floats took 0.06-0.09 s per declaration)
    cells = [(i, j, sp.sympify(a[i, j])) for i in range(n) for j in range(n)]
    try:
        fixed = np.array([[complex(sp.N(a[i, j], 15)) if not a[i, j].free_symbols else 0j
                           for j in range(n)] for i in range(n)])
    except (TypeError, ValueError):
        return
    varying = [(i, j, e) for i, j, e in cells if e.free_symbols]
    for _ in range(4 * _POINTS):
        point = {s: _sample(s, rng) * (3 if s not in per else 1) for s in state}
        for s, L in per.items():  # a uniform point of the circle
            if L.is_number:
                point[s] = sp.Rational(rng.randint(0, 999), 1000) * L
        point[eps] = sp.Rational(rng.randint(5, 50), 100)
        num = fixed.copy()
        try:
            for i, j, e in varying:
                num[i, j] = complex(sp.N(e.xreplace(point), 15))
        except (TypeError, ValueError):
            continue
        if not np.all(np.isfinite(num)):
            continue
        ev = np.linalg.eigvalsh((num.real + num.real.T) / 2)
        if ev.min() < -1e-10 * max(1.0, float(np.abs(ev).max())):
            at = ", ".join(f"{k} = {v}" for k, v in point.items())
            raise ModelError(
                f"{where} is not positive semi-definite: at {at} it has the eigenvalue "
                f"{ev.min():.4g} < 0. A diffusion sigma sigma^T is positive semi-definite at "
                "every state; give the noise sigma (noise=...) or fix the coefficients."
            )


def check_periods(periodic: Mapping, state: Sequence[sp.Symbol]) -> dict[sp.Symbol, sp.Expr]:
    """Validate ``periodic={y: L}``: state variables, exact positive periods."""
    if not isinstance(periodic, Mapping):
        raise ModelError(f"periodic must be a dict {{variable: period}}; got {periodic!r}")
    per = {}
    for v, length in periodic.items():
        if v not in state:
            raise ModelError(f"periodic variable {v} is not a state variable of {list(state)}")
        if isinstance(length, str):
            raise ModelError(f"the period of {v} is the string {length!r}: give a SymPy "
                             "expression such as 2*sympy.pi")
        if isinstance(length, tuple | list):
            raise ModelError(
                f"the period of {v} is {length!r}: give the length L of the circle (the "
                f"variable lives on [0, L)), e.g. periodic={{{v}: 2*sympy.pi}}"
            )
        try:
            length = sp.sympify(length)
        except (sp.SympifyError, TypeError):
            raise ModelError(f"the period of {v} could not be read: {length!r}") from None
        if isinstance(length, float) or length.atoms(sp.Float):
            check_no_floats(length, f"the period of {v}")
        if length.has(*state):
            raise ModelError(f"the period of {v} depends on the state: {length}")
        if length.is_positive is False or length.is_zero or length.is_real is False:
            raise ModelError(f"the period of {v} must be positive; got {length}")
        per[v] = length
    return per


def check_periodic_coefficients(coeffs: Sequence[tuple[str, sp.Expr]],
                                periodic: Mapping[sp.Symbol, sp.Expr]) -> None:
    r"""Refuse a coefficient that is not periodic in a periodic variable.

    For each ``(label, e)`` and each ``y`` of period ``L``: :math:`e(y+L) - e(y)`
    must vanish, exactly (``expand``/``trigsimp``) or at random points.
    Coefficients with an undefined function of ``y`` (``c(y)``) are taken as
    periodic, as the declaration says.
    """
    rng = random.Random(_SEED)
    for y, L in periodic.items():
        for label, e in coeffs:
            e = sp.sympify(e)
            if not e.has(y):
                continue
            if any(f.has(y) for f in e.atoms(AppliedUndef)):
                continue
            diff = e.subs(y, y + L) - e
            if _vanishes(diff, rng):
                continue
            raise ModelError(
                f"{label} = {e} is not periodic in {y} with period {L}, although {y} is "
                f"declared periodic (periodic={{{y}: {L}}}): its change over one period is "
                f"{sp.simplify(diff)}. Use coefficients of period {L} (e.g. "
                f"{sp.cos(2 * sp.pi * y / L)}), declare the right period, or leave {y} on the "
                "line."
            )


def _vanishes(diff: sp.Expr, rng: random.Random) -> bool:
    if diff == 0 or sp.expand(diff) == 0:
        return True
    syms = sorted(diff.free_symbols, key=str)
    for _ in range(_POINTS):
        val = _complex_value(diff.subs({s: _sample(s, rng) for s in syms}))
        if val is None or not all(math.isfinite(p) for p in (val.real, val.imag)):
            continue
        if abs(val) > 1e-9:
            return False
    return True


def check_sign_assumptions(state: Sequence[sp.Symbol], drift: sp.MatrixBase,
                           diffusion: sp.MatrixBase, periodic: Mapping,
                           only: Sequence[sp.Symbol] | None = None) -> None:
    r"""A variable declared ``positive``/``nonnegative`` (``negative``/``nonpositive``)
    must stay on its half-line.

    At the boundary :math:`y = 0` its diffusion :math:`a_{yy}` must vanish
    (else the process crosses zero at once) and, where it does, its drift must
    not point out of the half-line. Violations that SymPy proves are refused.
    Periodic variables are exempt (their domain is the circle). ``only``: check these
    variables (the fast ones, whose invariant law is integrated over the half-line: the
    expansion engine calls this for them; a slow variable such as a species count in a
    chemical Langevin equation may cross 0 without making an average wrong).
    """
    for i, y in enumerate(state):
        if y in periodic or (only is not None and y not in only):
            continue
        if y.is_nonnegative:
            side, outward = "positive", "is_negative"
        elif y.is_nonpositive:
            side, outward = "negative", "is_positive"
        else:
            continue
        a0 = _at_zero(diffusion[i, i], y)
        if a0 is not None and (a0.is_positive or (a0.is_nonzero and a0.is_real)):
            raise ModelError(
                f"{y} is declared {side} (an assumption of the symbol), but its diffusion at "
                f"{y} = 0 is {a0} > 0: the process crosses 0 and lives on the whole line, and "
                f"SymPy would integrate its law over the half-line only. Declare "
                f"{y} = sympy.Symbol({y.name!r}, real=True), or give it a diffusion that "
                f"vanishes at 0 (e.g. sigma**2 * {y} for a CIR process)."
            )
        if a0 is not None and a0.is_zero:
            b0 = _at_zero(drift[i], y)
            if b0 is not None and getattr(b0, outward):
                raise ModelError(
                    f"{y} is declared {side}, but at {y} = 0 its diffusion vanishes and its "
                    f"drift {b0} points out of the half-line: the process leaves it. Declare "
                    f"{y} real, or change the drift."
                )


def _at_zero(e: sp.Expr, y: sp.Symbol) -> sp.Expr | None:
    e = sp.sympify(e)
    if not e.has(y):
        return e
    val = e.xreplace({y: sp.S.Zero})
    if val.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return None
    return val
