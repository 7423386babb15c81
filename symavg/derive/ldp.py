r"""Large deviations of slow-fast systems: the Hamiltonian and the rate function.

The setting is the averaging regime with small noise on the slow variable
(Freidlin & Wentzell, *Random Perturbations of Dynamical Systems*, Ch. 7;
Bouchet, Grafke, Tangarife & Vanden-Eijnden, J. Stat. Phys. 162 (2016) 793):

.. math::

    dX = f(X, Y)\,dt + \sqrt{\epsilon}\,\sigma(X, Y)\,dW, \qquad
    Y \text{ fast, with generator } \epsilon^{-1}\mathcal L_0(x),

``Y`` a diffusion, a finite chain (rates :math:`Q/\epsilon`) or both. The
paths of :math:`X` satisfy a large deviation principle with speed
:math:`\epsilon^{-1}`,
:math:`P(X\approx\varphi)\asymp\exp(-\epsilon^{-1}\int_0^T L(\varphi,\dot\varphi)\,dt)`,
whose Hamiltonian :math:`H(x, p)` is the principal eigenvalue of the *tilted
generator*

.. math::

    \mathcal K_p = \lim_{\epsilon\to 0}\ \epsilon\, e^{-p\cdot x/\epsilon}\,
        \mathcal L_\epsilon\, e^{p\cdot x/\epsilon}
      = \mathcal L_0 + (c^T p)\cdot\nabla_y + p\cdot f + \tfrac12 p\cdot a\,p ,

acting on functions of the fast variables (``a`` the slow diffusion divided
by :math:`\epsilon`, ``c`` the slow-fast cross diffusion; ``c = 0`` for
independent noises). :math:`L(x, v) = \sup_p (p\cdot v - H(x, p))` is its
Legendre transform.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .._sympy_util import laurent_terms, numeric_zero, zero_check
from ..errors import ScaleSeparationError, SymavgError, UnsolvedError
from ..models import SDE, SwitchingSDE
from ..models.generator import DiffusionPart, Generator, JumpPart, PotentialPart
from ..report.derivation import Average, Check, Derivation, Step
from ..report.names import fresh_name, user_names

__all__ = [
    "Hamiltonian",
    "RateFunction",
    "Quasipotential",
    "LDPError",
    "hamiltonian",
    "rate_function",
    "quasipotential",
    "tilted_generator",
]


class LDPError(SymavgError, ValueError):
    """A model or an argument that the large-deviation functions cannot use."""


# ------------------------------------------------------------ tilted generator
@dataclass(frozen=True)
class Tilted:
    """The tilted fast generator and what it was built from."""

    generator: Generator          # K_p on the fast continuous variables (+ chain)
    slow: tuple[sp.Symbol, ...]
    fast: tuple[sp.Symbol, ...]   # fast continuous variables
    chain_symbol: sp.Symbol | None
    momentum: tuple[sp.Symbol, ...]
    slow_drift: dict              # mode -> Matrix f (mode None: every state)
    slow_diffusion: dict          # mode -> Matrix a
    check: Check


def _coeff(expr: sp.Expr, eps: sp.Symbol, power: int, lowest: int, what: str,
           hint: str) -> sp.Expr:
    """The coefficient of ``eps**power`` of ``expr``; no power below ``lowest`` allowed."""
    terms = laurent_terms(expr, eps)
    bad = [k for k in terms if k < lowest and terms[k] != 0]
    if bad:
        raise ScaleSeparationError(
            f"{what} = {expr} has a term of order {eps}**{min(bad)}; the large deviations of "
            f"the averaging regime need it of order {eps}**{lowest} or smaller. {hint}"
        )
    return sp.sympify(terms.get(sp.Integer(power), 0))


def _default_fast(model: SDE | SwitchingSDE) -> tuple[sp.Symbol, ...]:
    if isinstance(model, SwitchingSDE):
        return (model.chain.symbol,)
    _, L = model.generator.expand(model.eps).leading
    return tuple(v for v in L.acts_on() if v in model.state)


def tilted_generator(model: SDE | SwitchingSDE, fast: Sequence[sp.Symbol] | None = None,
                     momentum: Sequence[sp.Symbol] | sp.Symbol | None = None) -> Tilted:
    r"""The tilted fast generator :math:`\mathcal K_p` of the module docstring.

    Read off the model's generator part by part, then checked against the
    definition: :math:`\epsilon e^{-p\cdot x/\epsilon}\mathcal L_\epsilon
    (e^{p\cdot x/\epsilon} u) \to \mathcal K_p u` for a generic ``u`` of the
    fast variables (of the chain state, a column).

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> from symavg.derive.ldp import tilted_generator
    >>> x, y, p = sp.symbols("x y p", real=True)
    >>> m = sa.SDE([x, y], [y, -y / sa.epsilon], diffusion=[[0, 0], [0, 2 / sa.epsilon]])
    >>> K = tilted_generator(m, fast=[y], momentum=p).generator
    >>> sp.expand(sp.simplify(K.apply(sp.exp(y)) / sp.exp(y)))
    p*y - y + 1
    """
    if not isinstance(model, SDE | SwitchingSDE):
        raise LDPError(f"the large-deviation functions take a sa.SDE or sa.SwitchingSDE; got "
                       f"{type(model).__name__}")
    eps = model.eps
    fast = _default_fast(model) if fast is None else (
        (fast,) if isinstance(fast, sp.Symbol) else tuple(fast))
    chain_sym = model.chain.symbol if isinstance(model, SwitchingSDE) else None
    for v in fast:
        if v not in model.state and v != chain_sym:
            raise LDPError(f"fast variable {v} is neither a state variable of {list(model.state)}"
                           + (f" nor the chain {chain_sym}" if chain_sym is not None else ""))
    if isinstance(model, SwitchingSDE) and chain_sym not in fast:
        raise LDPError(f"the chain {chain_sym} of a SwitchingSDE must be among the fast variables "
                       f"(fast={list(fast)}): slow switching has no averaging-regime LDP")
    fc = tuple(v for v in model.state if v in fast)
    slow = tuple(v for v in model.state if v not in fast)
    if not slow:
        raise LDPError("every state variable is fast: there is no slow variable to deviate")
    if momentum is None:
        momentum = tuple(sp.Symbol(f"p_{{{s}}}", real=True) for s in slow)
    elif isinstance(momentum, sp.Symbol):
        momentum = (momentum,)
    momentum = tuple(momentum)
    if len(momentum) != len(slow):
        raise LDPError(f"momentum needs one symbol per slow variable {list(slow)}; got "
                       f"{list(momentum)}")
    G = model.generator
    taken = user_names([*model.state, *G.coefficients()])
    clash = [q for q in momentum if q.name in taken]
    if clash:
        raise LDPError(f"the momentum symbols {clash} clash with the model's symbols or "
                       "functions of the same name (they would print the same): choose fresh "
                       "ones with momentum=[...]")
    if "lambda_H" in taken:
        raise LDPError("the model has a symbol or function named 'lambda_H', which the "
                       "derivation uses for the variable of the characteristic polynomial "
                       "det(lambda_H - M(p)): the two would print the same. Rename it (e.g. "
                       "'Lambda_H').")
    I = [model.state.index(s) for s in slow]
    J = [model.state.index(y) for y in fc]
    P = sp.Matrix(momentum)
    hint_slow = ("Scale the slow noise as sqrt(eps): diffusion eps*a on the slow variables.")
    parts: list = []
    f_by_mode: dict = {}
    a_by_mode: dict = {}
    for part in G.diffusion_parts:
        b, A = part.drift, part.diffusion
        tag = f" (state {part.mode!r})" if part.mode is not None else ""
        f = sp.Matrix([_coeff(b[i], eps, 0, 0, f"the slow drift of {model.state[i]}{tag}",
                              "That is the homogenization regime; its large deviations live on "
                              "another scale and are not covered here.") for i in I])
        a = sp.Matrix([[_coeff(A[i, j], eps, 1, 1, f"the slow diffusion {model.state[i]}"
                               f"{model.state[j]}{tag}", hint_slow) for j in I] for i in I])
        c = sp.Matrix(len(J), len(I), [_coeff(A[j, i], eps, 0, 0, "the slow-fast cross "
                                              "diffusion", hint_slow) for j in J for i in I])
        B = sp.Matrix(len(J), 1, [_coeff(b[j], eps, -1, -1, f"the fast drift of "
                                         f"{model.state[j]}{tag}", "The fast variables must "
                                         "move at rate 1/eps.") for j in J])
        Afast = sp.Matrix(len(J), len(J), [_coeff(A[j, k], eps, -1, -1, "the fast diffusion",
                                                  "The fast noise is diffusion a/eps.")
                                           for j in J for k in J])
        f_by_mode[part.mode] = f_by_mode.get(part.mode, sp.zeros(len(I), 1)) + f
        a_by_mode[part.mode] = a_by_mode.get(part.mode, sp.zeros(len(I), len(I))) + a
        if J:
            parts.append(DiffusionPart(B + c * P, Afast, part.mode))
        V = sp.expand((P.T * f)[0] + (P.T * a * P)[0] / 2)
        if V != 0:
            parts.append(PotentialPart(V, part.mode))
    if G.potential_parts:
        raise LDPError("the model's generator already has a potential (killing) part; the "
                       "tilted generator is built from a plain SDE or switching SDE")
    jump = None
    if G.jump is not None:
        N = len(G.jump.states)
        Q = sp.Matrix(N, N, [_coeff(G.jump.rates[i, j], eps, -1, -1,
                                    f"the rate {G.jump.states[i]!r} -> {G.jump.states[j]!r}",
                                    "The chain is fast when its rates are Q/eps.")
                             for i in range(N) for j in range(N)])
        if Q.is_zero_matrix:
            raise ScaleSeparationError(f"the chain {chain_sym} has no rates of order 1/{eps}: it "
                                       "is not fast. Declare the rates as Q/eps.")
        jump = JumpPart(Q, G.jump.states, G.jump.symbol)
    if J and all(p.drift.is_zero_matrix and p.diffusion.is_zero_matrix
                 for p in parts if isinstance(p, DiffusionPart)):
        raise ScaleSeparationError(f"the fast variables {list(fc)} have no dynamics of order "
                                   f"1/{eps}")
    K = Generator(fc, parts=parts, jump=jump, periodic={v: L for v, L in model.periodic
                                                         if v in fc})
    check = _tilt_check(model, K, slow, fc, momentum)
    return Tilted(K, slow, fc, chain_sym, momentum, f_by_mode, a_by_mode, check)


def _tilt_check(model: SDE | SwitchingSDE, K: Generator, slow: tuple, fc: tuple,
                momentum: tuple) -> Check:
    """``eps e^{-p.x/eps} L (e^{p.x/eps} u) - K u -> 0`` for generic ``u``."""
    eps = model.eps
    E = sp.exp(sum(p * s for p, s in zip(momentum, slow)) / eps)
    G = model.generator
    if G.modes:
        u = [sp.Function(f"u_{k}")(*fc) if fc else sp.Symbol(f"u_{k}") for k in
             range(len(G.modes))]
        lhs = [sp.expand(sp.powsimp(e / E)) * eps for e in G.apply([E * ui for ui in u])]
        rhs = list(K.apply(u))
    else:
        u = sp.Function("u")(*fc)
        lhs = [sp.expand(sp.powsimp(G.apply(E * u) / E)) * eps]
        rhs = [K.apply(u)]
    res = []
    for l_, r_ in zip(lhs, rhs):
        terms = laurent_terms(sp.expand(l_), eps)
        if any(k < 0 and terms[k] != 0 for k in terms):
            return Check("eps e^{-p.x/eps} L e^{p.x/eps} - K_p = o(1)", False, "symbolic",
                         "the tilted generator is singular as eps -> 0")
        res.append(sp.sympify(terms.get(0, 0)) - r_)
    return zero_check("eps e^{-p.x/eps} L e^{p.x/eps} - K_p = o(1)", sp.Matrix(res))


# ------------------------------------------------------------------ results
@dataclass(frozen=True)
class Hamiltonian:
    r"""The slow-fast Hamiltonian :math:`H(x, p)`: the principal eigenvalue of :math:`\mathcal K_p`.

    Attributes
    ----------
    expr : Expr or None
        The closed form (None when only the numeric route exists).
    slow, momentum : tuple of Symbol
    tilted : Generator
        :math:`\mathcal K_p`, with a potential part :math:`p\cdot f + \frac12 p\cdot a p`.
    eigenfunction : Expr, Matrix or None
        The positive principal eigenfunction (unnormalised) when known.
    characteristic : Expr or None
        For a finite chain, :math:`\det(\lambda I - M(p))`; ``H`` is its largest real root.
    strategy : str
    steps : Derivation
    model : the declaration
    params : dict
        Parameter values the numeric route uses (and the checks used).
    """

    expr: sp.Expr | None
    slow: tuple[sp.Symbol, ...]
    momentum: tuple[sp.Symbol, ...]
    tilted: Generator
    eigenfunction: Any
    characteristic: sp.Expr | None
    strategy: str
    steps: Derivation
    model: Any
    params: dict = field(default_factory=dict)
    _numeric: Callable | None = field(default=None, repr=False, compare=False)
    #: where ``H < inf`` (a condition on x, p), None: everywhere
    finite_where: sp.Basic | None = None
    _grid: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def dim(self) -> int:
        return len(self.slow)

    def evaluate(self, x: Sequence[float] | float, p: Sequence[float] | float,
                 params: Mapping | None = None) -> float:
        r"""``H(x, p)`` as a float, at the given parameter values.

        Closed forms are lambdified; otherwise the principal eigenvalue of the
        chain's matrix :math:`Q + \mathrm{diag}(V_i)` or of the grid operator
        (see :func:`hamiltonian`) is computed.
        """
        x = np.atleast_1d(np.asarray(x, dtype=float))
        p = np.atleast_1d(np.asarray(p, dtype=float))
        prm = _params(self.params, params)
        fn = self.numeric(prm)
        return float(fn(x, p))

    def numeric(self, params: Mapping | None = None) -> Callable[[np.ndarray, np.ndarray], float]:
        """A function ``H(x, p)`` of two 1-D arrays, at the given parameter values."""
        prm = _params(self.params, params)
        key = tuple(sorted((str(k), float(v)) for k, v in prm.items()))
        if key in self._grid:
            return self._grid[key]
        if self.expr is not None:
            e = _substitute(self.expr, prm, self)
            f = sp.lambdify([self.slow, self.momentum], e, "numpy")
            cond = None if self.finite_where is None else sp.lambdify(
                [self.slow, self.momentum], _substitute(self.finite_where, prm, self), "numpy")

            def fn(x: np.ndarray, p: np.ndarray) -> float:
                if cond is not None and not bool(cond(tuple(x), tuple(p))):
                    return float("inf")
                return float(np.real(f(tuple(x), tuple(p))))
        else:
            if self._numeric is None:
                raise UnsolvedError("this Hamiltonian has neither a closed form nor a numeric "
                                    "route")
            fn = self._numeric(prm)
        self._grid[key] = fn
        return fn

    def _repr_latex_(self) -> str:
        if self.expr is None:
            return r"$H(x, p)$ (numeric: " + self.strategy + ")"
        return "$H = " + sp.latex(self.expr) + "$"

    def _repr_markdown_(self) -> str:
        from ..report.results import formula_markdown

        return formula_markdown("Slow-fast Hamiltonian", [("H(x, p)", self.expr)], self.steps,
                                self.strategy)


@dataclass(frozen=True)
class RateFunction:
    r"""The rate function :math:`L(x, v) = \sup_p (p\cdot v - H(x, p))`.

    Attributes
    ----------
    expr : Expr or None
        Closed form (None: numeric only, see :meth:`evaluate`).
    velocity : tuple of Symbol
    momentum_of_velocity : tuple of Expr or None
        The maximiser :math:`p^*(x, v)`, :math:`\nabla_p H(x, p^*) = v`.
    domain : Set or str
        Where :math:`L < \infty` (in one slow dimension a SymPy set in ``v``).
    hamiltonian : Hamiltonian
    steps : Derivation
    """

    expr: sp.Expr | None
    velocity: tuple[sp.Symbol, ...]
    momentum_of_velocity: tuple[sp.Expr, ...] | None
    domain: Any
    hamiltonian: Hamiltonian
    steps: Derivation

    def evaluate(self, x: Sequence[float] | float, v: Sequence[float] | float,
                 params: Mapping | None = None) -> float:
        r"""``L(x, v)`` as a float: the closed form, or :math:`\sup_p(p v - H)` by
        :func:`scipy.optimize.minimize` (convex in ``p``); ``inf`` outside the domain."""
        x = np.atleast_1d(np.asarray(x, dtype=float))
        v = np.atleast_1d(np.asarray(v, dtype=float))
        H = self.hamiltonian
        prm = _params(H.params, params)
        if self.expr is not None:
            e = _substitute(self.expr, prm, H, self.velocity)
            f = sp.lambdify([H.slow, self.velocity], e, "numpy")
            if not _in_domain(self.domain, self.velocity, v, x, H, prm):
                return float("inf")
            with np.errstate(all="ignore"):
                val = complex(f(tuple(x), tuple(v)))
            if np.isfinite(val.real) and abs(val.imag) < 1e-9:
                return float(val.real)
        return legendre_numeric(H.numeric(prm), x, v)[0]

    def _repr_latex_(self) -> str:
        if self.expr is None:
            return r"$L(x, v)$ (numeric Legendre transform)"
        return "$L = " + sp.latex(self.expr) + "$"

    def _repr_markdown_(self) -> str:
        from ..report.results import formula_markdown

        note = "numeric Legendre transform" if self.expr is None else f"finite on {self.domain}"
        return formula_markdown("Rate function", [("L(x, v)", self.expr)], self.steps, note)


@dataclass(frozen=True)
class Quasipotential:
    r"""The quasipotential :math:`V(x)` relative to an attractor ``start``.

    In one slow dimension :math:`V(x) = \int_{x_0}^x p^*(z)\,dz` with
    :math:`H(z, p^*(z)) = 0`, :math:`p^* \ne 0`.
    """

    expr: sp.Expr
    variable: sp.Symbol
    start: sp.Expr
    momentum: sp.Expr
    hamiltonian: Hamiltonian
    steps: Derivation

    def evaluate(self, x: float, params: Mapping | None = None) -> float:
        prm = _params(self.hamiltonian.params, params)
        e = _substitute(self.expr, prm, self.hamiltonian, (self.variable,))
        return float(sp.N(e.subs(self.variable, x)))

    def _repr_markdown_(self) -> str:
        from ..report.results import formula_markdown

        return formula_markdown("Quasipotential", [("V", self.expr), ("p^*", self.momentum)],
                                self.steps, f"from the attractor {self.variable} = {self.start}")


# -------------------------------------------------------------- helpers
def _params(base: Mapping, extra: Mapping | None) -> dict:
    out = dict(base)
    if extra:
        out.update(extra)
    return out


def _substitute(e: sp.Expr, prm: Mapping, H: Hamiltonian, allowed: Sequence = ()) -> sp.Expr:
    e = e.subs(prm)
    left = e.free_symbols - set(H.slow) - set(H.momentum) - set(allowed)
    if left:
        raise LDPError(f"give numeric values for {sorted(map(str, left))} (params={{symbol: "
                       "value}}) to evaluate the Hamiltonian or rate function numerically")
    return e


def _sample_params(symbols: set, seed: int = 7) -> dict:
    rng = random.Random(seed)
    out = {}
    for s in sorted(symbols, key=str):
        v = rng.randint(40, 160) / 100
        out[s] = v if (s.is_positive or s.is_nonnegative) else v * rng.choice([-1, 1])
    return out


# ------------------------------------------------------------- strategies
def _finite_chain(T: Tilted) -> dict | None:
    K = T.generator
    if T.fast or K.jump is None:
        return None
    Q = sp.Matrix(K.jump.rates)
    N = Q.shape[0]
    V = [sp.S.Zero] * N
    for part in K.potential_parts:
        for k, lab in enumerate(K.modes):
            if part.mode is None or part.mode == lab:
                V[k] += part.potential
    M = Q + sp.diag(*V)
    lam = sp.Symbol("lambda_H")
    char = sp.expand((lam * sp.eye(N) - M).det())
    steps = [Step("tilted matrix", r"For a finite fast chain $\mathcal K_p = Q + "
                  r"\mathrm{diag}(p\cdot f_i + \tfrac12 p\cdot a_i p)$; $H$ is its Perron root "
                  "(the eigenvalue of largest real part, real and simple for an irreducible "
                  "chain, Perron-Frobenius).", (("M(p)", sp.ImmutableMatrix(M)),
                                               (r"\det(\lambda - M)", char)))]
    def numeric(prm: Mapping) -> Callable:
        Mf = sp.lambdify([T.slow, T.momentum], sp.Matrix(M).subs(prm), "numpy")

        def fn(x: np.ndarray, p: np.ndarray) -> float:
            m = np.array(Mf(tuple(x), tuple(p)), dtype=float)
            return float(np.max(np.linalg.eigvals(m).real))
        return fn
    if N == 2:
        tr = M[0, 0] + M[1, 1]
        disc = (M[0, 0] - M[1, 1]) ** 2 + 4 * M[0, 1] * M[1, 0]
        H = sp.simplify(tr / 2 + sp.sqrt(sp.expand(disc)) / 2)
        u = sp.ImmutableMatrix([M[0, 1], H - M[0, 0]])
        checks = [zero_check("det(H - M(p)) = 0", char.subs(lam, H)),
                  zero_check("M(p) u = H u", sp.Matrix(M * u - H * u))]
        steps.append(Step("principal eigenvalue", r"Two states: $H = \tfrac12\mathrm{tr}\,M + "
                          r"\tfrac12\sqrt{(M_{11}-M_{22})^2 + 4M_{12}M_{21}}$, the larger root "
                          r"(the discriminant is $\ge 0$ since $M_{12}M_{21}\ge 0$); the "
                          r"eigenvector $u = (M_{12}, H - M_{11})$ is positive.",
                          (("H", H), ("u", u)), checks, "finite chain (2 states)"))
        return dict(expr=H, eigenfunction=u, characteristic=char, steps=steps,
                    strategy="finite chain, Perron root (closed form)", numeric=numeric)
    factored = _factored_perron_root(M, char, lam, T, numeric)
    if factored is not None:
        H, fac, check = factored
        checks = [zero_check("det(H - M(p)) = 0", char.subs(lam, H)), check]
        steps.append(Step("principal eigenvalue", f"{N} states: the characteristic polynomial "
                          r"factors; $H$ is the root of the factor below that is the Perron "
                          r"root (the largest real eigenvalue of $M(p)$, identified at sample "
                          r"points).", (("factor", fac), ("H", H)), checks,
                          f"finite chain ({N} states, factored characteristic polynomial)"))
        return dict(expr=H, eigenfunction=None, characteristic=char, steps=steps,
                    strategy="finite chain, Perron root (closed form, factored)",
                    numeric=numeric)
    steps.append(Step("principal eigenvalue", f"{N} states: $H$ is the largest real root of "
                      r"$\det(\lambda - M(p)) = 0$, computed numerically at parameter values.",
                      (), (), "finite chain (numeric Perron root)"))
    return dict(expr=None, eigenfunction=None, characteristic=char, steps=steps,
                strategy="finite chain, Perron root (numeric)", numeric=numeric)


def _factored_perron_root(M: sp.Matrix, char: sp.Expr, lam: sp.Symbol, T: Tilted,
                          numeric: Callable) -> tuple[sp.Expr, sp.Expr, Check] | None:
    r"""The Perron root of ``M(p)`` in closed form when ``det(lambda - M)`` has a factor of
    degree one or two in ``lambda`` that carries it (a lumpable chain, a symmetry).

    The roots of the low-degree factors (``-c0/c1``, or the two roots of the quadratic
    formula) are compared with the numeric Perron root at sample
    points (slow variables in ``[0.2, 0.8]``, momenta ``+-0.3, +-1.1``, parameters from
    :func:`_sample_params`); the one that matches everywhere is returned with that check.
    ``None`` when the polynomial does not factor so or no root matches.
    """
    try:
        _, factors = sp.factor_list(char, lam)
    except (sp.PolificationFailed, sp.polys.polyerrors.PolynomialError):
        return None
    candidates = []
    for fac, _mult in factors:
        if not fac.has(lam):
            continue
        P = sp.Poly(fac, lam)
        if P.degree() == 1:
            c1, c0 = P.all_coeffs()
            candidates.append((sp.cancel(-c0 / c1), fac))
        elif P.degree() == 2:
            a2, a1, a0 = P.all_coeffs()
            disc = sp.expand(a1**2 - 4 * a2 * a0)
            for sign in (1, -1):
                candidates.append(((-a1 + sign * sp.sqrt(disc)) / (2 * a2), fac))
    if not candidates or len(factors) < 2:
        return None
    prm = _sample_params(set().union(*(e.free_symbols for e in M)) - set(T.slow)
                         - set(T.momentum), seed=5)
    fn = numeric(prm)
    rng = np.random.default_rng(5)
    pts = [(rng.uniform(0.2, 0.8, len(T.slow)), np.full(len(T.momentum), q))
           for q in (-1.1, -0.3, 0.3, 1.1)]
    for H, fac in candidates:
        f = sp.lambdify([T.slow, T.momentum], H.subs(prm), "numpy")
        worst = 0.0
        try:
            for x, p in pts:
                ref = fn(x, p)
                val = complex(f(tuple(x), tuple(p)))
                worst = max(worst, abs(val - ref) / max(1.0, abs(ref)))
        except (ValueError, ZeroDivisionError, TypeError):
            continue
        if worst < 1e-9:
            check = Check("H = numeric Perron root", True, "numeric",
                          f"max relative difference {worst:.1e} at 4 points, params {_fmt(prm)}")
            return H, fac, check
    return None


def _exponential_ansatz(T: Tilted) -> dict | None:
    """Linear fast drift, constant fast diffusion, potential of degree <= 2 in y:
    the eigenfunction is ``exp(y.K y/2 + k.y)`` (degree 2 in one fast variable)."""
    K = T.generator
    fc = T.fast
    if not fc or K.jump is not None or K.modes or K.periodic:
        return None
    n = len(fc)
    b, A = K.drift, K.diffusion
    V = sum((p.potential for p in K.potential_parts), sp.S.Zero)
    if any(e.has(*fc) for e in A):
        return None
    Bm = sp.zeros(n, n)
    c = sp.zeros(n, 1)
    for i in range(n):
        bi = sp.expand(b[i])
        if not bi.is_polynomial(*fc) or sp.Poly(bi, *fc).total_degree() > 1:
            return None
        for j, y in enumerate(fc):
            Bm[i, j] = bi.coeff(y)
        c[i] = sp.expand(bi - sum(Bm[i, j] * fc[j] for j in range(n)))
    if any(e.has(*T.momentum) for e in Bm):
        return None
    Vx = sp.expand(V)
    if not Vx.is_polynomial(*fc):
        return None
    deg = sp.Poly(Vx, *fc).total_degree() if Vx.has(*fc) else 0
    from .invariant import _require_stable

    _require_stable(Bm, fc)
    Y = sp.Matrix(fc)
    if deg <= 1:
        v1 = sp.Matrix([Vx.coeff(y) for y in fc])
        v0 = Vx.subs({y: 0 for y in fc})
        k = (-(Bm.T).LUsolve(v1)).applyfunc(sp.cancel)
        H = sp.expand((c.T * k)[0] + (k.T * A * k)[0] / 2 + v0)
        u = sp.exp((k.T * Y)[0])
        how = (r"The potential is linear in $y$ and the fast drift is $By + c$: the "
               r"eigenfunction is $e^{k\cdot y}$ with $B^T k + \nabla_y V = 0$, so "
               r"$H = c\cdot k + \tfrac12 k\cdot A k + V(0)$.")
        strategy = "linear fast process (exponential-linear eigenfunction)"
        finite = None
    elif deg == 2 and n == 1:
        y = fc[0]
        P = sp.Poly(Vx, y)
        v2, v1, v0 = (P.coeff_monomial(y**2), P.coeff_monomial(y), P.coeff_monomial(1))
        g, s = -Bm[0, 0], A[0, 0]
        if s == 0:
            return None
        # y^2: -g al + s al^2/2 + v2 = 0, the root that vanishes with v2
        al = (g - sp.sqrt(g**2 - 2 * s * v2)) / s
        be = (c[0] * al + v1) / (g - s * al)
        H = c[0] * be + s * (al + be**2) / 2 + v0
        u = sp.exp(al * y**2 / 2 + be * y)
        how = (r"The potential is quadratic in the one fast variable and the fast process is "
               r"Ornstein-Uhlenbeck: the eigenfunction is $e^{\alpha y^2/2 + \beta y}$, "
               r"$\alpha$ the root of the Riccati equation $\tfrac{s}{2}\alpha^2 - g\alpha + "
               r"v_2 = 0$ that vanishes with $v_2$ (finite while $2 s v_2 < g^2$).")
        strategy = "Ornstein-Uhlenbeck fast process (Riccati, Gaussian eigenfunction)"
        finite = g**2 - 2 * s * v2 > 0
    elif deg == 2 and _decoupled(Bm, A, Vx, fc):
        # independent fast variables: one scalar Riccati root per variable
        H, expo, conds = sp.S.Zero, sp.S.Zero, []
        v0 = Vx.subs({z: 0 for z in fc})
        for i, y in enumerate(fc):
            g, s = -Bm[i, i], A[i, i]
            v2 = sp.diff(Vx, y, 2) / 2
            v1 = sp.diff(Vx, y).subs({z: 0 for z in fc})
            al = sp.S.Zero if v2 == 0 else (g - sp.sqrt(g**2 - 2 * s * v2)) / s
            be = (c[i] * al + v1) / (g - s * al)
            H += c[i] * be + s * (al + be**2) / 2
            expo += al * y**2 / 2 + be * y
            if v2 != 0:
                conds.append(g**2 - 2 * s * v2 > 0)
        H = H + v0
        u = sp.exp(expo)
        how = (r"Independent Ornstein-Uhlenbeck fast variables (diagonal $B$, $A$ and "
               r"quadratic part of the potential): the eigenfunction is "
               r"$\prod_i e^{\alpha_i y_i^2/2 + \beta_i y_i}$, one scalar Riccati root "
               r"$\alpha_i$ per variable (vanishing with $v_{2,i}$), and $H$ is the sum.")
        strategy = "Ornstein-Uhlenbeck fast process (decoupled Riccati, closed form)"
        finite = sp.And(*conds) if conds else None
    elif deg == 2:
        return _riccati_matrix(T, Bm, c, A, Vx)
    else:
        return None
    res = sp.expand(sp.powsimp(K.apply(u) / u) - H)
    chk = zero_check("K_p u - H u = 0", res)
    step = Step("principal eigenvalue", how, (("u", u), ("H", H)), (chk,), strategy)
    return dict(expr=H, eigenfunction=u, characteristic=None, steps=[step], strategy=strategy,
                numeric=None, finite_where=finite)


def _decoupled(Bm: sp.Matrix, A: sp.Matrix, V: sp.Expr, fc: tuple) -> bool:
    """Diagonal drift matrix and diffusion, no cross terms ``y_i y_j`` in the potential,
    and noise on every variable that has a quadratic term."""
    n = len(fc)
    off = [(i, j) for i in range(n) for j in range(n) if i != j]
    if any(Bm[i, j] != 0 or A[i, j] != 0 for i, j in off):
        return False
    if any(sp.diff(V, fc[i], fc[j]) != 0 for i, j in off):
        return False
    return all(A[i, i] != 0 or sp.diff(V, fc[i], 2) == 0 for i in range(n))


def _riccati_matrix(T: Tilted, Bm: sp.Matrix, c: sp.Matrix, A: sp.Matrix,
                    V: sp.Expr) -> dict:
    r"""Several Ornstein-Uhlenbeck fast variables, potential quadratic in ``y``: the
    principal eigenfunction is :math:`e^{y^T K y/2 + k\cdot y}` with

    .. math::

        K A K + K B + B^T K + 2 V_2 = 0, \qquad (B^T + K A)\,k = -(K c + v_1),\qquad
        H = c\cdot k + \tfrac12\mathrm{tr}(A K) + \tfrac12 k\cdot A k + v_0,

    (:math:`V = y\cdot V_2 y + v_1\cdot y + v_0`, fast drift :math:`By + c`), ``K`` the
    stabilising solution of the algebraic Riccati equation (:math:`B + A K` Hurwitz; the
    one that vanishes with :math:`V_2`). It is found at parameter values from the stable
    invariant subspace of the Hamiltonian matrix :math:`Z = [[B, -A], [2V_2, -B^T]]`
    (:math:`K = -U_2 U_1^{-1}`; Laub, IEEE Trans. Autom. Control 24 (1979) 913);
    :math:`H = \infty` where :math:`Z` has eigenvalues on the imaginary axis (the
    Gaussian moment generating function blows up). One fast variable gives back the
    closed form of :func:`_exponential_ansatz`; this is the cumulant generating
    function of a quadratic functional of a Gaussian process (Bryc & Dembo, J. Theor.
    Probab. 10 (1997) 307)."""
    fc = T.fast
    n = len(fc)
    V2 = sp.Matrix(n, n, lambda i, j: sp.diff(V, fc[i], fc[j]) / 2)
    v1 = sp.Matrix([sp.diff(V, y).subs({z: 0 for z in fc}) for y in fc])
    v0 = V.subs({z: 0 for z in fc})
    args = [T.slow, T.momentum]
    cells = [Bm, c, A, V2, v1, sp.Matrix([v0])]

    def numeric(prm: Mapping) -> Callable:
        fs = [sp.lambdify(args, sp.Matrix(e).subs(prm), "numpy") for e in cells]

        def parts(x: np.ndarray, p: np.ndarray) -> list[np.ndarray]:
            return [np.array(f(tuple(x), tuple(p)), dtype=float) for f in fs]

        def fn(x: np.ndarray, p: np.ndarray) -> float:
            B, cc, AA, W2, w1, w0 = parts(x, p)
            K = _stabilising_riccati(B, AA, W2)
            if K is None:
                return float("inf")
            k = np.linalg.solve(B.T + K @ AA, -(K @ cc + w1))
            return float((cc.T @ k)[0, 0] + np.trace(AA @ K) / 2 + (k.T @ AA @ k)[0, 0] / 2
                         + w0[0, 0])

        def residual(x: np.ndarray, p: np.ndarray) -> float:
            B, _, AA, W2, _, _ = parts(x, p)
            K = _stabilising_riccati(B, AA, W2)
            if K is None:
                return 0.0
            R = K @ AA @ K + K @ B + B.T @ K + 2 * W2
            return float(np.abs(R).max() / max(1.0, np.abs(W2).max()))
        fn.residual = residual  # type: ignore[attr-defined]
        return fn
    how = (r"Several Ornstein-Uhlenbeck fast variables with a potential quadratic in $y$: "
           r"the eigenfunction is $e^{y^T K y/2 + k\cdot y}$, $K$ the stabilising solution "
           r"of the algebraic Riccati equation $K A K + K B + B^T K + 2V_2 = 0$ "
           r"($B + AK$ Hurwitz), $(B^T + KA)k = -(Kc + v_1)$, and $H = c\cdot k + "
           r"\tfrac12\mathrm{tr}(AK) + \tfrac12 k\cdot Ak + v_0$; $K$ from the stable "
           r"invariant subspace of the Hamiltonian matrix at parameter values.")
    step = Step("principal eigenvalue", how, (("B", sp.ImmutableMatrix(Bm)),
                                              ("V_2", sp.ImmutableMatrix(V2)),
                                              ("v_1", sp.ImmutableMatrix(v1))), (),
                "Ornstein-Uhlenbeck fast process (matrix Riccati)")
    return dict(expr=None, eigenfunction=None, characteristic=None, steps=[step],
                strategy="Ornstein-Uhlenbeck fast process (matrix Riccati, numeric K)",
                numeric=numeric)


def _stabilising_riccati(B: np.ndarray, A: np.ndarray, V2: np.ndarray) -> np.ndarray | None:
    """``K`` with ``K A K + K B + B^T K + 2 V2 = 0`` and ``B + A K`` Hurwitz, or None."""
    n = B.shape[0]
    Z = np.block([[B, -A], [2 * V2, -B.T]])
    w, U = np.linalg.eig(Z)
    scale = max(1.0, float(np.abs(Z).max()))
    stable = w.real < -1e-9 * scale
    if int(stable.sum()) != n:
        return None
    U1, U2 = U[:n, stable], U[n:, stable]
    if np.linalg.cond(U1) > 1e12:
        return None
    K = -np.real(U2 @ np.linalg.inv(U1))
    return (K + K.T) / 2


def _principal_tridiagonal(diag: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                           periodic: bool) -> float:
    r"""The principal eigenvalue of the finite-difference operator
    :math:`(Mu)_i = lo_i u_{i-1} + diag_i u_i + hi_i u_{i+1}` (reflecting or periodic ends).

    With positive off-diagonals :math:`M` is a Metzler matrix: its eigenvalue of
    largest real part is real (Perron-Frobenius) and is the eigenvalue nearest to
    any real shift above it, so shift-invert ARPACK (:func:`scipy.sparse.linalg.eigs`)
    at the Gershgorin bound finds it."""
    from scipy.sparse import diags, lil_matrix
    from scipy.sparse.linalg import eigs

    m = len(diag)
    if np.any(lo <= 0) or np.any(hi <= 0):
        raise UnsolvedError("the grid is too coarse for the drift (a negative off-diagonal in "
                            "the finite-difference matrix): increase n")
    M = lil_matrix(diags([lo[1:], diag, hi[:-1]], [-1, 0, 1], shape=(m, m)))
    if periodic:
        M[0, m - 1] += lo[0]
        M[m - 1, 0] += hi[m - 1]
    else:
        M[0, 1] += lo[0]              # reflecting ends: the ghost point mirrored
        M[m - 1, m - 2] += hi[m - 1]
    M = M.tocsc()
    bound = float(np.max(np.asarray(M.sum(axis=1)).ravel())) + 1.0
    val = eigs(M, k=1, sigma=bound, which="LM", return_eigenvectors=False, tol=1e-13)
    return float(val[0].real)


def _grid_1d(T: Tilted, domain: tuple | None, n: int) -> dict | None:
    """One fast diffusion variable: the principal eigenvalue of a finite-difference
    discretisation, at n and 2n points."""
    K = T.generator
    if len(T.fast) != 1 or K.jump is not None or K.modes:
        return None
    y = T.fast[0]
    per = K.periodic_map.get(y)
    if per is None and domain is None:   # a line without domain=: the box-grid routes
        return None
    b, A = K.drift[0], K.diffusion[0, 0]
    V = sum((p.potential for p in K.potential_parts), sp.S.Zero)
    args = [T.slow, T.momentum, y]

    def numeric(prm: Mapping) -> Callable:
        fb, fa, fv = (sp.lambdify(args, sp.sympify(e).subs(prm), "numpy") for e in (b, A, V))
        L = float(sp.N(sp.sympify(per).subs(prm))) if per is not None else None

        def eig(x: np.ndarray, p: np.ndarray, m: int) -> float:
            if L is not None:
                h = L / m
                grid = np.arange(m) * h
            else:
                lo, hi = float(domain[0]), float(domain[1])
                grid = np.linspace(lo, hi, m)
                h = grid[1] - grid[0]
            bb, aa, vv = (np.broadcast_to(np.asarray(f(tuple(x), tuple(p), grid), float),
                                          grid.shape) for f in (fb, fa, fv))
            lo_c = aa / (2 * h * h) - bb / (2 * h)
            hi_c = aa / (2 * h * h) + bb / (2 * h)
            return _principal_tridiagonal(-aa / (h * h) + vv, lo_c, hi_c, periodic=L is not None)

        def fn(x: np.ndarray, p: np.ndarray) -> float:
            e1, e2 = eig(x, p, n), eig(x, p, 2 * n)
            # second order: Richardson extrapolation; the difference is the error estimate
            return e2 + (e2 - e1) / 3
        fn.eig = eig  # type: ignore[attr-defined]
        return fn
    step = Step("principal eigenvalue", "No closed form: the principal eigenvalue of a "
                f"second-order finite-difference discretisation of K_p in {y} "
                + ("on the circle" if per is not None else f"on [{domain[0]}, {domain[1]}] with "
                   "reflecting ends") + f", at {n} and {2 * n} points, Richardson-extrapolated.",
                (), (), "numeric principal eigenvalue (finite differences)")
    return dict(expr=None, eigenfunction=None, characteristic=None, steps=[step],
                strategy="numeric principal eigenvalue (finite differences)", numeric=numeric,
                grid=n)


def _grid_chain_1d(T: Tilted, domain: tuple | None, n: int) -> dict | None:
    r"""A fast chain and one fast diffusion variable ``y``: the principal eigenvalue of
    the block operator :math:`(\mathcal K_p u)_i = \mathcal L_i u_i + \sum_j Q_{ij}(y)
    u_j + V_i(y) u_i` (:math:`\mathcal L_i` the generator of ``y`` in chain state ``i``),
    discretised by second-order finite differences in ``y`` (on the circle, or on
    ``domain`` with reflecting ends) at ``n`` and ``2 n`` points, Richardson-extrapolated.
    With positive weights the matrix is Metzler and irreducible, so its eigenvalue of
    largest real part is real and simple (Perron-Frobenius) and shift-invert ARPACK at
    the Gershgorin bound finds it."""
    K = T.generator
    if len(T.fast) != 1 or K.jump is None:
        return None
    y = T.fast[0]
    per = K.periodic_map.get(y)
    if per is None and domain is None:   # a line without domain=: the box-grid routes
        return None
    modes = list(K.jump.states)
    N = len(modes)
    cells = []
    for lab in modes:
        b, a = K.diffusion_in(lab)
        V = sum((q.potential for q in K.potential_parts if q.mode is None or q.mode == lab),
                sp.S.Zero)
        cells += [b[0], a[0, 0], V]
    Q = sp.Matrix(K.jump.rates)
    cells += list(Q)
    args = [T.slow, T.momentum, y]

    def numeric(prm: Mapping) -> Callable:
        from scipy.sparse import coo_matrix
        from scipy.sparse.linalg import eigs

        fs = [sp.lambdify(args, sp.sympify(e).subs(prm), "numpy") for e in cells]
        L = float(sp.N(sp.sympify(per).subs(prm))) if per is not None else None

        def eig(x: np.ndarray, p: np.ndarray, m: int) -> float:
            if L is not None:
                h = L / m
                grid = np.arange(m) * h
            else:
                grid = np.linspace(float(domain[0]), float(domain[1]), m)
                h = grid[1] - grid[0]
            vals = [np.broadcast_to(np.asarray(f(tuple(x), tuple(p), grid), float),
                                    grid.shape) for f in fs]
            j = np.arange(m)
            dn, up = (j - 1) % m, (j + 1) % m
            if L is None:                     # reflecting ends: the ghost point mirrored
                dn[0], up[m - 1] = 1, m - 2
            rows, cols, data = [], [], []
            for i in range(N):
                b, a, V = vals[3 * i: 3 * i + 3]
                lo_c, hi_c = a / (2 * h * h) - b / (2 * h), a / (2 * h * h) + b / (2 * h)
                if np.any(lo_c <= 0) or np.any(hi_c <= 0):
                    raise UnsolvedError("the grid is too coarse for the drift (a negative "
                                        "weight in the finite-difference matrix): increase n")
                off = i * m
                rows += [off + j, off + j, off + j]
                cols += [off + dn, off + up, off + j]
                data += [lo_c, hi_c, -lo_c - hi_c + V]
                for k in range(N):
                    rows.append(off + j)
                    cols.append(k * m + j)
                    data.append(vals[3 * N + i * N + k])
            M = coo_matrix((np.concatenate(data), (np.concatenate(rows),
                                                   np.concatenate(cols))),
                           shape=(N * m, N * m)).tocsc()
            bound = float(np.max(np.abs(M).sum(axis=1))) + 1.0
            w = eigs(M, k=1, sigma=bound, which="LM", return_eigenvectors=False, tol=1e-13)
            return float(w.real[0])

        def fn(x: np.ndarray, p: np.ndarray) -> float:
            e1, e2 = eig(x, p, n), eig(x, p, 2 * n)
            return e2 + (e2 - e1) / 3
        fn.eig = eig  # type: ignore[attr-defined]
        return fn
    where = "on the circle" if per is not None else (f"on [{domain[0]}, {domain[1]}] with "
                                                     "reflecting ends")
    step = Step("principal eigenvalue", f"A fast chain ({N} states) and the fast variable {y}: "
                "no closed form; the principal eigenvalue of the block finite-difference "
                f"discretisation of K_p (one block per chain state, coupled by Q(y)) {where}, "
                f"at {n} and {2 * n} points, Richardson-extrapolated.", (), (),
                "numeric principal eigenvalue (chain and diffusion, finite differences)")
    return dict(expr=None, eigenfunction=None, characteristic=None, steps=[step],
                strategy="numeric principal eigenvalue (chain x finite differences)",
                numeric=numeric, grid=n)


def _grid_product(T: Tilted, n: int) -> dict | None:
    r"""Several fast diffusion variables, each on a circle: the principal eigenvalue of
    the Fourier collocation of :math:`\mathcal K_p` on the tensor grid of ``n`` points per
    variable (the collocation of :class:`symavg.derive.numeric_line.ProductOperator`),
    dense. Fast variables on the line are declined (the Chebyshev grid with walls was not
    accurate enough in the tests: its checks failed)."""
    K = T.generator
    per = K.periodic_map
    if len(T.fast) < 2 or K.jump is not None or K.modes or any(y not in per for y in T.fast):
        return None
    from .numeric_line import ProductGrid, ProductOperator, circle_axis

    d = len(T.fast)
    V = sum((p.potential for p in K.potential_parts), sp.S.Zero)
    args = [T.slow, T.momentum, *T.fast]
    cells = [K.drift[i] for i in range(d)] + [K.diffusion[i, j] for i in range(d)
                                              for j in range(d)] + [V]

    def numeric(prm: Mapping) -> Callable:
        fs = [sp.lambdify(args, sp.sympify(e).subs(prm), "numpy") for e in cells]
        periods = [float(sp.N(sp.sympify(per[y]).subs(prm))) for y in T.fast]

        def eig_at(x: np.ndarray, p: np.ndarray, m: int) -> float:
            grid = ProductGrid(tuple(T.fast), tuple(circle_axis(m, L) for L in periods))
            pts = grid.points()
            vals = [np.broadcast_to(np.asarray(f(tuple(x), tuple(p), *pts), float),
                                    grid.shape) for f in fs]
            a = [vals[d + i * d:d + (i + 1) * d] for i in range(d)]
            op = ProductOperator(grid, list(vals[:d]), a)
            tilted = op.matrix.toarray() + np.diag(vals[-1].ravel())
            return float(np.max(np.linalg.eigvals(tilted).real))

        def fn(x: np.ndarray, p: np.ndarray) -> float:
            return eig_at(x, p, n)
        fn.eig = eig_at  # type: ignore[attr-defined]
        return fn
    step = Step("principal eigenvalue", "No closed form: the principal eigenvalue of the "
                f"Fourier collocation of K_p on a tensor grid of {n} points per circle "
                f"({', '.join(map(str, T.fast))}).", (), (),
                "numeric principal eigenvalue (Fourier tensor grid)")
    return dict(expr=None, eigenfunction=None, characteristic=None, steps=[step],
                strategy="numeric principal eigenvalue (Fourier tensor grid)",
                numeric=numeric, grid=max(4, (2 * n) // 3))


def _numeric_route(T: Tilted, domain: tuple | None, n: int | None) -> dict:
    """The numeric principal eigenvalue for the fast diffusion variables (and chain).

    One variable on a circle or on a reflecting ``domain=``: second-order finite
    differences (with a chain: one block per state). Several on circles, no chain:
    Fourier collocation. Variables on the line otherwise (one without ``domain=``,
    or several), no chain: the ground-state transform and a box grid
    (:mod:`.ldp_grid`, reversible fast dynamics)."""
    from .ldp_grid import box_grid_route

    K = T.generator
    per = K.periodic_map
    if not T.fast:
        raise UnsolvedError("no strategy for the principal eigenvalue of the tilted "
                            "generator: the fast process has neither a finite chain with a "
                            "closed form nor fast diffusion variables")
    if domain is not None and (len(T.fast) != 1 or T.fast[0] in per):
        raise LDPError(f"domain=(lo, hi) is the reflecting interval of one fast variable on "
                       f"the line; the fast variables here are {list(T.fast)}"
                       + (f" ({T.fast[0]} is on a circle)" if len(T.fast) == 1 else "")
                       + ". Leave domain out: a box for variables on the line is then "
                       "chosen from the tilted ground state.")
    one = len(T.fast) == 1 and (T.fast[0] in per or domain is not None)
    if K.jump is not None:
        if one:
            return _grid_chain_1d(T, domain, 200 if n is None else n)
        if any(y in per for y in T.fast):
            raise UnsolvedError(
                f"the fast process has a chain and the continuous variables {list(T.fast)}, "
                "some on circles: the numeric routes cover a chain with one fast variable on "
                "a circle or on a reflecting domain=(lo, hi), or with variables on the line")
        out = box_grid_route(T, n)
        if out is None:  # pragma: no cover - line variables with a chain are covered
            raise UnsolvedError(f"no numeric route for the chain and {list(T.fast)}")
        return out
    if one:
        return _grid_1d(T, domain, 200 if n is None else n)
    if all(y in per for y in T.fast):
        return _grid_product(T, 12 if n is None else min(n, 12))
    if any(y in per for y in T.fast):
        raise UnsolvedError(f"the fast variables {list(T.fast)} mix circles and the line: the "
                            "numeric routes cover all on circles, or all on the line")
    out = box_grid_route(T, n)
    if out is None:  # pragma: no cover - box_grid_route covers what is left
        raise UnsolvedError(f"no numeric route for the fast variables {list(T.fast)}")
    return out


# --------------------------------------------------------------- hamiltonian
def hamiltonian(model: SDE | SwitchingSDE, fast: Sequence[sp.Symbol] | None = None,
                momentum: Sequence[sp.Symbol] | sp.Symbol | None = None, *,
                params: Mapping | None = None, domain: tuple | None = None,
                n: int | None = None, tol: float = 1e-5, method: str = "auto") -> Hamiltonian:
    r"""The slow-fast Hamiltonian :math:`H(x, p)`, with its derivation record.

    .. math::

        H(x, p) = \text{principal eigenvalue of }\ \mathcal K_p = \mathcal L_0(x)
        + (c^T p)\cdot\nabla_y + p\cdot f(x, \cdot) + \tfrac12 p\cdot a(x,\cdot)\,p

    (Freidlin & Wentzell Ch. 7 sec. 4; Bouchet et al. 2016 sec. 2). Strategies,
    in order: a finite fast chain (:math:`H` the Perron root of
    :math:`Q + \mathrm{diag}(V_i)`, closed form for two states, and for more
    when the characteristic polynomial has a factor of degree <= 2 carrying
    it); a linear fast diffusion with a potential of degree <= 2
    (exponential-quadratic eigenfunction: closed form for a linear potential or
    one fast variable, the matrix Riccati equation solved at parameter values for
    several); otherwise a numeric
    principal eigenvalue (the chain's matrix; finite differences for one fast
    variable, on the circle or on ``domain``; Fourier collocation on the
    tensor grid for several fast variables on circles; for fast variables on the
    line, the ground-state transform of a reversible drift or the ray-weighted
    exponentially fitted grid of a non-reversible one on a fitted box,
    :mod:`symavg.derive.ldp_grid`), at ``params``.

    Checks recorded: the tilted generator against its definition;
    the eigen-equation; :math:`H(x, 0) = 0`; :math:`\nabla_p H(x, 0)` equals
    the averaged drift of ``sa.reduce(model)``; convexity in ``p`` (at sample
    points); for the grid route, convergence (n vs 2n points, to ``tol``).

    Parameters
    ----------
    model : SDE or SwitchingSDE
        Slow drift of order 1, slow diffusion of order ``eps``, fast dynamics
        of order ``1/eps``.
    fast : list of Symbol, optional
        Default: the chain of a SwitchingSDE, or the variables moved at the
        most singular order.
    momentum : Symbol or list of Symbol, optional
        One per slow variable (default ``p_{x}``).
    params : dict, optional
        Parameter values for the numeric route and checks.
    domain : (lo, hi), optional
        Truncated domain of a non-periodic fast variable for the numeric route.
    n : int, optional
        Grid points (per axis) of the numeric route, checked against ``2 n``. Default:
        200 for one fast variable on a circle or ``domain``, 12 per circle for several,
        and for the line routes 64, 48, 16 (reversible, 1-3 variables) or 200, 64, 20
        (fitted grid).
    method : {"auto", "grid"}
        ``"grid"`` skips the closed forms for fast diffusions (exponential ansatz,
        Riccati) and takes the numeric grid route, e.g. to cross-check them.

    Examples
    --------
    The telegraph process :math:`\dot x = s`, :math:`s = \pm 1` flipping at rate
    :math:`\lambda/\epsilon`:

    >>> import sympy as sp, symavg as sa
    >>> x, p = sp.symbols("x p", real=True)
    >>> lam = sp.Symbol("lambda", positive=True)
    >>> chain = sa.MarkovChain({("-", "+"): lam / sa.epsilon, ("+", "-"): lam / sa.epsilon})
    >>> tel = sa.SwitchingSDE([x], chain, drift={"-": -1, "+": 1})
    >>> sa.ldp.hamiltonian(tel, momentum=p).expr
    -lambda + sqrt(lambda**2 + p**2)
    """
    T = tilted_generator(model, fast, momentum)
    prm = dict(params or {})
    uname = fresh_name("u", user_names(T.generator.coefficients()))
    steps = [Step("tilted generator", r"$\mathcal K_p = \lim_{\epsilon\to0}\epsilon\,"
                  r"e^{-p\cdot x/\epsilon}\mathcal L_\epsilon e^{p\cdot x/\epsilon}$ on functions "
                  "of the fast variables.", ((rf"\mathcal K_p {sp.latex(sp.Symbol(uname))}",
                                              T.generator.as_expr(name=uname)),), (T.check,),
                  "tilted generator")]
    if not T.check.passed:
        raise UnsolvedError(f"the tilted generator does not match its definition "
                            f"({T.check.detail})")
    if method not in ("auto", "grid"):
        raise LDPError(f"method must be 'auto' or 'grid'; got {method!r}")
    out = _finite_chain(T)
    if out is None and method == "auto":
        out = _exponential_ansatz(T)
    if out is None:
        out = _numeric_route(T, domain, n)
    steps += out["steps"]
    H = Hamiltonian(out["expr"], T.slow, T.momentum, T.generator, out["eigenfunction"],
                    out["characteristic"], out["strategy"],
                    Derivation("slow-fast Hamiltonian", tuple(steps)), model, prm,
                    out["numeric"], out.get("finite_where"))
    checks, averages = _hamiltonian_checks(H, T, model, fast, tol, out.get("grid"),
                                           out.get("own_average", False))
    steps.append(Step("checks", r"$H(x, 0) = 0$ (the tilted generator at $p = 0$ is "
                      r"$\mathcal L_0$); $\nabla_p H(x, 0) = \langle f\rangle$, the averaged "
                      r"drift"
                      + (" (its averages below, taken as in the averaging reduction)"
                         if averages else "") + "; "
                      r"$H$ convex in $p$.", (), tuple(checks), "hamiltonian checks",
                      averages=averages))
    given = {k: v for k, v in (("fast", fast), ("momentum", momentum), ("params", params),
                               ("domain", domain)) if v is not None}
    given.update({k: v for k, v, d in (("n", n, None), ("tol", tol, 1e-5)) if v != d})
    xs, ps = _probe_point(H.dim, 0.5), _probe_point(H.dim, 0.25)
    origin = _origin(_model_code(model), "hamiltonian", "model", given, out["expr"],
                     lambda: (f"evaluate({xs!r}, {ps!r})", H.evaluate(xs, ps)))
    return Hamiltonian(out["expr"], T.slow, T.momentum, T.generator, out["eigenfunction"],
                       out["characteristic"], out["strategy"],
                       Derivation("slow-fast Hamiltonian", tuple(steps), origin), model, prm,
                       out["numeric"], out.get("finite_where"))


def _model_code(model: Any) -> tuple[str, list] | None:
    """The declaration of ``model`` as code (``model = ...``), or None when it cannot be
    written (see :func:`symavg.report.notebook.model_source`)."""
    from ..report.notebook import model_source

    try:
        return model_source(model), []
    except SymavgError:
        return None


def _origin(head: tuple[str, list] | None, fn: str, arg: str, given: Mapping,
            expected: Any, probe: Callable[[], tuple[str, float]] | None = None
            ) -> dict | None:
    """The record of an ``sa.ldp`` call as code, for :meth:`Derivation.to_notebook`: the code
    ``head`` that binds ``arg``, then ``res = sa.ldp.<fn>(arg, ...)``, checked on ``expr``.

    Without a closed form, ``probe()`` gives a numeric check instead: the code of a call on
    the result (``"evaluate([0.5], [0.25])"``) and its value, which the notebook's rerun
    must reproduce. It is evaluated only when a notebook is written (the record's
    ``"probe"``, see :func:`symavg.report.notebook.call_notebook`). None without a head or
    without either (:mod:`symavg.report.calls`)."""
    from ..report.calls import _sympy_objects, python_literal

    if head is None or (expected is None and probe is None):
        return None
    code, inputs = head
    call = f"res = sa.ldp.{fn}({arg}" + "".join(f", {k}={python_literal(v)}"
                                                for k, v in given.items()) + ")"
    out = {"call": code + "\n" + call, "imports": "", "attr": "expr", "expected": expected,
           "inputs": inputs + _sympy_objects(list(given.values()))}
    if expected is None:
        out["probe"] = probe
    return out


def _probe_point(dim: int, value: float) -> list[float]:
    return [value] * dim


def _after(H: Hamiltonian) -> tuple[str, list] | None:
    """The code of ``H``'s origin, binding ``H`` instead of ``res``."""
    o = H.steps.origin
    if not o or not o.get("call"):
        return None
    head, _, last = o["call"].rpartition("res = ")
    return head + "H = " + last, list(o.get("inputs", []))


