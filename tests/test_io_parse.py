"""The restricted expression parser: correct parses, and everything it must refuse."""

from __future__ import annotations

import pytest
import sympy as sp

import symavg as sa
from symavg.errors import ParseError, SymavgError
from symavg.io.parse import MAX_LENGTH, check_name, parse_expr

x, y = sp.symbols("x y", real=True)
theta = sp.Symbol("theta", positive=True)
eps = sa.epsilon
c = sp.Function("c")
SYMS = {"x": x, "y": y, "eps": eps, "epsilon": eps, "theta": theta}
FUNS = {"c": c}


def p(text: str) -> sp.Expr:
    return parse_expr(text, SYMS, FUNS, file="model.toml", key="sde.drift[0]")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-y/eps^2", -y / eps**2),
        ("-y/eps**2", -y / eps**2),
        ("sqrt(2)/eps", sp.sqrt(2) / eps),
        ("c(x)*y/eps", c(x) * y / eps),
        ("0.5*x", sp.Rational(1, 2) * x),
        ("0.1", sp.Rational(1, 10)),
        ("1e-3*x", x / 1000),
        ("2.5e2", sp.Integer(250)),
        ("1_000", sp.Integer(1000)),
        ("2^-1", sp.Rational(1, 2)),
        ("x^2^3", x**8),
        ("x - y - x", -y),
        ("x/y/2", x / (2 * y)),
        ("+x", x),
        ("-(-x)", x),
        ("epsilon*theta", eps * theta),
        ("sin(x)*cos(y) + exp(-x^2) - log(theta)", sp.sin(x) * sp.cos(y) + sp.exp(-x**2)
         - sp.log(theta)),
        ("besseli(0, theta)", sp.besseli(0, theta)),
        ("Abs(x) + sign(y) + tanh(x) + atan(y)", sp.Abs(x) + sp.sign(y) + sp.tanh(x)
         + sp.atan(y)),
        ("2*pi", 2 * sp.pi),
        ("E^x", sp.exp(x)),
        ("x^(1/2)", sp.sqrt(x)),
        ("(x + 1)^1000", (x + 1) ** 1000),
        ("  x \n + y ", x + y),
    ],
)
def test_correct_parses(text: str, expected: sp.Expr) -> None:
    got = p(text)
    assert sp.simplify(got - expected) == 0
    assert not got.atoms(sp.Float), "decimals must become exact rationals"


def test_decimals_are_exact_rationals() -> None:
    got = p("0.5*x")
    assert got == sp.Rational(1, 2) * x
    assert got.atoms(sp.Rational) == {sp.Rational(1, 2)}


def test_long_sum_is_fine() -> None:
    assert p("+".join(["x"] * 2000)) == 2000 * x


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("__import__('os')", "'__import__' is not allowed"),
        ("__import__('os').system('true')", "named functions"),
        ("().__class__", "attribute access"),
        ("x.__class__", "attribute access"),
        ("c.__class__(x)", "named functions"),
        ("lambda: 1", "lambda"),
        ("[x for x in y]", "comprehension"),
        ("(x for x in y)", "generator"),
        ("'abc'", "string"),
        ('"abc"', "string"),
        ("9**9**9", "exponent"),
        ("9^9^9", "exponent"),
        ("x**1001", "exponent"),
        ("(10**900)**900", "too large"),
        ("1e5000", "too large"),
        ("0." + "1" * 5000, "too many digits"),
        ("9" * 4250, "too large"),
        ("sqrt(10**1000 + 1)", "root of a number"),
        ("(3**1000)^(1/3)", "root of a number"),
        ("(10**900 + 7)^4 * (10**900 + 7)^2 * x", "too large"),
        ("z + 1", "undeclared name 'z'"),
        ("I*x", "undeclared name 'I'"),
        ("f(x)", "unknown function 'f'"),
        ("x(y)", "is a symbol, not a function"),
        ("sin", "is a function"),
        ("sin(x=1)", "keyword arguments"),
        ("sin(*[x])", "not allowed"),
        ("sin(x, y)", "cannot apply sin"),
        ("x[0]", "subscripting"),
        ("x if y else 1", "conditional"),
        ("x < 1", "comparison"),
        ("x and y", "boolean"),
        ("x % 2", "Mod"),
        ("x // 2", "FloorDiv"),
        ("(x := 1)", "assignment"),
        ("True", "True"),
        ("None", "None"),
        ("1j", "complex"),
        ("__x", "not allowed"),
        ("1/0", "undefined"),
        ("x;y", "syntax"),
        ("import os", "syntax"),
        ("", "empty"),
        ("(" * 300 + "x" + ")" * 300, "x"),
        ("-" * 5000 + "x", "nested"),
        ("x" * (MAX_LENGTH + 1), "characters long"),
    ],
)
def test_rejected(text: str, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        p(text)
    msg = str(info.value)
    assert fragment in msg
    assert "model.toml" in msg and "sde.drift[0]" in msg
    assert isinstance(info.value, ValueError) and isinstance(info.value, SymavgError)


def test_undeclared_name_suggests_declaring() -> None:
    with pytest.raises(ParseError, match=r"\[parameters\].*\[state\]"):
        parse_expr("k*x", {"x": x})


def test_offending_text_is_named() -> None:
    with pytest.raises(ParseError, match=r"'x\.real' in 'y \+ x\.real'"):
        p("y + x.real")


def test_never_evaluates(tmp_path, monkeypatch) -> None:
    marker = tmp_path / "pwned"
    monkeypatch.chdir(tmp_path)
    for text in (f"__import__('os').system('touch {marker}')",
                 f"open('{marker}', 'w')",
                 "exec('1')", "eval('1')", "getattr(x, 'y')"):
        with pytest.raises(ParseError):
            p(text)
    assert not marker.exists()


def test_no_sympify_or_eval(monkeypatch) -> None:
    import builtins

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("must not be called")

    monkeypatch.setattr(sp, "sympify", boom)
    monkeypatch.setattr(builtins, "eval", boom)
    assert p("c(x)*y/eps + 0.25") == c(x) * y / eps + sp.Rational(1, 4)


def test_symbols_take_precedence_over_constants() -> None:
    e_sym = sp.Symbol("E")
    assert parse_expr("E*x", {"E": e_sym, "x": x}) == e_sym * x


def test_non_string_input() -> None:
    with pytest.raises(ParseError, match="string"):
        parse_expr(1.5, SYMS)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["1x", "sin", "pi", "I", "__class__", "lambda", "a b", 3])
def test_check_name_rejects(bad: object) -> None:
    with pytest.raises(ParseError):
        check_name(bad, file="m.toml", key="state.slow")


def test_check_name_accepts() -> None:
    assert check_name("theta_1") == "theta_1"
