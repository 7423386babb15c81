"""Small SymPy helpers shared by the declaration, derivation and report code.

* :func:`laurent_terms` splits an expression into powers of ``eps``;
* :func:`zero_check` decides whether an expression vanishes: exactly when
  ``expand``/``simplify`` get it to zero, otherwise by evaluation at random
  points (undefined functions replaced by random polynomials), recorded as a
  numeric check;
* :func:`with_budget` runs a SymPy call in a forked process under a work
  limit, so ``integrate``/``simplify``/``limit`` can never hang a derivation.

The work limit is deterministic: it counts the Python function calls the
routine makes (:func:`count_calls`, a :func:`sys.settrace` hook), in units of
:data:`WORK_UNIT` = one million calls, instead of measuring seconds. A call
that reaches its limit returns ``None`` (the caller falls back to another
route or to an unevaluated integral) after the same amount of work on an idle
or a loaded machine, so a derivation's answer does not depend on the load.
The child starts each call from a fixed state (SymPy's cache emptied, fresh
copies of the arguments, seeded assumption shuffling, lazy SymPy tables built
once beforehand), so the count depends little on what the process computed
before: repeated, it is the same to the call; after related SymPy work in the
same process it can be lower (SymPy remembers assumptions on long-lived objects;
20 % less for a Gaussian integral after a similar one was done in-process).
The only clock left is a safety net for code stuck in C without calling back
into Python; it raises :class:`StuckCallError` rather than answer differently.
"""

from __future__ import annotations

import cmath
import functools
import importlib._bootstrap
import multiprocessing as mp
import os
import pickle
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef

from .report.derivation import Check


def laurent_terms(expr: sp.Expr, eps: sp.Symbol, keep_up_to: int = 2) -> dict[sp.Rational, sp.Expr]:
    """Split ``expr`` into ``{p: c_p}`` with ``expr = sum_p c_p eps**p``.

    Powers ``p`` may be negative or half-integer. Terms that are not a plain
    power of ``eps`` times an ``eps``-free factor (e.g. ``1/(1+eps)``) are
    expanded with :func:`sympy.series` up to order ``keep_up_to``.
    """
    expr = sp.expand(sp.sympify(expr))
    out: dict[sp.Rational, list[sp.Expr]] = {}  # terms per power, summed once at the end
    if expr == 0:
        return {}
    for term in sp.Add.make_args(expr):
        coeff, power = term.as_coeff_exponent(eps)
        if coeff.has(eps) or not power.is_Rational:
            ser = sp.series(term, eps, 0, keep_up_to + 1).removeO()
            for sub in sp.Add.make_args(sp.expand(ser)):
                c, p = sub.as_coeff_exponent(eps)
                if c.has(eps) or not p.is_Rational:
                    from .errors import ScaleSeparationError

                    raise ScaleSeparationError(
                        f"cannot expand the term {term} in powers of {eps}: it is not a "
                        f"Laurent series in {eps} (or in {eps}**(1/2)). Rewrite the model so "
                        f"that every coefficient is a sum of powers of {eps}."
                    )
                out.setdefault(p, []).append(c)
        else:
            out.setdefault(power, []).append(coeff)
    sums = {p: sp.Add(*cs) for p, cs in out.items()}
    return {p: c for p, c in sums.items() if c != 0}


def is_rational_expression(e: sp.Expr, functions: bool = False) -> bool:
    """True when ``e`` is built from symbols, rational numbers, ``pi``, undefined
    functions and their derivatives by ``+``, ``*`` and integer powers: then
    ``cancel`` puts it in lowest terms exactly (the other atoms are treated as
    generators), and ``cancel(e) == 0`` decides whether it vanishes.

    With ``functions=True`` any function application (``sin(x)``, ``besseli(0, k)``)
    also counts as an atom: ``cancel`` still gives a correct lowest-terms form,
    but may miss relations between such atoms (``sin**2 + cos**2 = 1``), so a
    nonzero result does not prove that ``e`` is nonzero."""
    if isinstance(e, sp.Symbol | sp.Rational | AppliedUndef) or e in (sp.pi, sp.E):
        return True
    if isinstance(e, sp.Derivative):
        return isinstance(e.expr, AppliedUndef) or functions
    if isinstance(e, sp.Add | sp.Mul):
        return all(is_rational_expression(a, functions) for a in e.args)
    if isinstance(e, sp.Pow):
        return bool(e.exp.is_Integer) and is_rational_expression(e.base, functions)
    return functions and isinstance(e, sp.Function)