def _model_symbols(model: Any) -> set:
    return set(getattr(model, "parameters", ())) - {model.eps}


def _hamiltonian_checks(H: Hamiltonian, T: Tilted, model: Any, fast: Any, tol: float,
                        grid: int | None, own_average: bool = False
                        ) -> tuple[list[Check], tuple[Average, ...]]:
    """The checks of a Hamiltonian, and the averages of the averaged drift they use (from
    the averaging reduction: :math:`F = \\langle f\\rangle` with its integrand and law).

    ``own_average``: the numeric route computes :math:`\\langle f\\rangle` itself (from
    its ground state at :math:`p = 0`, ``fn.average``), and the averaging engine is not
    asked (its closed forms do not exist where that route is taken)."""
    checks: list[Check] = []
    zero = {p: 0 for p in H.momentum}
    avg = None
    averages: tuple[Average, ...] = ()
    try:
        if own_average:
            raise SymavgError("the numeric route averages with its own ground state")
        from .engine import reduce as _reduce

        red = _reduce(model, fast=None if isinstance(model, SwitchingSDE) else list(T.fast))
        if tuple(red.state) == tuple(H.slow):
            avg = sp.Matrix(red.drift)
            averages = tuple(a for st in red.steps if st.name == "solvability"
                             for a in st.averages if a.label.startswith("F"))
    except SymavgError:
        avg = None
    sample = _sample_params(_model_symbols(model) - set(H.params), seed=11)
    prm = {**sample, **H.params}
    rng = np.random.default_rng(3)
    xs = [rng.uniform(0.2, 0.8, H.dim) for _ in range(3)]
    if H.expr is not None:
        checks.append(zero_check("H(x, 0) = 0", H.expr.subs(zero)))
        if avg is not None:
            grad = sp.Matrix([sp.diff(H.expr, p).subs(zero) for p in H.momentum])
            checks.append(zero_check("dH/dp(x, 0) = averaged drift", grad - avg))
    fn = H.numeric(prm) if (H.expr is not None or H._numeric is not None) else None
    if fn is not None and H.expr is None:
        worst = max(abs(fn(x, np.zeros(H.dim))) for x in xs)
        checks.append(Check("H(x, 0) = 0", worst < 10 * tol, "numeric",
                            f"max |H(x, 0)| = {worst:.1e} at 3 points, params {_fmt(prm)}"))
        ref = _averaged_drift_at(avg, H.slow, prm, xs) if avg is not None else None
        label = "dH/dp(x, 0) = averaged drift"
        if ref is None and hasattr(fn, "average"):
            ref = [fn.average(x) for x in xs]
            label = "dH/dp(x, 0) = <f> under the grid's fast law (ground state at p = 0)"
        if ref is not None:
            h = 1e-3
            worst = 0.0
            for x, r in zip(xs, ref):
                for k in range(H.dim):
                    e = np.zeros(H.dim)
                    e[k] = h
                    d = (fn(x, e) - fn(x, -e)) / (2 * h)
                    worst = max(worst, abs(d - r[k]))
            checks.append(Check(label, worst < 1e-3 + 100 * tol,
                                "numeric", f"max difference {worst:.1e} (central differences)"))
    if fn is not None:
        worst = 0.0
        ok = True
        for x in xs:
            for _ in range(4):
                p1, p2 = rng.normal(size=H.dim), rng.normal(size=H.dim)
                try:
                    mid = fn(x, (p1 + p2) / 2)
                    ends = (fn(x, p1) + fn(x, p2)) / 2
                except (FloatingPointError, ValueError, ZeroDivisionError):
                    continue
                if not (np.isfinite(mid) and np.isfinite(ends)):
                    continue
                worst = min(worst, ends - mid)
        ok = worst > -(1e-9 if H.expr is not None else 10 * tol)
        checks.append(Check("H convex in p", ok, "numeric",
                            f"min of (H(p1)+H(p2))/2 - H((p1+p2)/2) = {worst:.1e} at 12 pairs"))
    if fn is not None and hasattr(fn, "residual"):
        worst = max(fn.residual(x, np.full(H.dim, q)) for x in xs for q in (-0.5, 0.5))
        checks.append(Check("Riccati residual K A K + K B + B^T K + 2 V_2 = 0", worst < 1e-9,
                            "numeric", f"max relative residual {worst:.1e} at 6 points"))
    if grid is not None and fn is not None and hasattr(fn, "eig"):
        x, p = xs[0], np.full(H.dim, 0.5)
        e1, e2 = fn.eig(x, p, grid), fn.eig(x, p, 2 * grid)
        q = 2 ** getattr(fn, "order", 2) - 1      # Richardson: the error of lambda_2n
        err = abs(e2 - e1) / q
        checks.append(Check("grid converged", err < tol, "numeric",
                            f"|lambda_2n - lambda_n|/{q} = {err:.1e} at p = 0.5 (tol {tol:g})"))
        if hasattr(fn, "box_check"):
            b1, b2 = fn.box_check(x, p)
            checks.append(Check("box large enough", abs(b2 - b1) < tol, "numeric",
                                f"the eigenvalue on a box 5/4 as large differs by "
                                f"{abs(b2 - b1):.1e} at p = 0.5 (tol {tol:g})"))
    return checks, averages


