"""The Examples sections of the public API run: every public name has a NumPy docstring
with a runnable example, and the doctests of the modules that define them pass."""

from __future__ import annotations

import doctest
import importlib
import inspect

import pytest

import symavg as sa

PUBLIC = [n for n in sa.__all__ if n != "epsilon"]   # epsilon is a SymPy Symbol
MODULES = sorted({inspect.getmodule(getattr(sa, n)).__name__ for n in PUBLIC}
                 | {"symavg.report.notebook", "symavg.report.averages"})


@pytest.mark.parametrize("name", PUBLIC)
def test_public_name_has_a_numpy_docstring_with_an_example(name):
    obj = getattr(sa, name)
    doc = inspect.getdoc(obj) or ""
    assert "Examples\n--------" in doc and ">>>" in doc, f"{name}: no runnable Examples"
    if inspect.isclass(obj) and not issubclass(obj, BaseException):
        # a class documents its constructor's arguments (Parameters) or its fields
        assert "Parameters\n----------" in doc or "Attributes\n----------" in doc, name
    if inspect.isfunction(obj):
        assert "Parameters\n----------" in doc and "Returns\n-------" in doc, name


@pytest.mark.parametrize("module", MODULES)
def test_doctests(module):
    mod = importlib.import_module(module)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False)
    assert result.failed == 0, f"{result.failed} doctest(s) of {module} failed (see output)"
