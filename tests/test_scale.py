"""The scale lives in the declaration (issue 7, item 1): a user's own scale symbol
``delta`` works end to end, read from ``model.eps`` by simulate, verify, code
generation, the model file and the CLI; another symbol passed later is a named error."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symavg as sa
from symavg import cli
from symavg.errors import ModelError, SimulationError
from symavg.io.modelfile import loads_model
from symavg.numeric.codegen import lambdify_model
from symavg.numeric.plan import model_coefficients
from symavg.numeric.pycode import effective_to_python

x, y = sp.symbols("x y", real=True)
delta = sp.Symbol("delta", positive=True)


def _ou(eps: sp.Symbol) -> sa.SDE:
    return sa.SDE([x, y], [y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]], eps=eps)


def _load(path: Path, name: str) -> object:
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_fast_variable_is_fast_with_own_scale() -> None:
    """The fast variable of a model declared with eps=delta is recognised as fast."""
    m = _ou(delta)
    co = model_coefficients(m)
    assert co.scale == delta and co.eps_symbol == delta
    assert co.fast == (y,) and co.leading_power == -2
    ens = sa.simulate(m, {x: 0.0}, 0.02, eps=0.1, paths=200, seed=1, backend="numpy")
    assert ens.params[delta] == 0.1
    assert "Gaussian" in ens.info["fast initial law"]      # y drawn from its invariant law
    assert ens.info["fastest rate"] == pytest.approx(100.0, rel=0.05)    # delta**-2
    assert ens.dt <= 0.05 * 0.1**2 * 1.0001
    # the same model with sa.epsilon gives the same step: nothing depends on the name
    ens_e = sa.simulate(_ou(sa.epsilon), {x: 0.0}, 0.02, eps=0.1, paths=200, seed=1,
                        backend="numpy")
    assert ens_e.dt == ens.dt
    np.testing.assert_allclose(ens_e.values, ens.values)


def test_reduce_then_simulate_keeps_the_fast_variable_fast() -> None:
    """reduce(m, [y], eps=delta) followed by simulate used to call y slow (epsilon default).

    Note: the derive engine in this branch still takes the scale as ``eps=``; it is passed
    explicitly here (the engine reading model.eps is done in parallel)."""
    m = _ou(delta)
    red = sa.reduce(m, [y], eps=delta)
    ref = sa.reduce(_ou(sa.epsilon), [y], eps=sa.epsilon)
    assert red.eps == delta and red.regime == ref.regime == "homogenization"
    assert list(red.drift) == list(ref.drift) and red.diffusion == ref.diffusion
    ens = sa.simulate(m, {x: 0.0}, 0.02, eps=0.1, paths=100, seed=0, backend="numpy")
    assert "Gaussian" in ens.info["fast initial law"]
    rens = sa.simulate(red, {x: 0.0}, 0.02, paths=100, seed=0, backend="numpy")
    assert rens.state == (x,)


def test_lambdify_and_to_python_with_own_scale(tmp_path: Path) -> None:
    m = _ou(delta)
    f = lambdify_model(m)
    assert delta in f.parameters
    np.testing.assert_allclose(f.drift([1.0, 2.0], {delta: 0.5}), [4.0, -8.0])
    np.testing.assert_allclose(m.lambdify().noise([0.0, 0.0], {delta: 0.5}), [[0], [2 * 2**0.5]])
    # the generated module of the full model: delta is a parameter, given by name
    path = tmp_path / "full_delta.py"
    path.write_text(effective_to_python(m))
    mod = _load(path, "full_delta")
    assert mod.PARAMETERS == ("delta",)
    assert "Scale parameter of the model: delta" in mod.__doc__
    np.testing.assert_allclose(mod.drift([1.0, 2.0], {"delta": 0.5}), [4.0, -8.0])
    X = mod.simulate({"x": 0.0, "y": 0.0}, 0.01, dt=1e-4, paths=50, seed=0,
                     params={"delta": 0.1})
    assert X.shape == (50, 2) and np.isfinite(X).all()
    # the reduced model's module has no delta left
    red = sa.reduce(m, [y], eps=delta)
    rpath = tmp_path / "red_delta.py"
    rpath.write_text(red.to_python())
    rmod = _load(rpath, "red_delta")
    assert rmod.PARAMETERS == ()
    assert float(rmod.diffusion([0.0])[0, 0]) == pytest.approx(2.0)


def test_order_one_reduced_model_needs_eps() -> None:
    """A reduced model whose diffusion holds its eps (order 1) needs eps= to simulate."""
    red = sa.reduce(_ou(delta), [y], eps=delta)
    red1 = dataclasses.replace(red, diffusion=sp.ImmutableMatrix([[2 + delta]]), noise=None,
                               order=1)
    with pytest.raises(SimulationError, match=r"delta.*pass eps="):
        sa.simulate(red1, {x: 0.0}, 0.1, paths=10, backend="numpy")
    ens = sa.simulate(red1, {x: 0.0}, 0.1, eps=0.5, paths=10, seed=0, backend="numpy")
    assert ens.params[delta] == 0.5


def test_verify_with_own_scale() -> None:
    m = _ou(delta)
    red = sa.reduce(m, [y], eps=delta)
    rep = sa.verify(m, red, {x: 0.0}, 0.05, eps_values=[0.2, 0.1], paths=400, seed=0,
                    backend="numpy", check_dt=False, observables=[x**2])
    assert rep.eps_values == [0.2, 0.1]
    assert all(np.isfinite(r.full) for r in rep.rows)
    assert set(rep.info["dt_full"]) == {0.2, 0.1}
    # delta**-2 sets the step of each full run
    assert rep.info["dt_full"][0.1] <= 0.05 * 0.1**2 * 1.0001
    assert rep.info["schemes"][0.1][y] == "exact-ou"


def test_a_different_scale_symbol_is_a_named_error() -> None:
    m = _ou(delta)
    red = sa.reduce(m, [y], eps=delta)
    both = r"delta.*epsilon|epsilon.*delta"
    with pytest.raises(ModelError, match=both):
        sa.simulate(m, {x: 0.0}, 0.1, eps=0.1, paths=10, eps_symbol=sa.epsilon)
    with pytest.raises(ModelError, match=both):
        sa.verify(m, red, {x: 0.0}, 0.1, eps_values=[0.1], paths=10, eps_symbol=sa.epsilon)
    with pytest.raises(ModelError, match=both):
        lambdify_model(m, eps_symbol=sa.epsilon)
    with pytest.raises(ModelError, match=both):
        model_coefficients(m, eps_symbol=sa.epsilon)
    # the same symbol is still accepted, for one release
    assert lambdify_model(m, eps_symbol=delta).parameters == (delta,)
    # a reduced model derived with another scale is refused by verify
    red_e = sa.reduce(_ou(sa.epsilon), [y], eps=sa.epsilon)
    with pytest.raises(ModelError, match=both):
        sa.verify(m, red_e, {x: 0.0}, 0.1, eps_values=[0.1], paths=10)


DELTA_FILE = """
name = "fast OU with the scale delta"
scale = "delta"