def _random_value(sym: sp.Symbol, rng: random.Random) -> sp.Rational:
    # exact rationals keep the substitution exact where possible
    v = sp.Rational(rng.randint(30, 170), 100)
    if sym.is_positive or sym.is_nonnegative:
        return v
    return v if rng.random() < 0.5 else -v


def replace_undefined_functions(expr: sp.Expr, rng: random.Random) -> sp.Expr:
    """Replace every undefined function ``f(args)`` by a random polynomial of
    degree 2 in its arguments (with positive constant term) and evaluate the
    derivatives. Used to spot-check identities that hold for all ``f``."""
    funcs = {a.func for a in expr.atoms(AppliedUndef)}
    if not funcs:
        return expr
    repl = {}
    for f in funcs:
        nargs = next(iter(a for a in expr.atoms(AppliedUndef) if a.func == f)).args
        dummies = sp.symbols(f"_u0:{len(nargs)}")
        poly = sp.Rational(rng.randint(110, 190), 100)
        for d in dummies:
            poly += sp.Rational(rng.randint(-60, 60), 100) * d
            poly += sp.Rational(rng.randint(-30, 30), 100) * d**2
        repl[f] = sp.Lambda(dummies, poly)
    return expr.replace(lambda e: isinstance(e, AppliedUndef) and e.func in repl,
                        lambda e: repl[e.func](*e.args)).doit()


def numeric_zero(expr: sp.Expr, trials: int = 3, tol: float = 1e-9, seed: int = 12345,
                 extra: dict | None = None) -> tuple[bool, str]:
    """Evaluate ``expr`` at ``trials`` random points; ``(all small, detail)``."""
    rng = random.Random(seed)
    worst = 0.0
    expr = sp.sympify(expr)
    if not expr.free_symbols and not expr.has(AppliedUndef) and not extra:
        trials = 1  # a number: every trial would evaluate the same thing
    for _ in range(trials):
        e = replace_undefined_functions(sp.sympify(expr), rng)
        subs = {s: _random_value(s, rng) for s in e.free_symbols}
        if extra:
            subs.update(extra)
        try:
            val = complex(sp.N(_integrals_to_numbers(e.subs(subs)), 15))
        except (TypeError, ValueError):
            return False, "could not be evaluated numerically"
        scale = 1.0
        worst = max(worst, abs(val) / scale)
    return worst < tol, f"max |residual| = {worst:.2e} at {trials} random points"


def _integrals_to_numbers(e: sp.Expr) -> sp.Expr:
    """Replace each closed definite integral by a 15-digit number, innermost first.

    ``N`` of a residual that cancels to zero raises its working precision again
    and again to resolve the cancellation; with an unevaluated ``Integral`` in
    it, every raise is another quadrature, and the check could run for
    minutes. Evaluated once each at fixed precision, the integrals cost one
    quadrature and the residual comes out at rounding level.
    """
    if not e.has(sp.Integral):
        return e
    return e.replace(lambda a: isinstance(a, sp.Integral) and not a.free_symbols,
                     _quad_number)


@functools.lru_cache(maxsize=512)
def _quad_number(integral: sp.Integral) -> sp.Expr:
    """A closed one-variable integral by ``mpmath.quad`` on a lambdified integrand
    (``N`` evaluates the integrand through ``evalf``, ~100x slower)."""
    import mpmath

    if integral.function.has(sp.Integral):
        return _nested_quad_number(integral)
    if len(integral.limits) != 1 or len(integral.limits[0]) != 3:
        return sp.N(integral, 15)
    (v, lo, hi), = integral.limits
    try:
        fn = sp.lambdify(v, integral.function, modules="mpmath")
        ends = [mpmath.mpf(complex(sp.N(e)).real) if e.is_finite else
                (mpmath.inf if e == sp.oo else -mpmath.inf) for e in (lo, hi)]
        with mpmath.workdps(20):
            val = mpmath.quad(fn, ends)
        return sp.sympify(complex(val)) if isinstance(val, mpmath.mpc) else sp.Float(val, 15)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, NameError):
        return sp.N(integral, 15)


def _tight_quad(fn: Callable, lo: float, hi: float) -> tuple[float, float]:
    """``scipy.integrate.quad`` at 1e-12 relative accuracy (the zero checks' scale)."""
    from scipy.integrate import quad

    return quad(fn, lo, hi, epsabs=1e-13, epsrel=1e-12, limit=200)


