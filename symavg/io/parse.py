"""A restricted parser for the expressions in model files.

Model files are data, possibly written by someone else, so their expressions
are never handed to :func:`eval`, :func:`sympy.sympify` or
:func:`sympy.parsing.sympy_parser.parse_expr` (all of which execute Python).
Instead the text is parsed with Python's :mod:`ast` module and the SymPy
expression is built node by node from an explicit whitelist:

- numbers: integers become :class:`sympy.Integer`, decimals become the
  *exact* :class:`sympy.Rational` they denote (``0.1`` is ``1/10``), because
  declarations are exact;
- names: the declared symbols, the constants ``pi``, ``E`` and ``oo``;
- binary operators ``+ - * / **`` (``^`` also means power) and unary ``- +``;
- calls with positional arguments of the functions in :data:`FUNCTIONS` and
  of the user-declared undefined functions.

Everything else (attribute access, subscripts, lambdas, comprehensions,
strings, keyword arguments, comparisons, ...) is rejected with a
:class:`~symavg.errors.ParseError` that names the file, the key and the
offending text. So are over-long input, too deep nesting and huge numeric
exponents, which would otherwise let a small file exhaust memory or time.
"""

from __future__ import annotations

import ast
import keyword
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation

import sympy as sp

from ..errors import ParseError

__all__ = [
    "CONSTANTS",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "RESERVED_NAMES",
    "check_name",
    "parse_expr",
]

#: Longest expression text accepted, in characters.
MAX_LENGTH = 10_000
#: Deepest nesting of the syntax tree accepted.
MAX_DEPTH = 100
#: Largest absolute value of a numeric exponent (``x**1001`` is rejected).
MAX_EXPONENT = 1000
#: Largest size, in bits, of a number built from literals (``(10**999)**999`` is rejected);
#: about 4200 decimal digits, below Python's limit on converting integers to text.
MAX_NUMBER_BITS = 14_000
#: Largest size, in bits, of a number whose root is taken (roots of bigger numbers make
#: SymPy search for factors, which can take seconds).
MAX_ROOT_BITS = 512
#: Largest decimal exponent of a number literal (``1e5000`` is rejected).
MAX_LITERAL_EXPONENT = 1000

#: The functions an expression may call, by name.
FUNCTIONS: dict[str, Callable[..., sp.Expr]] = {
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tanh": sp.tanh,
    "atan": sp.atan,
    "asin": sp.asin,
    "acos": sp.acos,
    "Abs": sp.Abs,
    "sign": sp.sign,
    "besseli": sp.besseli,
}

#: The constants an expression may use, by name.
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "E": sp.E, "oo": sp.oo}

#: Names that a model file may not declare as symbols or functions.
RESERVED_NAMES = frozenset(FUNCTIONS) | frozenset(CONSTANTS) | {"I"}

_ADDITIVE = (ast.Add, ast.Sub)
_MULTIPLICATIVE = (ast.Mult, ast.Div)
_BINOPS = frozenset(_ADDITIVE + _MULTIPLICATIVE)

_NODE_WORDS = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripting",
    ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.Compare: "a comparison",
    ast.BoolOp: "a boolean operator",
    ast.IfExp: "a conditional expression",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.Starred: "star-unpacking",
    ast.NamedExpr: "an assignment expression",
    ast.JoinedStr: "a string",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "a slice",
}


def _bits(q: sp.Rational) -> int:
    return max(abs(int(q.p)).bit_length(), abs(int(q.q)).bit_length())


def _where(file: str | None, key: str | None) -> str:
    parts = [p for p in (file, f"key '{key}'" if key else None) if p]
    return ", ".join(parts) + ": " if parts else ""


def check_name(name: object, *, file: str | None = None, key: str | None = None,
               what: str = "name") -> str:
    """Check that ``name`` can be declared as a symbol or function name.

    Parameters
    ----------
    name : object
        The candidate name.
    file, key : str, optional
        Where the name was read from, for the error message.
    what : str
        What is being declared (``"state variable"``, ``"parameter"``, ...).

    Returns
    -------
    str
        ``name``, unchanged.

    Raises
    ------
    ParseError
        If ``name`` is not a string, not a Python identifier, a keyword, a
        dunder name, or one of :data:`RESERVED_NAMES`.
    """
    w = _where(file, key)
    if not isinstance(name, str):
        raise ParseError(f"{w}{what} name must be a string; got {name!r}")
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ParseError(
            f"{w}{what} name {name!r} is not a valid identifier (letters, digits and '_', "
            "not starting with a digit, not a Python keyword)"
        )
    if name.startswith("__"):
        raise ParseError(f"{w}{what} name {name!r} starts with '__', which is not allowed")
    if name in RESERVED_NAMES:
        raise ParseError(
            f"{w}{what} name {name!r} is reserved (built-in function or constant); "
            "choose another name"
        )
    return name


