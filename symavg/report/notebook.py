"""Export a derivation as a Jupyter notebook that rebuilds, derives and checks it.

The notebook (written with nbformat) has, cell by cell: the imports, the code that declares
the model (its symbols and functions, then ``sa.SDE(...)`` or ``sa.MarkovChain(...)`` and
``sa.SwitchingSDE(...)``), the call to ``sa.reduce``, one cell per step of the derivation
(its display, then an ``assert`` on its name and its checks) and a last cell that compares
the rebuilt coefficients with those of the derivation that was exported.

The declaration's code is generated from the model and checked before it is written: it is
executed in a fresh namespace and the model it builds must equal the model (its state,
drift, noise or diffusion, periodic variables, scale and chain). Expressions are written the
way SymPy prints them (``c(x)*y/epsilon``); when that does not read back to the same
expression (a symbol whose name is not a Python identifier, one that shadows a SymPy name),
the model is written with ``sympy.srepr``, which always does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef

from .. import errors as sa_errors
from ..errors import ModelError

__all__ = ["call_notebook", "derivation_notebook", "model_source", "write_notebook"]

_PRELUDE = "import sympy as sp\nfrom sympy import *\n\nimport symavg as sa"


def _atoms(model: Any) -> tuple[list[sp.Symbol], list[Any]]:
    """The symbols and the undefined functions the declaration uses, sorted by name."""
    exprs: list[sp.Basic] = [*model.state, model.eps]
    kind = type(model).__name__
    if kind in ("SDE", "EffectiveModel"):
        exprs += list(model.drift)
        exprs += list(model.noise) if model.noise is not None else list(model.diffusion)
        exprs += list(model.diffusion) if kind == "EffectiveModel" else []
    elif kind == "SwitchingSDE":
        exprs += [e for d in model.drift for e in d] + list(model.chain.Q)
        exprs += [e for m in model.noise or () for e in m] + [model.chain.symbol]
    for v, length in model.periodic:
        exprs += [v, sp.sympify(length)]
    syms: set[sp.Symbol] = set()
    funcs: set[Any] = set()
    for e in exprs:
        syms |= {s for s in e.atoms(sp.Symbol) if not isinstance(s, sp.Dummy)}
        funcs |= {f.func for f in e.atoms(AppliedUndef)}
    return sorted(syms, key=lambda s: s.name), sorted(funcs, key=lambda f: f.__name__)


def _printer(readable: bool) -> Callable[[Any], str]:
    if readable:
        return lambda e: sp.sstr(sp.sympify(e), order="none")
    return lambda e: sp.srepr(sp.sympify(e))


def _matrix(m: sp.MatrixBase, pr: Callable[[Any], str]) -> str:
    return "[" + ", ".join("[" + ", ".join(pr(e) for e in row) + "]"
                           for row in m.tolist()) + "]"


def _declaration(model: Any, readable: bool) -> str:
    """Python code that binds ``model`` to the declaration (and ``chain`` for a switching
    model); its symbols and functions are defined first by :func:`model_source`."""
    pr = _printer(readable)
    name = (lambda s: s.name) if readable else pr
    state = "[" + ", ".join(name(s) for s in model.state) + "]"
    per = ("{" + ", ".join(f"{name(v)}: {pr(length)}" for v, length in model.periodic) + "}"
           if model.periodic else None)
    eps = name(model.eps)
    kind = type(model).__name__
    if kind == "SDE":
        args = [f"    state={state},",
                "    drift=[" + ", ".join(pr(e) for e in model.drift) + "],"]
        if model.noise is not None:
            args.append(f"    noise={_matrix(model.noise, pr)},")
        else:
            args.append(f"    diffusion={_matrix(model.diffusion, pr)},")
        if per:
            args.append(f"    periodic={per},")
        args.append(f"    eps={eps},")
        return "model = sa.SDE(\n" + "\n".join(args) + "\n)"
    if kind == "SwitchingSDE":
        ch = model.chain
        labels = ch.states
        rates = ", ".join(f"({lab_i!r}, {lab_j!r}): {pr(ch.Q[i, j])}"
                          for i, lab_i in enumerate(labels) for j, lab_j in enumerate(labels)
                          if i != j and ch.Q[i, j] != 0)
        from ..models.markov import CHAIN_SYMBOL

        symbol = "" if ch.symbol == CHAIN_SYMBOL else f", symbol={name(ch.symbol)}"
        lines = [f"chain = sa.MarkovChain({{{rates}}},",
                 f"                       states={list(labels)!r}, eps={eps}{symbol})"]
        drift = ", ".join(f"{lab!r}: [" + ", ".join(pr(e) for e in d) + "]"
                          for lab, d in zip(labels, model.drift))
        args = [f"    state={state},", "    chain=chain,", f"    drift={{{drift}}},"]
        if model.noise is not None:
            noise = ", ".join(f"{lab!r}: {_matrix(m, pr)}" for lab, m in zip(labels, model.noise))
            args.append(f"    noise={{{noise}}},")
        if per:
            args.append(f"    periodic={per},")
        args.append(f"    eps={eps},")
        return "\n".join(lines) + "\nmodel = sa.SwitchingSDE(\n" + "\n".join(args) + "\n)"
    if kind == "EffectiveModel":
        def tup(items: list[str]) -> str:
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"

        args = ["    state=" + tup([name(s) for s in model.state]) + ",",
                "    drift=sp.ImmutableMatrix([" + ", ".join(pr(e) for e in model.drift) + "]),",
                f"    diffusion=sp.ImmutableMatrix({_matrix(model.diffusion, pr)}),",
                "    noise=" + (f"sp.ImmutableMatrix({_matrix(model.noise, pr)})"
                              if model.noise is not None else "None") + ",",
                f"    regime={model.regime!r},",
                f"    steps=sa.Derivation({model.steps.title!r}),"]
        if model.fast:
            args.append("    fast=" + tup([name(s) for s in model.fast]) + ",")
        if per:
            args.append("    periodic=" + tup([f"({name(v)}, {pr(length)})"
                                              for v, length in model.periodic]) + ",")
        if model.order:
            args.append(f"    order={model.order},")
        args.append(f"    eps={eps},")
        return "model = sa.EffectiveModel(\n" + "\n".join(args) + "\n)"
    raise _unsupported(model)


def _unsupported(model: Any) -> ModelError:
    return ModelError(
        f"to_notebook writes the declaration of an sa.SDE, an sa.SwitchingSDE or an "
        f"sa.EffectiveModel; this derivation was made from a {type(model).__name__}. Reduce "
        "one of those, or write the notebook from that derivation."
    )


def _definitions(model: Any, readable: bool) -> str:
    syms, funcs = _atoms(model)
    if not readable:
        return ""
    lines = [f"{s.name} = {sp.srepr(s)}" for s in syms]
    lines += [f"{f.__name__} = sp.Function({f.__name__!r})" for f in funcs]
    return "\n".join(lines)


def _same_model(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    fields = ["state", "drift", "noise", "periodic", "eps"]
    if type(a).__name__ == "SDE":
        fields.append("diffusion")
    elif type(a).__name__ == "EffectiveModel":
        fields += ["diffusion", "regime", "order", "fast"]
    else:
        if a.chain.states != b.chain.states or a.chain.symbol != b.chain.symbol:
            return False
        if (sp.Matrix(a.chain.Q) - sp.Matrix(b.chain.Q)).applyfunc(sp.expand) != \
                sp.zeros(*a.chain.Q.shape):
            return False
    return all(getattr(a, f) == getattr(b, f) for f in fields)


def model_source(model: Any) -> str:
    """Python code that declares ``model`` again (after ``import sympy as sp``, ``from sympy
    import *`` and ``import symavg as sa``), checked by running it.

    Parameters
    ----------
    model : SDE, SwitchingSDE or EffectiveModel
        The declaration (an EffectiveModel that still has fast variables, to be reduced
        again).

    Returns
    -------
    str
        Code that defines the model's symbols and functions, then binds ``model`` (and
        ``chain`` for a switching model). Running it gives a model equal to ``model``.

    Raises
    ------
    ModelError
        For a model that is neither an ``SDE`` nor a ``SwitchingSDE``.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> from symavg.report.notebook import model_source
    >>> x, y = sp.symbols("x y", real=True)
    >>> m = sa.SDE([x, y], [y, -y / sa.epsilon**2], noise=[[0], [sp.sqrt(2) / sa.epsilon]])
    >>> print(model_source(m))
    epsilon = Symbol('epsilon', positive=True)
    x = Symbol('x', real=True)
    y = Symbol('y', real=True)
    model = sa.SDE(
        state=[x, y],
        drift=[y, -y/epsilon**2],
        noise=[[0], [sqrt(2)/epsilon]],
        eps=epsilon,
    )
    """
    import symavg as sa

    if type(model).__name__ not in ("SDE", "SwitchingSDE", "EffectiveModel"):
        raise _unsupported(model)
    for readable in (True, False):
        code = "\n".join(filter(None, [_definitions(model, readable),
                                       _declaration(model, readable)]))
        namespace: dict[str, Any] = {}
        try:
            exec(_PRELUDE + "\n" + code, namespace)  # noqa: S102 - our own generated code
        except (SyntaxError, NameError, TypeError, ValueError, sa.SymavgError):
            continue
        if _same_model(namespace.get("model"), model):
            return code
    raise ModelError(  # pragma: no cover - srepr reads back every SymPy expression
        "the declaration of the model could not be written as code that rebuilds it"
    )


def _reduce_call(origin: dict) -> str:
    args = ["model"]
    fast = origin.get("fast") or ()
    if fast:
        args.append("fast=[" + ", ".join(s.name if s.name.isidentifier() else sp.srepr(s)
                                         for s in fast) + "]")
    if origin.get("order", 0):
        args.append(f"order={origin['order']}")
    return "red = sa.reduce(" + ", ".join(args) + ")"


def derivation_notebook(derivation: Any, origin: dict) -> Any:
    """The notebook (an ``nbformat`` node) of :meth:`Derivation.to_notebook`.

    ``origin`` is ``{"model": declaration, "fast": fast variables, "order": 0 or 1}``.
    """
    from nbformat.v4 import new_code_cell, new_markdown_cell

    import symavg as sa

    model = origin["model"]
    source = model_source(model)
    call = _reduce_call(origin)
    # the notebook's steps are those of the call it makes: derive once here
    ns: dict[str, Any] = {}
    exec(_PRELUDE + "\n" + source + "\n" + call, ns)  # noqa: S102 - generated and checked
    rebuilt = ns["red"]
    cells = [
        new_markdown_cell(
            f"# {derivation.title}\n\n"
            f"Written by symavg {sa.__version__} (`Derivation.to_notebook`). Run the cells "
            "in order: they declare the model, derive the reduced model with `sa.reduce` and "
            "show each step of the derivation with the checks done on it."),
        new_code_cell(_PRELUDE),
        new_markdown_cell("## The model"),
        new_code_cell(source + "\nmodel"),
        new_markdown_cell("## The reduction"),
        new_code_cell(call + "\nred"),
        new_markdown_cell("## The derivation, step by step"),
    ]
    cells.extend(_step_cells(rebuilt.steps, "red"))
    cells.append(new_markdown_cell(
        "## The check\n\nThe coefficients derived here are those of the derivation that "
        "was exported (compared exactly, each difference simplified to zero)."))
    red = origin.get("reduced")
    drift = sp.srepr(sp.ImmutableMatrix(red.drift if red is not None else rebuilt.drift))
    diff = sp.srepr(sp.ImmutableMatrix(red.diffusion if red is not None
                                       else rebuilt.diffusion))
    cells.append(new_code_cell(
        f"expected_drift = {drift}\n"
        f"expected_diffusion = {diff}\n"
        "assert (sp.Matrix(red.drift) - expected_drift).applyfunc(sp.simplify).is_zero_matrix\n"
        "assert (sp.Matrix(red.diffusion) - expected_diffusion).applyfunc(sp.simplify)"
        ".is_zero_matrix\n"
        "assert red.steps.passed\n"
        "print('rebuilt, derived and checked:', len(red.steps), 'steps,',"
        " len(red.steps.checks), 'checks passed')"))
    return _notebook(cells)


def _symbol_definitions(objs: list[Any]) -> str:
    syms: set[sp.Symbol] = set()
    funcs: set[Any] = set()
    for e in objs:
        syms |= {s for s in e.atoms(sp.Symbol) if not isinstance(s, sp.Dummy)}
        funcs |= {f.func for f in e.atoms(AppliedUndef)}
    lines = [f"{s.name} = {sp.srepr(s)}" for s in sorted(syms, key=lambda s: s.name)]
    lines += [f"{f.__name__} = sp.Function({f.__name__!r})"
              for f in sorted(funcs, key=lambda f: f.__name__)]
    return "\n".join(lines)


def _expected_check(attr: str, expected: Any) -> str:
    """The last cell's comparison of ``res.<attr>`` with the exported value."""
    if isinstance(expected, sp.MatrixBase | sp.Basic):
        value = sp.srepr(sp.ImmutableMatrix(expected) if isinstance(expected, sp.MatrixBase)
                         else expected)
        diff = (f"(sp.Matrix(res.{attr}) - expected).applyfunc(sp.simplify).is_zero_matrix"
                if isinstance(expected, sp.MatrixBase) else
                f"sp.simplify(res.{attr} - expected) == 0")
        return f"expected = {value}\nassert {diff}"
    import numpy as np

    value = repr(np.asarray(expected, dtype=float).tolist())
    return (f"import numpy as np\nexpected = np.array({value})\n"
            f"assert np.allclose(np.asarray(res.{attr}, dtype=float), expected, rtol=1e-8, "
            "atol=1e-12), res." + attr)