def _nested_quad_number(integral: sp.Integral) -> sp.Expr:
    r"""A closed integral whose integrand holds integrals (the constant-flux law on a
    circle: :math:`\int e^{V}\int_y^{y+L} e^{-V}`), by nested ``scipy.integrate.quad``.

    Nested ``mpmath.quad`` (and ``evalf``) takes seconds to minutes per value; nested
    adaptive Gauss-Kronrod on float callables takes milliseconds at 1e-12 relative
    accuracy. Complex integrands or an integrand scipy cannot evaluate go to ``N``.
    """
    import warnings

    try:
        fn = sp.lambdify([], integral, modules=[{"quad": _tight_quad}, "scipy", "numpy"])
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an inaccurate or complex value: not used
            val = float(fn())
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, NameError,
            ArithmeticError, Warning):
        return sp.N(integral, 15)
    return sp.Float(val, 15)


#: residuals up to this many operations are put over a common denominator
CANCEL_OPS = 3000

#: rational coefficients in more symbols and function values than this are not factored
FACTOR_GENERATORS = 12
#: rational expressions up to this many operations are also tried expanded
EXPAND_OPS = 200


def lowest_terms(e: sp.Expr, expanded: bool = False) -> sp.Expr | None:
    """A short form of a rational expression by polynomial arithmetic, in-process.

    For ``e`` rational in symbols and function values (``g(x)``, ``cos(x)``,
    ``I_0(k)``, ``exp(...)`` as generators; :func:`is_rational_expression` with
    ``functions=True``), the shortest (by ``count_ops``) of ``e`` and
    ``factor(cancel(e))`` (``factor_terms`` instead of ``factor`` beyond
    :data:`FACTOR_GENERATORS` generators, where multivariate factorisation
    grows fast), and with ``expanded=True`` also ``expand(e)`` for ``e`` up to
    :data:`EXPAND_OPS` operations (``1/I_0^2 - 1`` rather than
    ``(1 - I_0^2)/I_0^2``). Floats (a grid solver's numbers) count as generators.
    ``None`` for other expressions. Every candidate equals ``e`` identically, so
    this only chooses a form.

    Examples
    --------
    >>> import sympy as sp
    >>> k = sp.Symbol("k", positive=True)
    >>> I = sp.besseli(0, k)
    >>> lowest_terms((-2 * sp.pi * I + 2 * sp.pi / I) / (2 * sp.pi * I), expanded=True)
    -1 + besseli(0, k)**(-2)
    >>> lowest_terms(sp.sqrt(k) + 1) is None
    True
    """
    floats = {f: sp.Dummy() for f in e.atoms(sp.Float)}
    if floats:  # numbers from a grid solver: generators too, put back afterwards
        back = {d: f for f, d in floats.items()}
        out = lowest_terms(e.xreplace(floats), expanded)
        return None if out is None else out.xreplace(back)
    if not is_rational_expression(e, functions=True):
        return None
    lowest = sp.cancel(e)
    if len(lowest.free_symbols) + len(lowest.atoms(sp.Function)) <= FACTOR_GENERATORS:
        lowest = sp.factor(lowest)
    else:
        lowest = sp.factor_terms(lowest)
    cands = [e, lowest]
    if expanded and sp.count_ops(e) <= EXPAND_OPS:
        cands.append(sp.expand(e))
    return min(cands, key=sp.count_ops)


def _sampled_in_domain(sym: sp.Symbol) -> bool:
    """Whether :func:`_random_value` (a rational in ``+-[0.3, 1.7]``, positive for a
    positive or nonnegative symbol) always lies in ``sym``'s declared domain."""
    if sym.is_integer or sym.is_rational is False or sym.is_zero:
        return False
    if sym.is_positive or sym.is_nonnegative:
        return True
    return sym.is_negative is not True and sym.is_nonpositive is not True


