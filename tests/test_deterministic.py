"""Budgeted SymPy calls give the same answer on an idle and on a loaded machine.

``with_budget`` limits the number of Python calls a SymPy routine may make,
not the seconds it may run; these tests check that the outcome (and the count)
does not move when the machine is busy, and that a call that would run for
ever is cut off by the count alone.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import sympy as sp

from symavg import _sympy_util
from symavg._sympy_util import count_calls, run_budgeted, with_budget
from symavg.derive import integrals
from symavg.derive.integrals import _integrate_definite, definite_integral
from symavg.spatial import CellProblem

y = sp.Symbol("y", real=True)
a, b, D = sp.symbols("a b D", positive=True)


@contextlib.contextmanager
def both_cores_busy(n: int = 2) -> Iterator[None]:
    """Two CPU-burning processes for the duration of the block."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        time.sleep(0.2)  # let them start burning
        yield
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def _tick() -> None:
    pass


def _spin() -> None:
    while True:
        _tick()


def test_count_calls_is_repeatable_and_stops_at_the_limit():
    e = (sp.sin(y) ** 2 + sp.cos(y) ** 2) * a / (a + a * b)
    outcomes = [run_budgeted(sp.simplify, (e,), 0.5) for _ in range(5)]
    assert {o.status for o in outcomes} == {"ok"}
    assert len({o.calls for o in outcomes}) == 1
    assert all(o.value == outcomes[0].value for o in outcomes)
    # the same limit, just below the count the call needs: reached every time
    need = outcomes[0].calls
    cut = [run_budgeted(sp.simplify, (e,), (need - 1) / _sympy_util.WORK_UNIT) for _ in range(5)]
    assert {o.status for o in cut} == {"limit"}
    assert with_budget(sp.simplify, (e,), need / _sympy_util.WORK_UNIT) == outcomes[0].value


def test_a_call_that_never_returns_is_cut_off_by_the_count():
    out = run_budgeted(_spin, (), 0.2)
    assert out.status == "limit"
    assert out.calls == 200_001
    before = sys.gettrace()
    with pytest.raises(_sympy_util._WorkLimitReached):
        count_calls(_spin, limit=1000)
    assert sys.gettrace() is before  # the previous trace function is back


def test_a_hanging_integrate_is_cut_off_without_a_clock():
    """``integrate`` of this period integrand runs for minutes (no closed form); the
    work limit stops it after the same number of calls on any machine."""
    f = sp.exp(sp.cos(y) / D) * sp.log(2 + sp.sin(y))
    out = run_budgeted(_integrate_definite, (f, y, 0, 2 * sp.pi), 0.3)
    assert out.status == "limit"
    res = definite_integral(f, y, 0, 2 * sp.pi, periodic=True, budget=0.3)
    assert res.method == "unevaluated"


def test_genuine_errors_become_none_but_interrupts_propagate():
    assert with_budget(sp.Poly, (1 / y, y), 0.5) is None  # PolynomialError
    with pytest.raises(KeyboardInterrupt):
        with_budget(_raise, (KeyboardInterrupt,), 0.1)
    with pytest.raises(MemoryError):
        with_budget(_raise, (MemoryError,), 0.1)


def _raise(exc: type[BaseException]) -> None:
    raise exc()


def test_a_call_stuck_in_c_code_is_reported(monkeypatch):
    """time.sleep makes no Python calls: only the wall-clock safety net can stop it,
    and it raises instead of answering None."""
    monkeypatch.setattr(_sympy_util, "STUCK_SECONDS_MIN", 0.5)
    monkeypatch.setattr(_sympy_util, "STUCK_SECONDS_PER_UNIT", 0.0)
    with pytest.raises(_sympy_util.StuckCallError):
        with_budget(time.sleep, (30,), 0.01)


@pytest.mark.slow  # ~15 s idle, ~50 s with both cores busy
def test_integrate_on_the_edge_of_its_budget_is_the_same_under_load():
    """A Gaussian integral given only 5 % more work than it needs: the closed form
    is the same with both cores busy. (The count moves by a few dozen calls when
    other SymPy work ran in between: SymPy remembers assumptions on long-lived
    objects; never by 5 %.)"""
    f = sp.exp(-y**2) * sp.cos(y) ** 2
    idle = run_budgeted(_integrate_definite, (f, y, -sp.oo, sp.oo), 3.0)
    assert idle.status == "ok"
    edge = idle.calls * 1.05 / _sympy_util.WORK_UNIT  # 5 % above what it needs
    idle_res = definite_integral(f, y, -sp.oo, sp.oo, budget=edge)
    integrals._definite_integral.cache_clear()  # results are remembered: compute again
    with both_cores_busy():
        busy = run_budgeted(_integrate_definite, (f, y, -sp.oo, sp.oo), 3.0)
        busy_res = definite_integral(f, y, -sp.oo, sp.oo, budget=edge)
    assert abs(busy.calls - idle.calls) < 0.001 * idle.calls
    assert busy.value == idle.value
    assert idle_res.method == busy_res.method == "integrate"
    assert busy_res.value == idle_res.value


@pytest.mark.slow  # ~20 s with both cores busy
def test_residue_rule_is_the_same_under_load():
    """tests/test_spatial_cell.py::test_residue_rule_where_integrate_is_wrong was
    flaky on a busy machine: its residue route is budgeted."""
    idle = CellProblem(a + b * sp.sin(y), {y: 2 * sp.pi}).effective_tensor()
    with both_cores_busy():
        busy = CellProblem(a + b * sp.sin(y), {y: 2 * sp.pi}).effective_tensor()
    assert busy.tensor == idle.tensor
    assert sp.simplify(busy.tensor[0, 0] - sp.sqrt(a**2 - b**2)) == 0
    assert any("residues" in c.detail for c in busy.steps.checks)