def _probe(probe: Any) -> tuple[str, float]:
    """The numeric check of a result without a closed form: ``(code, value)``, e.g.
    ``("evaluate([0.5], [0.25])", 0.031)``; refused when it does not evaluate to a number."""
    import numpy as np

    try:
        attr, value = probe()
    except (sa_errors.SymavgError, ValueError, ArithmeticError) as exc:
        raise ModelError(f"the result has no closed form and its numeric check did not "
                         f"evaluate ({exc}): the notebook could not check the rerun") from exc
    if not np.isfinite(value):
        raise ModelError(f"the result has no closed form and its numeric check {attr} is "
                         f"{value}: the notebook could not check the rerun")
    return attr, float(value)


def call_notebook(derivation: Any, origin: dict) -> Any:
    """The notebook of a derivation made by a recorded call (:mod:`symavg.report.calls`):
    the inputs, the call, one cell per step with its checks, and a comparison of the
    result with the exported one."""
    from nbformat.v4 import new_code_cell, new_markdown_cell

    import symavg as sa

    from .calls import python_literal

    if origin.get("probe") is not None:      # no closed form: a numeric value to reproduce
        attr, value = _probe(origin["probe"])
        origin = {**origin, "attr": attr, "expected": value, "probe": None}
    prelude = _PRELUDE + ("\n" + origin["imports"] if origin.get("imports") else "")
    defs = _symbol_definitions(origin.get("inputs", []))
    # the call is the one that made ``derivation``: its steps are the notebook's. The code is
    # checked here without repeating the (possibly long) computation: it must compile, and
    # the inputs it prints must read back to the same objects
    try:
        compile(prelude + "\n" + defs + "\n" + origin["call"], "<notebook>", "exec")
    except SyntaxError as exc:
        raise ModelError(f"the call that made this derivation could not be written as code "
                         f"({exc}): {origin['call']}") from exc
    ns: dict[str, Any] = {}
    exec(_PRELUDE + "\n" + defs, ns)  # noqa: S102 - symbol definitions written here
    for obj in origin.get("inputs", []):
        for e in (list(obj) if isinstance(obj, sp.MatrixBase) else [obj]):
            text = python_literal(e)
            if eval(text, ns) != e:  # noqa: S307 - SymPy's own printing of our inputs
                raise ModelError(f"the input {e!r} does not read back from its printed form "
                                 f"{text!r}: the notebook could not rebuild the call")
    rebuilt = derivation
    cells = [
        new_markdown_cell(
            f"# {derivation.title}\n\n"
            f"Written by symavg {sa.__version__} (`Derivation.to_notebook`). Run the cells in "
            "order: they define the inputs, make the call again and show each step of the "
            "derivation with the checks done on it."),
        new_code_cell(prelude),
        new_markdown_cell("## The computation"),
        new_code_cell((defs + "\n" if defs else "") + origin["call"] + "\nres"),
        new_markdown_cell("## The derivation, step by step"),
    ]
    cells.extend(_step_cells(rebuilt.steps, "res"))
    cells.append(new_markdown_cell(
        f"## The check\n\nThe result `res.{origin['attr']}` is the one of the derivation "
        "that was exported."))
    cells.append(new_code_cell(
        _expected_check(origin["attr"], origin["expected"]) + "\nassert res.steps.passed\n"
        "print('rebuilt, derived and checked:', len(res.steps), 'steps,',"
        " len(res.steps.checks), 'checks passed')"))
    return _notebook(cells)