def _averaged_drift_at(avg: sp.Matrix, slow: tuple, prm: Mapping, xs: list
                       ) -> list[np.ndarray] | None:
    """The averaged drift at the points ``xs``, or None when it cannot be evaluated
    numerically (an average the engine left as a multiple improper integral)."""
    avg_p = avg.subs(prm)
    try:
        if avg_p.atoms(sp.Integral):
            out = [np.array([complex(sp.N(e.subs(dict(zip(slow, x))))) for e in avg_p])
                   for x in xs]
        else:
            af = sp.lambdify([slow], avg_p, "numpy")
            out = [np.asarray(af(tuple(x)), complex).ravel() for x in xs]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not all(np.all(np.isfinite(r)) and np.all(np.abs(r.imag) < 1e-9) for r in out):
        return None
    return [r.real for r in out]


def _fmt(prm: Mapping) -> str:
    return "{" + ", ".join(f"{k}: {float(v):.3g}" for k, v in prm.items()) + "}"


# ------------------------------------------------------------ rate function
def _as_hamiltonian(obj: Any, kwargs: dict) -> Hamiltonian:
    if isinstance(obj, Hamiltonian):
        return obj
    return hamiltonian(obj, **kwargs)


def rate_function(model: SDE | SwitchingSDE | Hamiltonian,
                  velocity: Sequence[sp.Symbol] | sp.Symbol | None = None,
                  **kwargs: Any) -> RateFunction:
    r"""The rate function :math:`L(x, v) = \sup_p\,(p\cdot v - H(x, p))`.

    Symbolic when :math:`\nabla_p H(x, p) = v` can be solved for ``p``
    (checked by substitution, and :math:`L(x, \langle f\rangle) = 0`); numeric
    otherwise (:meth:`RateFunction.evaluate`). The domain where ``L`` is finite
    is the closure of the range of :math:`\nabla_p H`: for a finite chain
    without slow noise the convex hull of the drifts :math:`f_i(x)`
    (:math:`[\min f_i, \max f_i]` in one dimension); all of
    :math:`\mathbb R^d` with slow noise or a Gaussian fast process.

    Parameters
    ----------
    model : SDE, SwitchingSDE or Hamiltonian
    velocity : Symbol or list of Symbol, optional
        Default ``v_{x}``, one per slow variable.
    **kwargs : passed to :func:`hamiltonian` when ``model`` is a declaration.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x, v = sp.symbols("x v", real=True)
    >>> lam = sp.Symbol("lambda", positive=True)
    >>> chain = sa.MarkovChain({("-", "+"): lam / sa.epsilon, ("+", "-"): lam / sa.epsilon})
    >>> tel = sa.SwitchingSDE([x], chain, drift={"-": -1, "+": 1})
    >>> L = sa.ldp.rate_function(tel, velocity=v)
    >>> L.expr, L.domain
    (lambda*(1 - sqrt(1 - v**2)), Interval(-1, 1))
    """
    H = _as_hamiltonian(model, kwargs)
    if velocity is None:
        velocity = tuple(sp.Symbol(f"v_{{{s}}}", real=True) for s in H.slow)
    elif isinstance(velocity, sp.Symbol):
        velocity = (velocity,)
    velocity = tuple(velocity)
    if len(velocity) != H.dim:
        raise LDPError(f"velocity needs one symbol per slow variable {list(H.slow)}")
    taken = user_names([*H.slow, *H.momentum] + ([H.expr] if H.expr is not None else [])
                       + H.tilted.coefficients())
    clash = [w for w in velocity if w.name in taken]
    if clash:
        raise LDPError(f"the velocity symbols {clash} clash with the symbols or functions of "
                       "the Hamiltonian's model of the same name (they would print the same): "
                       "choose fresh ones with velocity=[...]")
    domain = _domain(H, velocity)
    steps = list(H.steps)
    expr, pstar = None, None
    two = _legendre_two_state(H, velocity) if H.expr is not None else None
    if two is not None:
        expr, pstar, chk = two
        steps.append(Step("Legendre transform", r"Two states without slow noise: the "
                          r"velocity fixes the occupation $\mu_A = (v - f_B)/(f_A - f_B)$, "
                          r"$\mu_B = 1 - \mu_A$, and $L$ is the Donsker-Varadhan rate "
                          r"$(\sqrt{q_{AB}\mu_A} - \sqrt{q_{BA}\mu_B})^2$ of that "
                          r"occupation (contraction principle); $p^* = \partial_v L$.",
                          (("p^*", sp.Matrix(pstar)), ("L", expr)), tuple(chk),
                          "two-state Donsker-Varadhan"))
    elif H.expr is not None:
        expr, pstar, chk = _legendre_symbolic(H, velocity)
        if expr is not None:
            steps.append(Step("Legendre transform", r"$L = p^*\cdot v - H(x, p^*)$ with "
                              r"$\nabla_p H(x, p^*) = v$.", (("p^*", sp.Matrix(pstar)),
                                                             ("L", expr)), tuple(chk),
                              "symbolic Legendre transform"))
    if expr is None:
        steps.append(Step("Legendre transform", r"No closed form: $L(x, v) = \sup_p (p\cdot v "
                          "- H)$ is maximised numerically (a convex problem) at each point.",
                          (), (), "numeric Legendre transform"))
    steps.append(Step("domain", "Where the rate function is finite.",
                      (("D", domain),) if isinstance(domain, sp.Basic) else (), (),
                      "domain"))
    made = RateFunction(expr, velocity, pstar, domain, H, Derivation("rate function",
                                                                      tuple(steps)))

    def probe() -> tuple[str, float]:
        # a velocity a little off the averaged drift dH/dp(x, 0), where L is finite
        xs = _probe_point(H.dim, 0.5)
        fn, h = H.numeric(), 1e-4
        drift = [(fn(np.array(xs), h * e) - fn(np.array(xs), -h * e)) / (2 * h)
                 for e in np.eye(H.dim)]
        vs = [float(d) + 0.05 for d in drift]
        return f"evaluate({xs!r}, {vs!r})", made.evaluate(xs, vs)

    origin = _origin(_after(H), "rate_function", "H", {"velocity": list(velocity)}, expr,
                     probe)
    return RateFunction(expr, velocity, pstar, domain, H,
                        Derivation("rate function", tuple(steps), origin))