[state]
slow = ["x"]
fast = ["y"]

[sde]
drift = { x = "y/delta", y = "-y/delta^2" }
noise = [["0"], ["sqrt(2)/delta"]]

[simulate]
x0 = { x = 0.0 }
T = 0.05
eps = [0.2, 0.1]
paths = 400
seed = 1
observables = ["x^2"]
"""


def test_model_file_scale_builds_the_declaration() -> None:
    spec = loads_model(DELTA_FILE)
    assert spec.model.eps == delta and spec.eps == delta
    assert spec.model == _ou(delta)
    with pytest.raises(ModelError, match="delta"):
        dataclasses.replace(spec, eps=sa.epsilon)


def test_cli_derive_and_verify_with_scale_delta(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ou_delta.toml"
    f.write_text(DELTA_FILE)
    assert cli.main(["derive", str(f)]) == 0
    out = capsys.readouterr().out
    assert "fast OU with the scale delta" in out and "delta" in out
    dest = tmp_path / "reduced.py"
    assert cli.main(["derive", str(f), "--emit", str(dest)]) == 0
    capsys.readouterr()
    assert _load(dest, "reduced_cli").PARAMETERS == ()
    # used to fail with "no value for the parameter(s) ['delta']"
    assert cli.main(["verify", str(f), "--paths", "400"]) == 0
    captured = capsys.readouterr()
    assert "no value" not in captured.err
    assert "| 0.1 | x**2 |" in captured.out and "| 0.2 | x**2 |" in captured.out