def write_notebook(derivation: Any, origin: dict | None, path: str | os.PathLike) -> Path:
    """Write :func:`derivation_notebook` (or :func:`call_notebook` for a recorded call) to
    ``path`` (see :meth:`Derivation.to_notebook`)."""
    if origin is not None and origin.get("call"):
        import nbformat

        out = Path(path)
        nbformat.write(call_notebook(derivation, origin), str(out))
        return out
    if origin is None or origin.get("model") is None:
        raise ModelError(
            f"the derivation {derivation.title!r} does not record the model it was derived "
            "from: only the derivations of sa.reduce (red.steps of an EffectiveModel), of "
            "ReactionNetwork.reduce, of sa.ldp, of the chaotic reductions and "
            "of the spatial routines "
            "(CellProblem.effective_tensor, "
            "effective_diffusivity_periodic_flow, effective_reflection) do. "
            "Write the notebook from red.steps of the reduced model, or pass "
            "model=the_declaration (and fast=, order=) to to_notebook."
        )
    try:
        import nbformat
    except ImportError as exc:  # pragma: no cover - nbformat is in the test and docs extras
        raise ModelError("to_notebook needs nbformat: pip install nbformat") from exc
    nb = derivation_notebook(derivation, origin)
    out = Path(path)
    nbformat.write(nb, str(out))
    return out


def _step_cells(steps: Any, var: str) -> list:
    """A heading and a code cell per step: the cell reads step ``i`` of ``var.steps``,
    asserts its name and its checks, and displays it."""
    from nbformat.v4 import new_code_cell, new_markdown_cell

    cells = []
    for i, step in enumerate(steps):
        cells.append(new_markdown_cell(f"### {i + 1}. {step.name}"))
        cells.append(new_code_cell(
            f"step = {var}.steps[{i}]\n"
            f"assert step.name == {step.name!r}, step.name\n"
            "assert step.passed, [c for c in step.checks if not c.passed]\n"
            "step"))
    return cells


def _notebook(cells: list) -> Any:
    """The validated notebook of ``cells``, for a Python 3 kernel."""
    import nbformat
    from nbformat.v4 import new_notebook

    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    nbformat.validate(nb)
    return nb