def nonzero_witness(expr: sp.Expr, seed: int = 2024) -> str | None:
    """A point at which ``expr`` is clearly nonzero, as a sentence, or ``None``.

    One exact random point of the symbols' domain (undefined functions replaced
    by random polynomials, as in :func:`numeric_zero`) is evaluated by ``evalf``
    at 30 and at 45 digits; when both agree and the value exceeds ``1e-6``,
    ``expr`` is not identically zero (one value proves it, no rounding can make
    an identically zero expression that large). Only for expressions whose symbols
    are real or complex without further assumptions, or positive/nonnegative (the
    random values then lie in the declared domain): an integer symbol (``sin(n pi)``)
    or a negative one gets ``None``, and so does an expression with integrals. The
    cheap half of a zero test: it cannot prove zero.

    Examples
    --------
    >>> import sympy as sp
    >>> y = sp.Symbol("y", real=True)
    >>> nonzero_witness(y * sp.cos(y)) is not None
    True
    >>> nonzero_witness(sp.sin(y) ** 2 + sp.cos(y) ** 2 - 1) is None
    True
    """
    expr = sp.sympify(expr)
    if expr.has(sp.Integral) or not isinstance(expr, sp.Expr):
        return None
    for sym in expr.free_symbols:
        if not _sampled_in_domain(sym):
            return None
    rng = random.Random(seed)
    e = replace_undefined_functions(expr, rng)
    point = {s: _random_value(s, rng) for s in e.free_symbols}
    try:
        at = e.xreplace(point)
        lo, hi = complex(sp.N(at, 30)), complex(sp.N(at, 45))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, ArithmeticError):
        return None
    if not (cmath.isfinite(lo) and cmath.isfinite(hi)):
        return None
    if abs(hi) > 1e-6 and abs(lo - hi) <= 1e-12 * abs(hi):
        where = ", ".join(f"{k} = {v}" for k, v in sorted(point.items(), key=str))
        return f"nonzero ({complex(hi):.6g}) at {where or 'the value'}"
    return None


#: radicands up to this many operations are factored by :func:`factor_radicands`
RADICAND_OPS = 200


def factor_radicands(e: sp.Expr) -> sp.Expr | None:
    r"""``e`` with the radicand of each fractional power factored, or ``None`` when no
    radicand changed.

    A radicand that is a polynomial (or rational function) of symbols, rational numbers
    and function values of at most :data:`RADICAND_OPS` operations and
    :data:`FACTOR_GENERATORS` generators is replaced by
    ``factor`` of it, so that SymPy's own rules for powers of products and powers apply:
    :math:`\sqrt{u^2} = u` for :math:`u \ge 0` by the symbols' assumptions,
    :math:`|u|` for real :math:`u` (the two-state Perron root at :math:`p = 0`,
    :math:`\sqrt{(a + b)^2} = a + b`). Exact; polynomial arithmetic only, in-process.

    Examples
    --------
    >>> import sympy as sp
    >>> a, b = sp.symbols("a b", positive=True)
    >>> factor_radicands(sp.sqrt(a**2 + 2*a*b + b**2) - a - b)
    0
    >>> factor_radicands(sp.sqrt(a + b)) is None
    True
    """
    bases: dict[sp.Expr, sp.Expr] = {}
    for w in e.atoms(sp.Pow):
        base = w.base
        if (not w.exp.is_Rational or w.exp.is_Integer or base in bases
                or not isinstance(base, sp.Add) or sp.count_ops(base) > RADICAND_OPS
                or not is_rational_expression(base, functions=True)
                or len(base.free_symbols) + len(base.atoms(sp.Function)) > FACTOR_GENERATORS):
            continue
        factored = sp.factor(base)
        if factored != base and not isinstance(factored, sp.Add):
            bases[base] = factored
    if not bases:
        return None
    return e.replace(lambda w: isinstance(w, sp.Pow) and w.base in bases,
                     lambda w: sp.Pow(bases[w.base], w.exp))