def _domain(H: Hamiltonian, velocity: tuple) -> Any:
    model = H.model
    pure_chain = isinstance(model, SwitchingSDE) and not H.tilted.state
    noisy = any(not a.is_zero_matrix for a in _slow_diffusions(H))
    if pure_chain and not noisy:
        drifts = [sp.Matrix(model.drift_in(lab)) for lab in model.chain.states]
        if H.dim == 1:
            vals = [sp.simplify(d[0]) for d in drifts]
            return sp.Interval(sp.Min(*vals), sp.Max(*vals))
        return ("convex hull of the drifts f_i(x): "
                + ", ".join(str(list(d)) for d in drifts))
    return sp.S.Reals if H.dim == 1 else sp.ProductSet(*([sp.S.Reals] * H.dim))


def _slow_diffusions(H: Hamiltonian) -> list:
    out = []
    for part in H.tilted.potential_parts:
        out.append(sp.Matrix(sp.hessian(part.potential, H.momentum)))
    return out


def _in_domain(domain: Any, velocity: tuple, v: np.ndarray, x: np.ndarray, H: Hamiltonian,
               prm: Mapping) -> bool:
    if isinstance(domain, sp.Interval):
        d = domain.subs(prm).subs(dict(zip(H.slow, x)))
        lo, hi = float(sp.N(d.inf)), float(sp.N(d.sup))
        return lo - 1e-12 <= v[0] <= hi + 1e-12
    return True


