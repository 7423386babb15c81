"""TOML model files: the schema, the example files, and the error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy as sp

import symavg as sa
from symavg.errors import ParseError
from symavg.io import ModelSpec, load_model, loads_model

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "models"
x, y = sp.symbols("x y", real=True)
eps = sa.epsilon

FULL = """
name = "fast OU driving a slow variable"
description = "test model"
[state]
slow = ["x"]
fast = ["y"]
[parameters]
values = { theta = 1.0, s = 0.25 }
symbols = ["k"]
functions = ["c"]
[sde]
drift = ["c(x)*y/eps", "-theta*y/eps^2"]
noise = [["s"], ["sqrt(2*theta)/eps"]]
periodic = { }
[simulate]
x0 = { x = 0.5, y = "pi/4" }
T = 0.5
eps = [0.1, 0.05, 0.025]
paths = 20000
seed = 7
observables = ["x", "x^2", "k*x"]
"""


def test_full_schema() -> None:
    spec = loads_model(FULL, source="full.toml")
    assert isinstance(spec, ModelSpec)
    theta, s, k = (sp.Symbol(n, positive=True) for n in ("theta", "s", "k"))
    c = sp.Function("c")
    m = spec.model
    assert isinstance(m, sa.SDE)
    assert m.state == (x, y)
    assert spec.slow == [x] and spec.fast == [y] and spec.state == [x, y]
    assert spec.eps is eps
    assert list(m.drift) == [c(x) * y / eps, -theta * y / eps**2]
    assert m.noise == sp.ImmutableMatrix([[s], [sp.sqrt(2 * theta) / eps]])
    assert spec.params == {theta: 1.0, s: 0.25}
    assert spec.x0[x] == 0.5 and spec.x0[y] == pytest.approx(0.7853981633974483)
    assert spec.T == 0.5 and spec.eps_values == [0.1, 0.05, 0.025]
    assert spec.paths == 20000 and spec.seed == 7
    assert spec.observables == [x, x**2, k * x]
    assert spec.functions == {"c": c}
    assert spec.name == "fast OU driving a slow variable" and spec.description == "test model"
    assert spec.source == "full.toml"
    # assumptions: state real, parameters positive
    assert all(v.is_real for v in spec.state)
    assert all(p.is_positive for p in spec.params)


def test_minimal_file_and_defaults() -> None:
    spec = loads_model('[state]\nslow = ["x"]\nfast = ["y"]\n'
                       '[sde]\ndrift = ["y/epsilon", "-y/eps^2"]\n')
    assert list(spec.model.drift) == [y / eps, -y / eps**2]
    assert spec.model.diffusion.is_zero_matrix
    assert spec.params == {} and spec.x0 == {} and spec.T is None and spec.paths is None
    assert spec.observables == [x]
    assert spec.name == "" and spec.source == "<string>"


def test_drift_as_table_diffusion_and_periodic() -> None:
    spec = loads_model("""
