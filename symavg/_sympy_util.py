"""Small SymPy helpers shared by the declaration, derivation and report code.

* :func:`laurent_terms` splits an expression into powers of ``eps``;
* :func:`zero_check` decides whether an expression vanishes: exactly when
  ``expand``/``simplify`` get it to zero, otherwise by evaluation at random
  points (undefined functions replaced by random polynomials), recorded as a
  numeric check;
* :func:`with_budget` runs a SymPy call in a forked process with a time limit,
  so ``integrate``/``dsolve`` can never hang a derivation.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import random
from collections.abc import Callable
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
    out: dict[sp.Rational, sp.Expr] = {}
    if expr == 0:
        return out
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
                out[p] = out.get(p, 0) + c
        else:
            out[power] = out.get(power, 0) + coeff
    return {p: c for p, c in out.items() if c != 0}


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


def _quad_number(integral: sp.Integral) -> sp.Expr:
    """A closed one-variable integral by ``mpmath.quad`` on a lambdified integrand
    (``N`` evaluates the integrand through ``evalf``, ~100x slower)."""
    import mpmath

    if len(integral.limits) != 1 or len(integral.limits[0]) != 3 or \
            integral.function.has(sp.Integral):
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


#: residuals up to this many operations are put over a common denominator
CANCEL_OPS = 3000


def zero_check(name: str, expr: sp.Expr, budget: float = 5.0) -> Check:
    """Decide whether ``expr`` is identically zero and return the :class:`Check`.

    Tries ``expand``, then ``cancel`` (rational functions), then ``simplify``
    (within ``budget`` seconds), then a numeric spot check at random parameter
    values.
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
    if not expr.has(sp.Integral):
        simp = with_budget(sp.simplify, (expr,), budget)
        if simp is not None and simp == 0:
            return Check(name, True, "symbolic", "residual simplifies to 0")
    ok, detail = numeric_zero(expr)
    return Check(name, ok, "numeric", detail)


class _BudgetExceeded(Exception):
    pass


def _child(conn: Any, fn: Callable, args: tuple, kwargs: dict) -> None:
    try:
        res = fn(*args, **kwargs)
        conn.send_bytes(pickle.dumps(("ok", res)))
    except BaseException as exc:  # report any failure to the parent
        try:
            conn.send_bytes(pickle.dumps(("err", repr(exc))))
        except Exception:
            pass
    finally:
        conn.close()
        os._exit(0)


def with_budget(fn: Callable, args: tuple = (), seconds: float = 5.0,
                kwargs: dict | None = None) -> Any:
    """Run ``fn(*args)`` with a wall-clock budget; ``None`` when it did not
    finish in time, raised, or returned something that cannot be pickled.

    The call runs in a forked child process (POSIX), so a SymPy routine that
    hangs is killed rather than waited for. Where ``fork`` is unavailable the
    call runs in-process without a limit.
    """
    kwargs = kwargs or {}
    try:
        ctx = mp.get_context("fork")
    except ValueError:  # pragma: no cover - non-POSIX
        try:
            return fn(*args, **kwargs)
        except Exception:
            return None
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args, kwargs), daemon=True)
    proc.start()
    child.close()
    result = None
    if parent.poll(seconds):
        try:
            status, value = pickle.loads(parent.recv_bytes())
            if status == "ok":
                result = value
        except (EOFError, pickle.UnpicklingError, OSError):
            result = None
    if proc.is_alive():
        proc.kill()
    proc.join(1)
    parent.close()
    return result