def _legendre_two_state(H: Hamiltonian, velocity: tuple) -> tuple | None:
    r"""The rate function of a two-state fast chain without slow noise, in closed form.

    One slow variable, drifts :math:`f_A \ne f_B`, rates :math:`q_{AB}, q_{BA}`: the
    velocity :math:`v` fixes the occupation :math:`\mu_A = (v - f_B)/(f_A - f_B)`, and
    by the contraction principle (Dembo & Zeitouni, *Large Deviations Techniques and
    Applications*, Thm. 4.2.1) :math:`L(x, v)` is the Donsker-Varadhan rate of that
    occupation, :math:`(\sqrt{q_{AB}\mu_A} - \sqrt{q_{BA}\mu_B})^2` (a two-state chain
    is reversible; den Hollander, *Large Deviations*, sec. IV.4). Checked against the
    numeric Legendre transform of ``H`` and by :math:`\partial_p H(x, p^*) = v`,
    :math:`L(x, \langle f\rangle) = 0` at sample points. ``None`` when the model is
    not of this form."""
    model = H.model
    if (H.dim != 1 or not isinstance(model, SwitchingSDE) or H.tilted.state
            or len(model.chain.states) != 2
            or any(not d.is_zero_matrix for d in _slow_diffusions(H))):
        return None
    (v,) = velocity
    A, B = H.tilted.jump.states
    fA, fB = (sp.sympify(sp.Matrix(model.drift_in(s))[0]) for s in (A, B))
    if sp.simplify(fA - fB) == 0:
        return None
    Q = H.tilted.jump.rates
    qAB, qBA = Q[0, 1], Q[1, 0]
    muA, muB = (v - fB) / (fA - fB), (fA - v) / (fA - fB)
    L = qAB * muA + qBA * muB - 2 * sp.sqrt(sp.factor(sp.expand(qAB * qBA * muA * muB)))
    inside = _inside_point(H, velocity)
    L = _tidy_radicals(_tidy(L), velocity, inside)
    pstar = (_tidy(sp.diff(L, v)),)
    # checks at sample parameters, slow points and interior velocities
    prm = _sample_params(_model_symbols(model) - set(H.params), seed=13)
    prm.update(H.params)
    Hn = H.numeric(prm)
    Lf = sp.lambdify([H.slow, velocity], L.subs(prm), "numpy")
    Pf = sp.lambdify([H.slow, velocity], pstar[0].subs(prm), "numpy")
    dH = sp.lambdify([H.slow, H.momentum], sp.diff(H.expr, H.momentum[0]).subs(prm), "numpy")
    fa, fb = (sp.lambdify([H.slow], e.subs(prm), "numpy") for e in (fA, fB))
    rng = np.random.default_rng(13)
    worst_l, worst_g, worst_0 = 0.0, 0.0, 0.0
    for xv in rng.uniform(0.2, 0.8, 3):
        xs = np.array([xv])
        lo, hi = sorted((float(fa((xv,))), float(fb((xv,)))))
        for t in (0.2, 0.5, 0.8):
            vv = np.array([lo + t * (hi - lo)])
            ref, _ = legendre_numeric(Hn, xs, vv)
            val = float(np.real(Lf((xv,), (vv[0],))))
            worst_l = max(worst_l, abs(val - ref) / max(1.0, abs(ref)))
            ps = float(np.real(Pf((xv,), (vv[0],))))
            worst_g = max(worst_g, abs(float(dH((xv,), (ps,))) - vv[0]))
        g = H.numeric(prm)
        h = 1e-6
        mean_v = (g(xs, np.array([h])) - g(xs, np.array([-h]))) / (2 * h)
        worst_0 = max(worst_0, abs(float(np.real(Lf((xv,), (mean_v,))))))
    checks = [Check("L = sup_p (p v - H) (numeric Legendre transform)", bool(worst_l < 1e-6),
                    "numeric", f"max relative difference {worst_l:.1e} at 9 points, "
                    f"params {_fmt(prm)}"),
              Check("grad_p H(x, p*) = v", bool(worst_g < 1e-8), "numeric",
                    f"max |residual| = {worst_g:.1e} at 9 points"),
              Check("L(x, <f>) = 0", bool(worst_0 < 1e-8), "numeric",
                    f"max |L| = {worst_0:.1e} at 3 points")]
    return L, pstar, checks