[state]
slow = ["x"]
fast = ["y"]
[sde]
drift = { y = "-sin(y)/eps^2", x = "cos(y)/eps" }
diffusion = [["1", 0], [0, "2/eps^2"]]
periodic = { y = "2*pi" }
""")
    assert list(spec.model.drift) == [sp.cos(y) / eps, -sp.sin(y) / eps**2]
    assert spec.model.diffusion == sp.ImmutableMatrix([[1, 0], [0, 2 / eps**2]])
    assert spec.model.periodic_map == {y: 2 * sp.pi}


def test_flat_noise_and_numbers_are_exact() -> None:
    spec = loads_model('[state]\nslow = ["x"]\nfast = ["y"]\n'
                       '[sde]\ndrift = [0.5, "-y/eps"]\nnoise = [0.1, "1/sqrt(eps)"]\n')
    assert spec.model.drift[0] == sp.Rational(1, 2)
    assert spec.model.noise == sp.ImmutableMatrix([[sp.Rational(1, 10), 0],
                                                   [0, 1 / sp.sqrt(eps)]])


def test_noise_as_table_of_rows() -> None:
    spec = loads_model('[state]\nslow = ["x"]\nfast = ["y"]\n[sde]\ndrift = ["0", "-y/eps^2"]\n'
                       'noise = { x = ["1"], y = ["sqrt(2)/eps"] }\n')
    assert spec.model.noise == sp.ImmutableMatrix([[1], [sp.sqrt(2) / eps]])


def test_custom_scale_parameter() -> None:
    spec = loads_model('scale = "delta"\n[state]\nslow = ["x"]\nfast = ["y"]\n'
                       '[sde]\ndrift = ["y/delta", "-y/delta^2"]\n')
    delta = sp.Symbol("delta", positive=True)
    assert spec.eps == delta and list(spec.model.drift) == [y / delta, -y / delta**2]


@pytest.mark.parametrize("name", ["ou_slow", "multiplicative", "averaging_ou"])
def test_example_files_load_and_reduce(name: str) -> None:
    spec = load_model(EXAMPLES / f"{name}.toml")
    assert spec.name and spec.T and spec.eps_values and spec.paths and spec.x0
    red = sa.reduce(spec.model, spec.fast, eps=spec.eps)
    expected = {
        "ou_slow": ("homogenization", 0, 2),
        "multiplicative": ("homogenization", x + sp.sqrt(2), (1 + sp.sqrt(2) * x) ** 2),
        "averaging_ou": ("averaging", 0, sp.Symbol("s", positive=True) ** 2),
    }[name]
    assert red.regime == expected[0]
    assert sp.simplify(red.drift[0] - expected[1]) == 0
    assert sp.simplify(red.diffusion[0, 0] - expected[2]) == 0


def test_multiplicative_example_has_one_shared_noise() -> None:
    spec = load_model(str(EXAMPLES / "multiplicative.toml"))
    assert spec.model.noise.shape == (2, 1)


BASE = '[state]\nslow = ["x"]\nfast = ["y"]\n[sde]\ndrift = ["y/eps", "-y/eps^2"]\n'


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("[state\nslow = 1", ["TOML syntax error", "line 1"]),
        ('[sde]\ndrift = ["0"]\n', ["missing section [state]"]),
        ('[state]\nslow = ["x"]\nfast = ["y"]\n', ["missing section [sde]"]),
        ('[state]\nslow = ["x"]\n[sde]\ndrift = ["0"]\n', ["missing key 'state.fast'"]),
        ('[state]\nslow = ["x"]\nfast = ["y"]\n[sde]\nnoise = ["1", "1"]\n',
         ["missing key 'sde.drift'"]),
        (BASE + "[extra]\n", ["unknown key 'extra'", "allowed keys are", "simulate"]),
        ('[state]\nslow = ["x"]\nfast = ["y"]\nmedium = ["z"]\n[sde]\ndrift = ["0", "0"]\n',
         ["unknown key 'medium' in [state]", "slow, fast"]),
        (BASE + "drfit = 1\n", ["unknown key 'drfit' in [sde]", "drift, noise"]),
        (BASE + "[simulate]\nT = -1\n", ["simulate.T", "positive"]),
        (BASE + '[simulate]\nT = "1"\n', ["simulate.T", "must be a number"]),
        (BASE + "[simulate]\npaths = 1.5\n", ["simulate.paths", "integer"]),
        (BASE + "[simulate]\neps = [0.1, 0]\n", ["simulate.eps[1]", "positive"]),
        (BASE + '[simulate]\nx0 = { z = 1 }\n', ["simulate.x0", "'z' is not a state variable"]),
        (BASE + '[simulate]\nx0 = { x = "k" }\n', ["simulate.x0.x", "undeclared name 'k'"]),
        (BASE + '[simulate]\nobservables = ["y^2"]\n',
         ["simulate.observables[0]", "fast variable y"]),
        (BASE + 'noise = [["1"], "2"]\n', ["sde.noise", "mixes rows"]),
        (BASE + 'noise = [["1", "2"], ["1"]]\n', ["[sde]", "different lengths"]),
        (BASE + 'noise = ["1"]\n', ["[sde]", "2 entries"]),
        (BASE + 'noise = ["1", "1"]\ndiffusion = [["1", 0], [0, 1]]\n', ["not both"]),
        (BASE + 'diffusion = [["1", "x"], [0, 1]]\n', ["[sde]", "symmetric"]),
        (BASE + 'periodic = { q = "2*pi" }\n', ["sde.periodic", "'q' is not a state"]),
        ('[state]\nslow = ["x"]\nfast = ["y"]\n[sde]\ndrift = ["y/eps"]\n',
         ["sde.drift", "1 entries but the state has 2"]),
        ('[state]\nslow = ["x"]\nfast = ["y"]\n[sde]\ndrift = ["y/eps", "-y/eps^2 + z"]\n',
         ["sde.drift[1]", "undeclared name 'z'", "[parameters]", "-y/eps^2 + z"]),
        ('[state]\nslow = ["x"]\nfast = ["y"]\n[sde]\ndrift = ["x.__class__", "0"]\n',
         ["sde.drift[0]", "attribute access", "x.__class__"]),
        ('[state]\nslow = ["x"]\nfast = ["y"]\n[sde]\ndrift = { x = "0" }\n',
         ["sde.drift", "no entry for state variable 'y'"]),
        ('[state]\nslow = ["x"]\nfast = ["x"]\n[sde]\ndrift = ["0", "0"]\n',
         ["state.fast", "declared twice"]),
        ('[state]\nslow = ["eps"]\nfast = ["y"]\n[sde]\ndrift = ["0", "0"]\n',
         ["scale parameter"]),
        ('[state]\nslow = ["sin"]\nfast = ["y"]\n[sde]\ndrift = ["0", "0"]\n', ["reserved"]),
        ('[state]\nslow = [1]\nfast = ["y"]\n[sde]\ndrift = ["0", "0"]\n', ["must be a string"]),
        ('[state]\nslow = ["x"]\nfast = ["y"]\n[parameters]\nvalues = { k = "one" }\n'
         '[sde]\ndrift = ["0", "0"]\n', ["parameters.values.k", "must be a number"]),
        ('[state]\nslow = ["x"]\nfast = ["y"]\n[parameters]\nvalues = [1]\n'
         '[sde]\ndrift = ["0", "0"]\n', ["parameters.values", "table"]),
        ('name = 3\n' + BASE, ["key 'name'", "must be a string"]),
        ('sde = 3\n[state]\nslow = ["x"]\nfast = ["y"]\n', ["key 'sde'", "must be a table"]),
        ('[state]\nslow = ["x"]\nfast = ["y"]\n[sde]\ndrift = [true, "0"]\n',
         ["sde.drift[0]", "must be an expression"]),
    ],
)
def test_malformed_files(tmp_path: Path, text: str, fragments: list[str]) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ParseError) as info:
        load_model(f)
    msg = str(info.value)
    assert str(f) in msg
    for frag in fragments:
        assert frag in msg, (frag, msg)
    assert isinstance(info.value, ValueError)


def test_missing_file_is_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        load_model(tmp_path / "nope.toml")


def test_not_utf8(tmp_path: Path) -> None:
    f = tmp_path / "bin.toml"
    f.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ParseError, match="UTF-8"):
        load_model(f)
