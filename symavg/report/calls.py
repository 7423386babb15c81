"""How a result was computed, as code: the origin of the derivations of calls other than
``sa.reduce`` (the spatial routines), so that :meth:`Derivation.to_notebook` can rebuild them.

:func:`recorded` decorates a public call whose result has a ``steps`` derivation; the result's
derivation gets ``origin = {"call": code, "imports": ..., "inputs": [...], "attr": name,
"expected": value}``, where ``code`` binds ``res`` to the same call written in Python (its
arguments printed by :func:`python_literal`), ``inputs`` the SymPy objects the code uses (their
symbols and functions are defined first) and ``attr`` the result's attribute that the notebook
compares with ``expected``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import sympy as sp

__all__ = ["python_literal", "recorded"]

F = TypeVar("F", bound=Callable[..., Any])


def python_literal(obj: Any) -> str:
    """Python source for ``obj`` (after ``from sympy import *`` and the definitions of its
    symbols): SymPy objects as SymPy prints them, matrices as ``Matrix([...])``, dicts,
    lists, tuples and numbers as literals.

    Examples
    --------
    >>> import sympy as sp
    >>> y = sp.Symbol("y")
    >>> python_literal({y: 2 * sp.pi, "n": [1, 2.5]})
    "{y: 2*pi, 'n': [1, 2.5]}"
    """
    if isinstance(obj, sp.MatrixBase):
        return "Matrix(" + python_literal(obj.tolist()) + ")"
    if type(obj).__name__ in _DETERMINISTIC:   # a chaotic flow or map: its declaration
        return (f"sa.{type(obj).__name__}({python_literal(list(obj.state))}, "
                f"{python_literal(list(obj.rhs))}, eps={python_literal(obj.eps)})")
    if isinstance(obj, sp.Basic):
        plain = sp.sstr(obj, order="none")
        # a leading fraction printed 1/2 reads back as a Python float: write S(1)/2 then
        if any(not r.is_Integer for r in obj.atoms(sp.Rational)) and not _reads_back(plain,
                                                                                      obj):
            return sp.sstr(obj, order="none", sympy_integers=True)
        return plain
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{python_literal(k)}: {python_literal(v)}"
                               for k, v in obj.items()) + "}"
    if isinstance(obj, list):
        return "[" + ", ".join(python_literal(v) for v in obj) + "]"
    if isinstance(obj, tuple):
        inner = ", ".join(python_literal(v) for v in obj)
        return f"({inner},)" if len(obj) == 1 else f"({inner})"
    if hasattr(obj, "tolist"):   # a NumPy array or scalar
        return python_literal(obj.tolist())
    return repr(obj)


_DETERMINISTIC = ("DeterministicFlow", "DeterministicMap")


def _reads_back(text: str, obj: sp.Basic) -> bool:
    """Whether ``text`` evaluates to ``obj`` after ``from sympy import *`` and the
    definitions of its symbols and functions."""
    from sympy.core.function import AppliedUndef

    ns: dict[str, Any] = {}
    exec("from sympy import *", ns)  # noqa: S102 - SymPy's namespace
    ns.update({v.name: v for v in obj.free_symbols if isinstance(v, sp.Symbol)})
    ns.update({type(f).__name__: f.func for f in obj.atoms(AppliedUndef)})
    try:
        return bool(eval(text, ns) == obj)  # noqa: S307 - SymPy's own printing
    except Exception:  # noqa: BLE001 - any failure means: does not read back
        return False


def _sympy_objects(obj: Any) -> list[Any]:
    if isinstance(obj, sp.Basic | sp.MatrixBase):
        return [obj]
    if type(obj).__name__ in _DETERMINISTIC:
        return [*obj.state, *obj.rhs, obj.eps]
    if isinstance(obj, dict):
        return [o for k, v in obj.items() for o in _sympy_objects(k) + _sympy_objects(v)]
    if isinstance(obj, list | tuple):
        return [o for v in obj for o in _sympy_objects(v)]
    return []


def recorded(render: Callable[[inspect.BoundArguments], tuple[str, str, list[Any]]],
             attr: str) -> Callable[[F], F]:
    """Decorate a call so that its result's derivation records the call (module docstring).

    ``render(arguments)`` gives ``(imports, call, values)``: the import line, the call's
    source with ``{}`` placeholders for the printed ``values`` (``call.format(*printed)``),
    and those values."""

    def wrap(fn: F) -> F:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            res = fn(*args, **kwargs)
            bound = sig.bind(*args, **kwargs)
            imports, template, values = render(bound)
            code = "res = " + template.format(*(python_literal(v) for v in values))
            origin = {"call": code, "imports": imports, "inputs": _sympy_objects(values),
                      "attr": attr, "expected": getattr(res, attr)}
            steps = dataclasses.replace(res.steps, origin=origin)
            return dataclasses.replace(res, steps=steps)

        return call  # type: ignore[return-value]

    return wrap


def keyword_arguments(bound: inspect.BoundArguments, skip: tuple[str, ...] = ()) -> str:
    """``, name={}`` for each argument given by the caller (placeholders for the values)."""
    return "".join(f", {k}={{}}" for k in bound.arguments if k not in skip)


def given(bound: inspect.BoundArguments, skip: tuple[str, ...] = ()) -> list[Any]:
    """The values of the arguments given by the caller, in order (see
    :func:`keyword_arguments`)."""
    return [v for k, v in bound.arguments.items() if k not in skip]