def _legendre_symbolic(H: Hamiltonian, velocity: tuple) -> tuple:
    e = H.expr
    ps = H.momentum
    eqs = [sp.diff(e, p) - v for p, v in zip(ps, velocity)]
    try:
        sols = sp.solve(eqs, ps, dict=True, check=False)
    except (NotImplementedError, sp.PolynomialError):
        return None, None, []
    checks: list[Check] = []
    f_avg = [sp.diff(e, p).subs({q: 0 for q in ps}) for p in ps]
    for sol in sols:
        pstar = tuple(sp.simplify(sol[p]) for p in ps)
        # the branch: the gradient equation holds, and p* vanishes at the mean velocity
        at_mean = [sp.simplify(ph.subs(dict(zip(velocity, f_avg)))) for ph in pstar]
        if any(a != 0 for a in at_mean):
            ok, _ = numeric_zero(sp.Add(*[a**2 for a in at_mean]))
            if not ok:
                continue
        res = [sp.diff(e, p).subs(dict(zip(ps, pstar))) - v for p, v in zip(ps, velocity)]
        ok, detail = numeric_zero(sp.Add(*[r**2 for r in res]),
                                  extra=_inside_point(H, velocity))
        if not ok:
            continue
        inside = _inside_point(H, velocity)
        pstar = tuple(_tidy_radicals(ph, velocity, inside) for ph in pstar)
        L = sum(p * v for p, v in zip(pstar, velocity)) - e.subs(dict(zip(ps, pstar)))
        L = _tidy_radicals(_tidy(L), velocity, inside)
        checks.append(Check("grad_p H(x, p*) = v", True, "numeric", detail))
        checks.append(zero_check("L(x, <f>) = 0", L.subs(dict(zip(velocity, f_avg)))))
        grad = [sp.diff(L, v) - p for v, p in zip(velocity, pstar)]
        ok, detail = _interior_zero(sp.Add(*[r**2 for r in grad]), velocity, inside)
        checks.append(Check("grad_v L = p*", ok, "numeric", detail))
        return L, pstar, checks
    return None, None, []