class _Builder:
    """Turns a whitelisted :mod:`ast` tree into a SymPy expression."""

    def __init__(self, text: str, src: str, symbols: Mapping[str, sp.Basic],
                 functions: Mapping[str, Callable[..., sp.Expr]], where: str) -> None:
        self.text = text  # as written, for messages
        self.src = src  # as parsed (``^`` replaced by ``**``), for node positions
        self.symbols = symbols
        self.functions = functions
        self.where = where

    def fail(self, node: ast.AST | None, msg: str) -> ParseError:
        def short(t: str) -> str:
            return t if len(t) <= 80 else t[:77] + "..."

        seg = None
        if node is not None:
            try:
                seg = ast.get_source_segment(self.src, node)
            except Exception:  # pragma: no cover - defensive
                seg = None
        if seg is not None and seg != self.src:
            return ParseError(f"{self.where}{msg}: {short(seg)!r} in {short(self.text)!r}")
        return ParseError(f"{self.where}{msg} in {short(self.text)!r}")

    def build(self, node: ast.AST, depth: int = 0) -> sp.Expr:
        if depth > MAX_DEPTH:
            raise self.fail(None, f"expression is nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return -self.build(node.operand, depth + 1)
            if isinstance(node.op, ast.UAdd):
                return self.build(node.operand, depth + 1)
            raise self.fail(node, f"operator {type(node.op).__name__!r} is not allowed")
        if isinstance(node, ast.BinOp):
            return self._binop(node, depth)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        word = _NODE_WORDS.get(type(node), f"syntax {type(node).__name__!r}")
        raise self.fail(node, f"{word} is not allowed")

    def _constant(self, node: ast.Constant) -> sp.Expr:
        v = node.value
        if isinstance(v, bool) or v is None or v is Ellipsis:
            raise self.fail(node, f"the constant {v!r} is not allowed")
        if isinstance(v, int):
            if v.bit_length() > MAX_NUMBER_BITS:
                raise self.fail(node, "number literal too large")
            return sp.Integer(v)
        if isinstance(v, float):
            seg = ast.get_source_segment(self.src, node) or repr(v)
            try:
                d = Decimal(seg.replace("_", ""))
            except InvalidOperation:  # pragma: no cover - Python accepted it as a float
                raise self.fail(node, "unreadable number") from None
            if not d.is_finite() or abs(d.adjusted()) > MAX_LITERAL_EXPONENT:
                raise self.fail(node, "number literal too large or too small")
            num, den = d.as_integer_ratio()
            if max(num.bit_length(), den.bit_length()) > MAX_NUMBER_BITS:
                raise self.fail(node, "number literal has too many digits")
            return sp.Rational(num, den)
        if isinstance(v, str | bytes):
            raise self.fail(node, "a string is not allowed (write the expression without quotes)")
        if isinstance(v, complex):
            raise self.fail(node, "complex literals are not allowed")
        raise self.fail(node, f"the constant {v!r} is not allowed")  # pragma: no cover

    def _name(self, node: ast.Name) -> sp.Expr:
        name = node.id
        if name.startswith("__"):
            raise self.fail(node, f"the name {name!r} is not allowed")
        if name in self.symbols:
            return self.symbols[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in self.functions or name in FUNCTIONS:
            raise self.fail(node, f"{name!r} is a function: call it with arguments, "
                                  f"e.g. {name}(x)")
        raise self.fail(
            node,
            f"undeclared name {name!r}: declare it under [parameters] (values or symbols) "
            "or [state], or as a function under [parameters] functions",
        )

    def _binop(self, node: ast.BinOp, depth: int) -> sp.Expr:
        if isinstance(node.op, ast.Pow):
            base = self.build(node.left, depth + 1)
            expo = self.build(node.right, depth + 1)
            self._check_power(node, base, expo)
            result = base**expo
            self._check_size(node, result)
            return result
        if type(node.op) not in _BINOPS:
            raise self.fail(node, f"operator {type(node.op).__name__!r} is not allowed "
                                  "(only + - * / ** ^)")
        # Flatten a left-leaning chain ``a + b - c + ...`` (or ``a * b / c ...``) without
        # recursion, so long sums are neither "too deep" nor quadratic to build.
        family = _ADDITIVE if isinstance(node.op, _ADDITIVE) else _MULTIPLICATIVE
        ops: list[tuple[ast.operator, ast.expr]] = []
        cur: ast.expr = node
        while isinstance(cur, ast.BinOp) and isinstance(cur.op, family):
            ops.append((cur.op, cur.right))
            cur = cur.left
        items = [self.build(cur, depth + 1)]
        for op, right in reversed(ops):
            term = self.build(right, depth + 1)
            if isinstance(op, ast.Sub):
                term = -term
            elif isinstance(op, ast.Div):
                term = 1 / term
            items.append(term)
        result = sp.Add(*items) if family is _ADDITIVE else sp.Mul(*items)
        self._check_size(node, result)
        return result

    def _check_size(self, node: ast.AST, expr: sp.Expr) -> None:
        numbers = [expr] if expr.is_Rational else [a for a in expr.args if a.is_Rational]
        if any(_bits(a) > MAX_NUMBER_BITS for a in numbers):
            raise self.fail(node, f"a number with more than {MAX_NUMBER_BITS} bits is too large")

    def _check_power(self, node: ast.BinOp, base: sp.Expr, expo: sp.Expr) -> None:
        if expo.is_Number and expo.is_finite:
            if abs(expo) > MAX_EXPONENT:
                raise self.fail(node, f"exponent {expo} is too large (|exponent| <= "
                                      f"{MAX_EXPONENT} allowed)")
            if base.is_Rational and base != 0:
                bits = _bits(base)
                if bits * abs(expo) > MAX_NUMBER_BITS:
                    raise self.fail(node, "power of a number is too large")
                if not expo.is_Integer and bits > MAX_ROOT_BITS:
                    raise self.fail(node, f"root of a number with more than {MAX_ROOT_BITS} "
                                          "bits is not allowed")

    def _call(self, node: ast.Call, depth: int) -> sp.Expr:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node, "only calls of named functions like sin(x) are allowed")
        name = node.func.id
        if name.startswith("__"):
            raise self.fail(node, f"the name {name!r} is not allowed")
        func = self.functions.get(name) or FUNCTIONS.get(name)
        if func is None:
            if name in self.symbols:
                raise self.fail(node, f"{name!r} is a symbol, not a function; declare it "
                                      "under [parameters] functions to use it as one")
            raise self.fail(
                node,
                f"unknown function {name!r}: allowed are {', '.join(sorted(FUNCTIONS))}, "
                "or declare it under [parameters] functions",
            )
        if node.keywords:
            raise self.fail(node, "keyword arguments are not allowed")
        if not node.args:
            raise self.fail(node, f"{name}() needs at least one argument")
        args = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                raise self.fail(a, "star-unpacking is not allowed")
            args.append(self.build(a, depth + 1))
        if name == "sqrt" and len(args) == 1 and args[0].is_Rational and _bits(args[0]) > \
                MAX_ROOT_BITS:
            raise self.fail(node, f"root of a number with more than {MAX_ROOT_BITS} bits is "
                                  "not allowed")
        try:
            return func(*args)
        except (TypeError, ValueError) as exc:
            raise self.fail(node, f"cannot apply {name}: {exc}") from None


def parse_expr(text: str, symbols: Mapping[str, sp.Basic],
               functions: Mapping[str, Callable[..., sp.Expr]] | None = None, *,
               file: str | None = None, key: str | None = None) -> sp.Expr:
    """Parse ``text`` into a SymPy expression, safely.

    Parameters
    ----------
    text : str
        The expression, in Python syntax with ``^`` also meaning power, e.g.
        ``"-y/eps^2"`` or ``"c(x)*y/eps"``.
    symbols : dict of str to Symbol
        The names that may appear, mapped to their symbols. They take
        precedence over the constants ``pi``, ``E``, ``oo``.
    functions : dict of str to callable, optional
        Extra functions that may be called, typically undefined functions
        ``{"c": sympy.Function("c")}``, on top of :data:`FUNCTIONS`.
    file, key : str, optional
        Where the text comes from; both appear in error messages.

    Returns
    -------
    sympy.Expr
        The expression. Decimals are exact rationals (``0.5`` -> ``1/2``).

    Raises
    ------
    ParseError
        If the text is not a string, is longer than :data:`MAX_LENGTH`, is not
        valid syntax, uses anything outside the whitelist, uses an undeclared
        name, nests deeper than :data:`MAX_DEPTH`, has a numeric exponent
        larger than :data:`MAX_EXPONENT` in absolute value, or evaluates to an
        undefined value (e.g. ``1/0``).

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> parse_expr("0.5*x^2", {"x": x})
    x**2/2
    """
    where = _where(file, key)
    if not isinstance(text, str):
        raise ParseError(f"{where}expected an expression as a string; got {text!r}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"{where}expression is {len(text)} characters long; at most "
                         f"{MAX_LENGTH} are allowed")
    if not text.strip():
        raise ParseError(f"{where}empty expression")
    # ``^`` means power. It cannot be left to the parser as ``BitXor``, which binds more
    # loosely than ``/`` (``-y/eps^2`` would read ``(-y/eps)^2``); no allowed syntax uses
    # ``^`` otherwise (strings are rejected), so a textual replacement is exact.
    # Line breaks (from TOML multi-line strings) are plain whitespace here.
    src = " ".join(text.split()).replace("^", "**")
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as exc:
        raise ParseError(f"{where}invalid syntax in {text!r}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ParseError(f"{where}expression {text[:80]!r} is too deeply nested, too long a "
                         "chain of operations, or too large")  from None
    builder = _Builder(" ".join(text.split()), src, symbols, dict(functions or {}), where)
    try:
        expr = builder.build(tree.body)
    except RecursionError:
        raise ParseError(f"{where}expression {text[:80]!r} is too deeply nested") from None
    if not isinstance(expr, sp.Expr):
        raise ParseError(f"{where}{text!r} is not an expression")
    if expr.has(sp.zoo, sp.nan):
        raise ParseError(f"{where}{text!r} evaluates to an undefined value (division by zero?)")
    return expr