def zero_check(name: str, expr: sp.Expr, budget: float = 5.0) -> Check:
    r"""Decide whether ``expr`` is identically zero and return the :class:`Check`.

    Tries ``expand``, then ``cancel`` (rational functions), then ``cancel`` after
    factoring the radicands (:func:`factor_radicands`: :math:`\sqrt{u^2} = u`), then
    one exact point where the value is clearly nonzero (:func:`nonzero_witness`, which
    proves ``expr`` nonzero), then ``simplify`` (within ``budget`` units of work, see
    :func:`with_budget`), then a numeric spot check at random parameter values.
    """
    expr = sp.sympify(expr)
    if isinstance(expr, sp.MatrixBase):
        checks = [zero_check(name, e, budget) for e in expr]
        ok = all(c.passed for c in checks)
        method = "numeric" if any(c.method == "numeric" for c in checks) else "symbolic"
        detail = "; ".join(c.detail for c in checks if c.detail)
        return Check(name, ok, method, detail)
    expanded = sp.expand(expr)
    if expanded == 0:
        return Check(name, True, "symbolic", "residual expands to 0")
    if not expr.has(sp.Integral) and sp.count_ops(expanded) < CANCEL_OPS:
        # rational functions (of symbols and function values): cancel decides, fast
        if sp.cancel(expanded) == 0:
            return Check(name, True, "symbolic", "residual cancels to 0")
        radicands = factor_radicands(expanded)
        if radicands is not None and sp.cancel(sp.expand(radicands)) == 0:
            return Check(name, True, "symbolic",
                         "residual cancels to 0 with its radicands factored")
    if not expr.has(sp.Integral):
        witness = nonzero_witness(expr)
        if witness is not None:
            return Check(name, False, "numeric", witness)
        simp = with_budget(sp.simplify, (expr,), budget)
        if simp is not None and simp == 0:
            return Check(name, True, "symbolic", "residual simplifies to 0")
    ok, detail = numeric_zero(expr)
    return Check(name, ok, "numeric", detail)


#: Python calls in one unit of ``work`` (see :func:`with_budget`)
WORK_UNIT = 1_000_000
#: wall-clock seconds per unit of work after which a call counts as stuck (see
#: :class:`StuckCallError`); about 10x the time one unit takes on an idle core
STUCK_SECONDS_PER_UNIT = 30.0
#: lower bound of that safety net, in seconds
STUCK_SECONDS_MIN = 60.0


class StuckCallError(RuntimeError):
    """A budgeted call did not return long after the time its work limit allows.

    The work limit counts Python calls; code that runs in C for a long time
    without calling back into Python (a huge integer power, say) is not
    counted. A hard wall-clock safety net catches that case and raises this
    error instead of returning ``None``, so a derivation never gets a
    different answer because the machine was slow; it only fails loudly.
    """


class _WorkLimitReached(BaseException):
    """Raised inside a counted call when its work limit is reached.

    A ``BaseException``, so that SymPy's ``except Exception`` blocks let it through."""


#: the frame of a module import; the calls it makes are not counted
_IMPORT_CODE = getattr(importlib._bootstrap._find_and_load, "__code__", None)


def count_calls(fn: Callable, args: tuple = (), kwargs: dict | None = None,
                limit: int | None = None) -> tuple[Any, int]:
    """Run ``fn(*args, **kwargs)`` in-process, counting the Python calls it makes.

    Parameters
    ----------
    fn, args, kwargs
        The call.
    limit : int, optional
        Stop the call with :class:`_WorkLimitReached` once more than ``limit``
        calls have been made (no limit when None).

    Returns
    -------
    tuple
        ``(result, calls)``: what ``fn`` returned and the number of Python
        function calls (frames entered, generator resumptions included) made
        while it ran, not counting those made by module imports (an import
        runs once per process, so counting it would make the count depend on
        what ran before).

    Raises
    ------
    _WorkLimitReached
        When the limit was reached (also when ``fn`` swallowed the exception).

    Notes
    -----
    The calls are counted by a global trace function (:func:`sys.settrace`)
    that returns no local trace function, so no line events are generated. A
    trace function installed before (a debugger, ``coverage``) is chained to
    and restored afterwards; calls made by trace functions are not counted
    (CPython suspends tracing inside them), so chaining does not change the
    count. Only the calling thread is traced.
    """
    kwargs = kwargs or {}
    previous = sys.gettrace()
    calls = 0
    importing = 0
    hit = False

    def import_tracer(prev_local: Any) -> Callable:
        def local(frame: Any, event: str, arg: Any) -> Any:
            nonlocal importing, prev_local
            if event == "return":
                importing -= 1
            if prev_local is not None:
                prev_local = prev_local(frame, event, arg)
            return local
        return local

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        nonlocal calls, hit, importing
        prev_local = previous(frame, event, arg) if previous is not None else None
        if frame.f_code is _IMPORT_CODE:
            importing += 1
            return import_tracer(prev_local)
        if not importing:
            calls += 1
            if limit is not None and calls > limit:
                hit = True
                raise _WorkLimitReached
        return prev_local

    sys.settrace(tracer)
    try:
        result = fn(*args, **kwargs)
    finally:
        sys.settrace(previous)
    if hit:  # the exception was caught inside fn: the limit still counts as reached
        raise _WorkLimitReached
    return result, calls