def _inside_point(H: Hamiltonian, velocity: tuple) -> dict:
    """A velocity inside the domain (a mean of the drifts), for spot checks."""
    dom = _domain(H, velocity)
    if isinstance(dom, sp.Interval):
        return {velocity[0]: (dom.inf * 3 + dom.sup * 2) / 5}
    return {}


def _tidy(e: sp.Expr) -> sp.Expr:
    simple = sp.simplify(e)   # once: it was computed twice (a third of _tidy's time)
    cands = [simple, sp.factor(simple)]
    try:
        cands.append(sp.simplify(sp.radsimp(e)))
    except (TypeError, ValueError):
        pass
    return min(cands, key=sp.count_ops)


def _near_check(e: sp.Expr, x: sp.Symbol, start: sp.Expr, trials: int = 3) -> tuple[bool, str]:
    """``e == 0`` at points ``x`` near ``start``, at random parameter values (the
    nonzero root of ``H = 0`` is the Perron root's only near the attractor)."""
    worst = 0.0
    for k in range(trials):
        prm = _sample_params((e.free_symbols | start.free_symbols) - {x}, seed=20 + k)
        x0 = complex(sp.N(start.subs(prm))).real
        for d in (-0.1, 0.1):
            pt = x0 + d * (abs(x0) + 0.1)
            try:
                val = abs(complex(sp.N(e.subs(prm).subs(x, pt))))
            except (TypeError, ValueError):
                return False, "could not be evaluated"
            worst = max(worst, val)
    return worst < 1e-9, f"max |residual| = {worst:.1e} at {2 * trials} points near x0"


