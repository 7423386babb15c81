"""The derivation record is immutable and renders to Markdown and LaTeX."""

import dataclasses

import pytest
import sympy as sp

from symavg import Check, Derivation, Step

x = sp.Symbol("x")


def test_steps_are_immutable_and_then_returns_a_new_record():
    d = Derivation("t")
    s = Step("cell problem", "Solve $-L_0 \\Phi = h$.", ((r"\Phi", x**2),),
             (Check("L0 Phi + h = 0", True),), "polynomial ansatz")
    d2 = d.then(s)
    assert len(d) == 0 and len(d2) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.name = "other"
    assert d2.find("cell problem")[0].expression(r"\Phi") == x**2
    assert d2.passed


def test_rendering():
    d = Derivation("A_b & c").then(
        Step("centering", "mean zero", (("h", x),), (Check("<h> = 0", False, "numeric", "1e-3"),)))
    md = d.to_markdown()
    assert "## 1. centering" in md and "FAILED" in md and "$$ h = x $$" in md
    tex = d.to_latex()
    assert r"A\_b \& c" in tex and r"\begin{align*}" in tex
    assert not d.passed
    assert "\\times" in d._repr_latex_()