#: the package's own source folder: exceptions raised there are not SymPy's failures
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
#: exception types that, raised in symavg's own code, are bugs rather than "no answer"
INTERNAL_BUG_TYPES = (AttributeError, TypeError, NameError)


def is_internal_bug(exc: BaseException) -> bool:
    """Whether ``exc`` is a bug in symavg's own code rather than an expected failure.

    SymPy's expected failures (``NotImplementedError``, ``PolynomialError``,
    ``CoercionFailed``, ``RecursionError``, a ``TypeError`` deep in ``integrate``...) mean
    "no answer" and become ``None``. An ``AttributeError``, ``TypeError`` or
    ``NameError`` whose innermost frame is in symavg's own source is a bug in the call
    that was budgeted: it propagates, so it is seen instead of silently changing the
    route a derivation takes.
    """
    if not isinstance(exc, INTERNAL_BUG_TYPES):
        return False
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return last is not None and os.path.abspath(last).startswith(_PACKAGE_DIR + os.sep)


def _propagates(exc: BaseException) -> bool:
    """Exceptions that must reach the caller rather than become ``None``: interrupts,
    ``MemoryError`` and bugs in symavg's own code (:func:`is_internal_bug`)."""
    return (isinstance(exc, MemoryError) or not isinstance(exc, Exception)
            or is_internal_bug(exc))


def _dummy_indices(obj: Any) -> list[int]:
    if isinstance(obj, sp.Basic):
        return [d.dummy_index for d in obj.atoms(sp.Dummy)]
    if isinstance(obj, tuple | list):
        return [i for o in obj for i in _dummy_indices(o)]
    if isinstance(obj, dict):
        return [i for kv in obj.items() for o in kv for i in _dummy_indices(o)]
    return []


def _child(conn: Any, fn: Callable, args: tuple, kwargs: dict, limit: int) -> None:
    """Run the counted call from a fixed state and send the outcome."""
    from sympy.core.cache import clear_cache
    from sympy.core.random import seed

    calls = limit + 1
    try:
        # a fixed starting state, so that the count depends only on the call: an
        # empty cache (a fork inherits the parent's), seeded assumption-query
        # shuffling, Dummy numbering continued past the arguments' Dummies
        clear_cache()
        # fresh copies of the arguments: no assumptions remembered from earlier queries
        args, kwargs = pickle.loads(pickle.dumps((args, kwargs)))
        seed(0)
        sp.Dummy._count = max([sp.Dummy._count, *_dummy_indices((args, kwargs))]) + 1
        res, calls = count_calls(fn, args, kwargs, limit)
        msg: tuple = ("ok", res, calls)
    except _WorkLimitReached:
        msg = ("limit", None, calls)
    except BaseException as exc:  # reported to the parent, which decides
        msg = ("raise", exc, None) if _propagates(exc) else ("error", repr(exc), None)
    try:
        try:
            payload = pickle.dumps(msg)
        except Exception:  # unpicklable result or exception
            payload = pickle.dumps(("error", f"cannot send {type(msg[1]).__name__}", None)
                                   if msg[0] in ("ok", "error") else
                                   ("raise", RuntimeError(repr(msg[1])), None))
        conn.send_bytes(payload)
    finally:
        conn.close()
        os._exit(0)


def _fresh_dummies(value: Any, args: Any) -> Any:
    """Replace the Dummies created in the child by new ones of this process (the
    child numbered them from its own counter, so they could equal ours)."""
    if not isinstance(value, sp.Basic):
        return value
    known = value.atoms(sp.Dummy) - sp.Tuple(*[a for a in args if isinstance(a, sp.Basic)]
                                              ).atoms(sp.Dummy)
    if not known:
        return value
    return value.xreplace({d: sp.Dummy(d.name, **d.assumptions0) for d in known})


_warmed_up = False


def _warm_up() -> None:
    """Make once, in this process, the lazy initialisations of ``integrate``,
    ``simplify`` and ``limit`` (submodule imports, the Meijer G lookup table).

    Each budgeted call is forked from this process; without this, the first
    children would build these themselves and count that work, so a call's
    count would depend on whether the process had integrated before.
    """
    global _warmed_up
    if _warmed_up:
        return
    _warmed_up = True
    y = sp.Dummy("y", real=True)
    sp.integrate(sp.exp(-y**2), (y, 0, sp.oo), meijerg=True)
    sp.integrate(y * sp.cos(y), y)
    sp.simplify(sp.sin(y) ** 2 + sp.cos(y) ** 2)
    sp.limit(sp.sin(y) / y, y, 0)