def _interior_zero(e: sp.Expr, velocity: tuple, inside: dict) -> tuple[bool, str]:
    """``e == 0`` at random parameter values and velocities inside the domain."""
    if not inside:
        return numeric_zero(e)
    worst = 0.0
    for k in range(3):
        prm = _sample_params(e.free_symbols - set(velocity), seed=40 + k)
        pt = {v: sp.sympify(val).subs(prm) * sp.Rational(k + 1, 3) for v, val in inside.items()}
        try:
            worst = max(worst, abs(complex(sp.N(e.subs(prm).subs(pt)))))
        except (TypeError, ValueError):
            return False, "could not be evaluated"
    return worst < 1e-9, f"max |residual| = {worst:.1e} at 3 points inside the domain"


def _tidy_radicals(e: sp.Expr, velocity: tuple, inside: dict) -> sp.Expr:
    """Shorter forms of ``e`` with its square roots rewritten, each accepted only
    when it equals ``e`` at points inside the domain (where ``e`` is real).

    ``sqrt(c/u) -> sqrt(-c)/sqrt(-u)`` for a negative ``u``, and a root
    ``w = sqrt(u(v))`` taken as the variable (``v`` eliminated through ``u(v) = w**2``)."""
    if len(velocity) != 1:
        return e
    v = velocity[0]
    pts = [inside.get(v, sp.Rational(1, 3))] if inside else [sp.Rational(1, 3)]
    pts = pts + [p * sp.Rational(1, 2) for p in pts] + [-p * sp.Rational(1, 3) for p in pts]

    def same(c: sp.Expr) -> bool:
        for pt in pts:
            subs = {v: pt}
            syms = (e.free_symbols | c.free_symbols) - {v}
            subs.update(_sample_params(syms, seed=5))
            try:
                a, b = complex(sp.N(e.subs(subs))), complex(sp.N(c.subs(subs)))
            except (TypeError, ValueError):
                return False
            if not (abs(a - b) < 1e-9 * (1 + abs(a)) and abs(a.imag) < 1e-9):
                return False
        return True

    def split(a: sp.Pow) -> sp.Expr:
        num, den = sp.fraction(sp.together(a.base))
        return sp.sqrt(sp.expand(-num)) / sp.sqrt(sp.expand(-den))

    cands = [e]
    c1 = e.replace(lambda a: a.is_Pow and a.exp == sp.S.Half
                   and sp.fraction(sp.together(a.base))[1] != 1, split)
    cands.append(_factor_rational(c1))
    for base in [c1] + [sp.simplify(c1)]:
        for r in [a for a in base.atoms(sp.Pow) if a.exp == sp.S.Half and a.has(v)]:
            w = sp.Dummy("w", positive=True)
            ew = base.subs(r, w)
            try:
                sols = sp.solve(sp.Eq(r.base, w**2), v)
            except NotImplementedError:
                continue
            for sol in sols:
                c = _factor_rational(sp.cancel(ew.subs(v, sol)))
                if not c.has(v):
                    cands.append(_factor_rational(c.subs(w, r)))
    cands += [_flip_sign(c) for c in cands]
    good = [c for c in cands if same(c)]
    return min(good, key=lambda c: (sp.count_ops(c), str(c).startswith("-"))) if good else e


def _factor_rational(e: sp.Expr) -> sp.Expr:
    """``sp.factor`` over the rationals only: an expression with ``I`` (a square root of a
    negative quantity) would be factored over the Gaussian rationals and algebraic
    extensions, which took 90 s on the asymmetric two-state chain; it is returned as is."""
    if e.has(sp.I):
        return e
    return sp.factor(e)


def _flip_sign(e: sp.Expr) -> sp.Expr:
    """``-a (b - c)`` written as ``a (c - b)``."""
    if not isinstance(e, sp.Mul) or not e.could_extract_minus_sign():
        return e
    adds = [f for f in e.args if isinstance(f, sp.Add)]
    if len(adds) != 1:
        return e
    rest = [f for f in e.args if f is not adds[0]]
    return sp.Mul(-sp.Mul(*rest), sp.expand(-adds[0]))


def legendre_numeric(Hfn: Callable, x: np.ndarray, v: np.ndarray,
                     p0: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    r""":math:`\sup_p (p\cdot v - H(x, p))` and its maximiser, by :func:`scipy.optimize.minimize`.

    Returns ``(inf, p)`` when the supremum is unbounded (``v`` outside the
    domain): detected as the objective decreasing without bound along the
    optimiser's path.
    """
    from scipy.optimize import minimize

    d = len(v)

    def obj(p: np.ndarray) -> float:
        val = Hfn(x, p) - float(np.dot(p, v))
        return val if np.isfinite(val) else 1e300

    start = np.zeros(d) if p0 is None else np.asarray(p0, float)
    r = minimize(obj, start, method="BFGS", options={"gtol": 1e-10, "maxiter": 400})
    best = -float(r.fun)
    # an unbounded supremum drives |p| up: confirm by doubling p
    pbig = r.x * 4 if np.linalg.norm(r.x) > 0 else r.x
    if np.linalg.norm(r.x) > 1e3 or (np.linalg.norm(r.x) > 50 and -obj(pbig) > best + 1e-6):
        return float("inf"), r.x
    return best, r.x


# ------------------------------------------------------------ quasipotential
def quasipotential(model: SDE | SwitchingSDE | Hamiltonian, start: object | None = None,
                   variable: sp.Symbol | None = None, *, at: Sequence[float] | None = None,
                   params: Mapping | None = None, n: int = 60,
                   **kwargs: Any) -> Quasipotential | Any:
    r"""The quasipotential in one slow dimension, in closed form.

    .. math:: V(x) = \int_{x_0}^{x} p^*(z)\,dz, \qquad H(z, p^*(z)) = 0,\ p^* \ne 0,

    relative to the stable point ``start`` of the averaged drift (Freidlin &
    Wentzell Ch. 4 and 7; for a PDMP Faggionato, Gabrielli & Ribezzi Crivellari
    2010). For a finite chain ``H = 0`` reads :math:`\det M(z, p) = 0`, a
    polynomial in ``p`` with the root ``p = 0`` factored out.

    With more slow variables, or no closed form, give ``at=`` (a point) and
    ``params=``: the quasipotential of that point is the action of the
    minimum-action path from ``start`` (:func:`symavg.ldp.minimum_action_path`
    with ``n`` segments), which is returned.

    Examples
    --------
    The two-state PDMP :math:`\dot x = s - x`, :math:`s: 0\to1` at rate
    :math:`a/\epsilon`, :math:`1\to0` at rate :math:`b/\epsilon`:

    >>> import sympy as sp, symavg as sa
    >>> x = sp.Symbol("x", real=True)
    >>> a, b = sp.symbols("a b", positive=True)
    >>> ch = sa.MarkovChain({(0, 1): a / sa.epsilon, (1, 0): b / sa.epsilon})
    >>> pdmp = sa.SwitchingSDE([x], ch, drift={0: -x, 1: 1 - x})
    >>> qp = sa.ldp.quasipotential(pdmp, start=a / (a + b))
    >>> sp.simplify(sp.diff(qp.expr, x) - (b / (1 - x) - a / x))
    0
    """
    if isinstance(model, Hamiltonian):
        H = model
    else:
        H = hamiltonian(model, params=params, **kwargs)
    if at is not None or H.dim != 1 or (H.expr is None and H.characteristic is None):
        if at is None or start is None:
            raise LDPError(f"the closed-form quasipotential is for one slow variable with a "
                           f"closed-form Hamiltonian; here ({list(H.slow)}, {H.strategy}) give "
                           "start= and at= (points) to compute it along the minimum-action path")
        from ..numeric.min_action import minimum_action_path

        x0 = [float(sp.N(sp.sympify(c).subs(_params(H.params, params))))
              for c in np.atleast_1d(np.asarray(start, dtype=object))]
        return minimum_action_path(H, x0, at, n=n, params=params)
    x = H.slow[0] if variable is None else variable
    p = H.momentum[0]
    if start is None:
        raise LDPError("give start=, the stable point of the averaged drift")
    start = sp.sympify(start)
    if H.characteristic is not None:
        lam = sp.Symbol("lambda_H")
        eq = sp.factor(H.characteristic.subs(lam, 0))
    elif H.expr is not None:
        eq = sp.factor(H.expr)
    else:
        raise UnsolvedError("the Hamiltonian has no closed form: the quasipotential is computed "
                            "numerically along sa.ldp.minimum_action_path")
    eq = sp.factor(sp.cancel(eq / p)) if sp.cancel(eq.subs(p, 0)) == 0 else eq
    roots = [r for r in sp.solve(eq, p) if sp.simplify(r) != 0]
    if not roots:
        raise UnsolvedError(f"H(x, p) = 0 has no nonzero root in p: {eq}")
    chosen = None
    for r in roots:
        r = _tidy(r)
        if H.expr is None or _near_check(H.expr.subs(p, r), x, start)[0]:
            chosen = r
            break
    if chosen is None:
        raise UnsolvedError("no nonzero root of H(x, p) = 0 passed the substitution check")
    from .integrals import partial_fraction_antiderivative

    F = partial_fraction_antiderivative(chosen, x)
    F = sp.integrate(chosen, x) if F is None else F
    if F.has(sp.Integral):
        z = sp.Dummy("z")
        V = sp.Integral(chosen.subs(x, z), (z, start, x))
    else:
        # real logarithms near the attractor: log(u) -> log(-u) where u(x0) < 0 (a constant)
        prm = _sample_params(F.free_symbols - {x}, seed=3)

        def real_log(a: sp.log) -> sp.Expr:
            u = a.args[0]
            val = complex(sp.N(u.subs(x, start).subs(prm)))
            return sp.log(sp.expand(-u)) if val.real < 0 else a
        F = F.replace(lambda a: isinstance(a, sp.log), real_log)
        V = _tidy(sp.expand_log(F - F.subs(x, start), force=True))
    checks = [zero_check("dV/dx = p*(x)", sp.diff(V, x) - chosen), zero_check("V(x0) = 0",
                                                                                V.subs(x, start))]
    if H.expr is not None:
        ok, detail = _near_check(H.expr.subs(p, sp.diff(V, x)), x, start)
        checks.append(Check("H(x, V'(x)) = 0", ok, "numeric", detail))
    else:
        lam = sp.Symbol("lambda_H")
        checks.append(zero_check("det M(x, V'(x)) = 0",
                                 H.characteristic.subs({lam: 0, p: sp.diff(V, x)})))
    step = Step("quasipotential", r"One slow variable: the optimal fluctuation path has "
                r"momentum $p^*(x) \ne 0$ on $H(x, p^*) = 0$, and $V(x) = \int_{x_0}^x p^*$.",
                (("p^*", chosen), ("V", V)), tuple(checks), "1-D quasipotential")
    given = {"start": start, **({"variable": variable} if variable is not None else {})}
    origin = _origin(_after(H), "quasipotential", "H", given, V)
    return Quasipotential(V, x, start, chosen, H,
                          Derivation("quasipotential", tuple(H.steps) + (step,), origin))