@dataclass(frozen=True)
class BudgetOutcome:
    """What a budgeted call did: see :func:`run_budgeted`.

    Attributes
    ----------
    status : str
        ``"ok"`` (returned), ``"limit"`` (work limit reached) or ``"error"``
        (raised an ordinary exception, or returned something unpicklable).
    value : Any
        The result for ``"ok"``; the ``repr`` of the exception for ``"error"``.
    calls : int or None
        Python calls made (for ``"ok"``), ``limit + 1`` for ``"limit"``.
    """

    status: str
    value: Any
    calls: int | None


def run_budgeted(fn: Callable, args: tuple = (), work: float = 2.0,
                 kwargs: dict | None = None) -> BudgetOutcome:
    """Run ``fn(*args, **kwargs)`` under a work limit; see :func:`with_budget`.

    Returns the full :class:`BudgetOutcome` (status, value, call count)
    instead of just the value.
    """
    kwargs = kwargs or {}
    limit = max(1, int(work * WORK_UNIT))
    try:
        ctx = mp.get_context("fork")
    except ValueError:  # pragma: no cover - non-POSIX: in-process, cache not isolated
        try:
            res, calls = count_calls(fn, args, kwargs, limit)
            return BudgetOutcome("ok", res, calls)
        except _WorkLimitReached:
            return BudgetOutcome("limit", None, limit + 1)
        except Exception as exc:
            if _propagates(exc):
                raise
            return BudgetOutcome("error", repr(exc), None)
    _warm_up()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args, kwargs, limit), daemon=True)
    proc.start()
    child.close()
    stuck_after = max(STUCK_SECONDS_MIN, STUCK_SECONDS_PER_UNIT * work)
    try:
        if not parent.poll(stuck_after):  # the hang safety net, not a budget
            raise StuckCallError(
                f"{getattr(fn, '__qualname__', fn)!s} did not return within {stuck_after:.0f} s "
                f"without reaching its work limit of {limit} Python calls (stuck in C code?)")
        try:
            status, value, calls = pickle.loads(parent.recv_bytes())
        except (EOFError, pickle.UnpicklingError, OSError) as exc:  # the child died
            return BudgetOutcome("error", f"the forked call died: {exc!r}", None)
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        parent.close()
    if status == "raise":
        raise value
    if status == "ok":
        value = _fresh_dummies(value, (*args, *kwargs.values()))
    return BudgetOutcome(status, value, calls)


def with_budget(fn: Callable, args: tuple = (), work: float = 2.0,
                kwargs: dict | None = None) -> Any:
    """Run ``fn(*args, **kwargs)`` under a deterministic work limit.

    Parameters
    ----------
    fn, args, kwargs
        The call, typically a SymPy routine (``integrate``, ``simplify``, ``limit``).
    work : float
        The work limit in units of :data:`WORK_UNIT` (one million) Python
        function calls; one unit is about one second of untraced SymPy on an
        idle current core (1.5-2 s with the counting on).

    Returns
    -------
    Any
        The result, or ``None`` when the work limit was reached, when ``fn``
        raised an expected failure (SymPy's ``NotImplementedError``,
        ``PolynomialError``, ``CoercionFailed``, ``RecursionError``, ...) or when the
        result cannot be pickled. Callers treat ``None`` as "no answer" and fall back.

    Raises
    ------
    KeyboardInterrupt, SystemExit, MemoryError
        Raised by the call (or a Ctrl-C while waiting): passed on, never
        turned into ``None``.
    AttributeError, TypeError, NameError
        Raised in symavg's own code (a bug, see :func:`is_internal_bug`): passed on.
    StuckCallError
        The call ran far longer in wall-clock time than its work limit allows
        (see :class:`StuckCallError`).

    Notes
    -----
    The call runs in a forked child process (POSIX) with SymPy's cache
    emptied first, and the child counts the Python calls it makes
    (:func:`count_calls`). The outcome therefore depends on ``fn``, its
    arguments and the interpreter (SymPy version, hash seed), not on the
    machine's load, and little on what was computed before in the process
    (see the module docstring). Where ``fork`` is unavailable the call is
    counted in-process, with the cache as it is.
    """
    out = run_budgeted(fn, args, work, kwargs)
    return out.value if out.status == "ok" else None
