r"""Generated time-stepping kernels for ensembles of an Itô SDE.

One module of Python source is generated per model and scheme and imported
from the cache folder (:func:`symavg.numeric.codegen.load_source`). It holds

* ``update(z..., xi..., dt, sqdt, a..., p...)``: one step for one path
  (scalars, inside numba) or for all paths of a chunk (arrays, NumPy): the
  same straight-line text serves both;
* ``run(Z, p, dt, nsteps, save_steps, out, rng, active, check_every, anti, sums)``:
  the loop over steps and paths, saving the state at ``save_steps`` into ``out``
  and returning ``(step, paths)`` of the first blow-up, or ``(-1, 0)``; with
  ``anti = 1`` the paths come in antithetic pairs (path ``2j + 1`` takes the negated
  normals of path ``2j``), and ``sums`` (shape ``(r, P)``) accumulates the normals
  of the first ``r`` columns of every path (for control variates);
* ``rates(z..., p...)``: the drift and the diffusive rates on circles, used to
  choose the step.

Schemes, per variable :math:`z_i` with :math:`dz_i = b_i\,dt + \sum_k
\sigma_{ik}\,dW_k`:

* Euler-Maruyama: :math:`z_i + b_i\,\Delta t + \sum_k\sigma_{ik}\Delta W_k`.
* Exponential (exact Ornstein-Uhlenbeck) step for a fast variable whose drift
  is linear in itself, :math:`b_i = c - \lambda z_i` with :math:`\lambda`,
  :math:`c`, :math:`\sigma_{ik}` free of :math:`z_i` (frozen over the step):

  .. math::

      z_i \mapsto z_i e^{-\lambda\Delta t} + c\,\frac{1-e^{-\lambda\Delta t}}{\lambda}
        + \sum_k \sigma_{ik} I_k, \qquad
      I_k = \int_t^{t+\Delta t} e^{-\lambda(t+\Delta t-s)}\,dW_k(s).

  When the Brownian motion :math:`W_k` also drives another equation,
  :math:`(\Delta W_k, I_k)` is drawn jointly:
  :math:`\operatorname{cov}(I_k,\Delta W_k) = (1-e^{-\lambda\Delta t})/\lambda`,
  :math:`\operatorname{var} I_k = (1-e^{-2\lambda\Delta t})/(2\lambda)`. Exact for
  OU processes with any step, so stiff linear fast processes need not be
  resolved with tiny steps.
* Milstein for diagonal noise (each :math:`W_k` drives one equation):
  :math:`+\frac12\sigma_{ik}\,\partial_{z_i}\sigma_{ik}\,(\Delta W_k^2-\Delta t)`.
* ``weak2``: Platen's explicit order-2.0 weak scheme for commutative noise
  (Kloeden & Platen 1992, Sec. 15.1, eq. (15.1.3)) with Gaussian increments, for every
  variable (meant for reduced models, which have no fast scale): weak order 2 against
  Euler-Maruyama's 1, from evaluations of the coefficients at supporting values
  (:func:`_weak2_increments`).

Periodic variables are wrapped to :math:`[0, L)` after each step. The normals
of one step are drawn path by path in a fixed order, so the numba and the
NumPy kernels consume the same random stream and agree to rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..errors import ModelError
from .codegen import hoist_parameter_functions, straight_line
from .plan import ModelCoefficients
from .tabulate import CLENSHAW_SOURCE, TableSpec, tabulate_integrals

SCHEMES = ("auto", "euler", "exact-ou", "milstein", "weak2")


class Phi1(sp.Function):
    r""":math:`\varphi_1(z) = (e^z - 1)/z`, with :math:`\varphi_1(0) = 1`; printed as a call
    to ``_phi1`` (:data:`PHI1_SOURCE`), so the exponential step has no 0/0 where the
    rate vanishes."""


#: the helper the generated kernels call (scalars in numba, arrays in NumPy)
PHI1_SOURCE = """
def _phi1(z):
    zero = z == 0
    return numpy.expm1(z) / (z + zero) + zero
"""


@dataclass(frozen=True)
class KernelSource:
    """Generated source of a stepping kernel and what it expects.

    Attributes
    ----------
    source : str
        The module text.
    nrand : int
        Standard normals drawn per path and step.
    derived : tuple of (Symbol, Expr)
        Parameter-only expressions computed before a run (appended to ``p``).
    schemes : dict {Symbol: str}
        The scheme used for each variable.
    tables : tuple of TableSpec
        Coefficients without closed form, tabulated in one state variable
        (their interval and Chebyshev coefficients follow the derived values in ``p``).
    """

    source: str
    nrand: int
    derived: tuple[tuple[sp.Symbol, sp.Expr], ...]
    schemes: dict[sp.Symbol, str]
    tables: tuple[TableSpec, ...] = ()


def _linear_rate(b: sp.Expr, z: sp.Symbol, sig: list[sp.Expr]) -> tuple[sp.Expr, sp.Expr] | None:
    """``(lam, c)`` with ``b = c - lam z`` when ``b`` is linear in ``z`` and the noise is
    free of ``z``; otherwise ``None``."""
    if any(s.has(z) for s in sig):
        return None
    lam = -sp.diff(b, z)
    if lam == 0 or lam.has(z):
        return None
    c = sp.expand(b + lam * z)
    if c.has(z):
        c = sp.simplify(c)
        if c.has(z):
            return None
    return lam, c


def build_kernel(co: ModelCoefficients, scheme: str = "auto", backend: str = "numpy",
                 table_nodes: int = 32, pair: bool = False) -> KernelSource:
    """Generate the stepping kernel of ``co`` for ``scheme`` and ``backend``.

    ``pair=True`` adds ``run_pair``, which advances two copies of each path, one
    with the step ``dt`` and one with ``2 dt``, on the same Brownian path (see
    :func:`_coarse_normals`), for a time-step check whose difference has small
    variance.
    """
    if scheme not in SCHEMES:
        raise ModelError(f"scheme must be one of {SCHEMES}; got {scheme!r}")
    n, m = len(co.state), co.m
    zs = [sp.Symbol(f"z{i}", real=True) for i in range(n)]
    ps = [sp.Symbol(f"p{i}", real=True) for i in range(len(co.parameters))]
    a = [sp.Symbol(f"a{i}", real=True) for i in range(n)]
    dt, sqdt = sp.Symbol("dt", positive=True), sp.Symbol("sqdt", positive=True)
    sub = dict(zip(co.state, zs)) | dict(zip(co.parameters, ps))
    b = [e.xreplace(sub) for e in co.drift]
    S = [[co.noise_entry(i, k).xreplace(sub) for k in range(m)] for i in range(n)]
    users = {k: [i for i in range(n) if S[i][k] != 0] for k in range(m)}

    # which variables take the exponential step
    expo: dict[int, tuple[sp.Expr, sp.Expr]] = {}
    if scheme in ("auto", "exact-ou"):
        taken: set[int] = set()
        for i, zv in enumerate(co.state):
            if zv not in co.fast and scheme == "auto":
                continue
            cols = [k for k in range(m) if S[i][k] != 0]
            if any(k in taken for k in cols):
                continue
            lin = _linear_rate(b[i], zs[i], [S[i][k] for k in cols])
            if lin is not None:
                expo[i] = lin
                taken |= set(cols)
        if scheme == "exact-ou" and not expo:
            raise ModelError(
                "scheme='exact-ou': no variable has a drift linear in itself with noise free of "
                "it; use scheme='euler'"
            )
    if scheme == "milstein":
        bad = [k for k in range(m) if len(users[k]) > 1]
        multi = [i for i in range(n) if sum(S[i][k] != 0 for k in range(m)) > 1]
        if bad or multi:
            raise ModelError(
                "scheme='milstein' needs diagonal noise (each Brownian motion drives one "
                f"equation, each equation one Brownian motion); here W{(bad or [0])[0] + 1} or "
                f"the equation of {co.state[(multi or [0])[0]]} breaks that. Use "
                "scheme='euler'."
            )
        cross = [i for i in range(n) for k in range(m)
                 if S[i][k].free_symbols & (set(zs) - {zs[i]})]
        if cross:
            raise ModelError(
                f"scheme='milstein' here needs the noise of {co.state[cross[0]]} to depend on "
                f"{co.state[cross[0]]} alone: noise that depends on other variables is not "
                "commutative and would need Levy areas. Use scheme='euler'."
            )

    if scheme == "weak2":
        _check_commutative(S, zs, co)

    xi = [sp.Symbol(f"xi{k}", real=True) for k in range(m)]
    extra: list[sp.Symbol] = []
    shared: dict[int, tuple[int, int]] = {}     # extra normal index -> (variable, column)
    new: list[sp.Expr] = []
    schemes: dict[sp.Symbol, str] = {}
    weak2 = _weak2_increments(b, S, zs, a, xi, dt, sqdt) if scheme == "weak2" else None
    for i in range(n):
        cols = [k for k in range(m) if S[i][k] != 0]
        if weak2 is not None:
            inc = weak2[i]
            schemes[co.state[i]] = "weak2"
        elif i in expo:
            lam, c = expo[i]
            e1 = dt * Phi1(-lam * dt)             # (1 - e^{-lam dt}) / lam, = dt at lam = 0
            var = dt * Phi1(-2 * lam * dt)        # (1 - e^{-2 lam dt}) / (2 lam)
            inc = (c - lam * zs[i]) * e1          # z (e^{-lam dt} - 1) + c (1 - e^{-lam dt})/lam
            for k in cols:
                if len(users[k]) == 1:
                    inc += S[i][k] * sp.sqrt(var) * xi[k]
                else:
                    x2 = sp.Symbol(f"xi{m + len(extra)}", real=True)
                    shared[m + len(extra)] = (i, k)
                    extra.append(x2)
                    inc += S[i][k] * ((e1 / dt) * sqdt * xi[k]
                                      + sp.sqrt(sp.Abs(var - e1**2 / dt)) * x2)
            schemes[co.state[i]] = "exact-ou"
        else:
            inc = b[i] * dt + sum((S[i][k] * sqdt * xi[k] for k in cols), sp.S.Zero)
            if scheme == "milstein":
                for k in cols:
                    inc += sp.Rational(1, 2) * S[i][k] * sp.diff(S[i][k], zs[i]) * dt * (
                        xi[k] ** 2 - 1)
                schemes[co.state[i]] = "milstein"
            else:
                schemes[co.state[i]] = "euler"
        new_i = zs[i] + a[i] * inc
        new.append(new_i)
    nrand = m + len(extra)

    # for the choice of the step: the drift (differentiated numerically by the caller,
    # never symbolically: a big drift has a much bigger derivative) and, on a circle of
    # length L, the diffusive rate a_ii (2 pi / L)^2
    rate_exprs = list(b)
    for i in range(n):
        if i in co.periodic:
            L = co.periodic[i].xreplace(sub)
            aii = sum((S[i][k] ** 2 for k in range(m)), sp.S.Zero)
            rate_exprs.append(aii * (2 * sp.pi / L) ** 2)
        else:
            rate_exprs.append(sp.S.Zero)
    wrap = {i: co.periodic[i].xreplace(sub) for i in co.periodic}

    exprs = new + rate_exprs + list(wrap.values())
    coarse: list[sp.Expr] = []
    if pair:
        coarse = _coarse_normals(m, nrand, expo, users, shared, dt)
        exprs = exprs + coarse
    state_like = zs + a + xi + extra + [dt, sqdt]
    if pair:
        state_like += [sp.Symbol(f"_x{h}{k}", real=True) for h in "ab" for k in range(nrand)]
    back = {v: k for k, v in sub.items()}
    exprs, tables = tabulate_integrals(exprs, zs, back, nodes=table_nodes)
    hoisted, derived = hoist_parameter_functions(exprs, state_like)
    derived = [(h, e.xreplace(back)) for h, e in derived]
    hs = [h for h, _ in derived]
    new_h = hoisted[:n]
    rate_h = hoisted[n:3 * n]
    wrap_h = dict(zip(wrap, hoisted[3 * n:3 * n + len(wrap)]))
    coarse_h = hoisted[3 * n + len(wrap):]

    invariant = set(ps) | set(hs) | set(a) | {dt, sqdt} | {
        s for t in tables for s in (t.lo, t.hi, *t.coeffs)}
    pre_lines, pre_names, upd_lines = _split_invariant(new_h, [f"n{i}" for i in range(n)],
                                                        invariant)
    for i, L in wrap_h.items():
        upd_lines.append(f"    n{i} = n{i} - ({_print(L)}) * numpy.floor(n{i} / ({_print(L)}))")
    rate_lines = straight_line(rate_h, [f"r{i}" for i in range(2 * n)])

    tsyms = [s for t in tables for s in (t.lo, t.hi, *t.coeffs)]
    pargs = [str(p) for p in ps] + [str(h) for h in hs] + [str(s) for s in tsyms]
    zargs = [str(z) for z in zs]
    xargs = [f"xi{k}" for k in range(nrand)]
    aargs = [f"a{i}" for i in range(n)]
    pre_sig = ", ".join(["dt", "sqdt"] + aargs + pargs)
    upd_sig = ", ".join(zargs + xargs + ["dt", "sqdt"] + aargs + pargs + pre_names)
    rate_sig = ", ".join(zargs + pargs)
    ret = ", ".join(f"n{i}" for i in range(n)) + ","
    rret = ", ".join(f"r{i}" for i in range(2 * n)) + ","
    pret = ", ".join(pre_names + ["0.0"]) + ","
    numba = backend == "numba"
    deco = "@njit(cache=True, nogil=True)\n" if numba else ""
    pair_parts = []
    if pair:
        xa = [sp.Symbol(f"xa{k}", real=True) for k in range(nrand)]
        xb = [sp.Symbol(f"xb{k}", real=True) for k in range(nrand)]
        ren = {sp.Symbol(f"_xa{k}", real=True): xa[k] for k in range(nrand)} | {
            sp.Symbol(f"_xb{k}", real=True): xb[k] for k in range(nrand)}
        coarse_lines = straight_line([e.xreplace(ren) for e in coarse_h],
                                     [f"q{k}" for k in range(nrand)])
        csig = ", ".join(zargs + [str(v) for v in xa + xb] + ["dt"] + pargs)
        cret = ", ".join(f"q{k}" for k in range(nrand)) + ","
        pair_parts = [
            f"\n\n{deco}def coarse_normals({csig}):\n"
            "    \"\"\"The normals of one step 2 dt from those of two steps dt (the same "
            "Brownian path).\"\"\"\n" + "\n".join(coarse_lines)
            + f"\n    return ({cret})\n\n\n",
            _run_pair_numba(n, nrand, len(pargs), len(pre_names)) if numba
            else _run_pair_numpy(n, nrand, len(pargs), len(pre_names))]
    parts = [
        f'"""Generated by symavg.numeric.kernel for {co.name}.\n\n'
        f"state: {list(co.state)}\nparameters: {list(co.parameters)} + derived {hs}\n"
        f"schemes: { {str(k): v for k, v in schemes.items()} }\n\"\"\"\n",
        "import math\nimport numpy\n",
        "from numba import njit\n" if numba else "",
        f"\nN = {n}\nNRAND = {nrand}\nNPRE = {len(pre_names)}\n\n",
        (("\n@njit(cache=True, nogil=True)" if numba else "") + CLENSHAW_SOURCE + "\n\n")
        if tables else "\n",
        (("\n@njit(cache=True, nogil=True)" if numba else "") + PHI1_SOURCE + "\n\n")
        if expo else "",
        (("\n@njit(cache=True, nogil=True)" if numba else "") + SAFE_RATIO_SOURCE + "\n\n")
        if pair and shared else "",
        f"{deco}def prepare({pre_sig}):\n    \"\"\"Loop invariants: computed once per run.\"\"\"\n"
        + "\n".join(pre_lines) + f"\n    return ({pret})\n\n\n",
        f"{deco}def update({upd_sig}):\n    \"\"\"One step of one path (scalars) or of all paths "
        "(arrays).\"\"\"\n" + "\n".join(upd_lines) + f"\n    return ({ret})\n\n\n",
        f"def rates({rate_sig}):\n" + "\n".join(rate_lines) + f"\n    return ({rret})\n\n\n",
        _run_numba(n, nrand, len(pargs), len(pre_names)) if numba
        else _run_numpy(n, nrand, len(pargs), len(pre_names)),
        *pair_parts,
    ]
    return KernelSource("".join(parts), nrand, tuple(derived), schemes, tuple(tables))


def noncommuting(S: Any, zs: Sequence[sp.Symbol]) -> tuple[int, int, int] | None:
    r"""The first ``(j1, j2, k)`` with :math:`L^{j_1}\sigma_{k j_2} \ne L^{j_2}\sigma_{k j_1}`,
    :math:`L^j = \sum_i \sigma_{ij}\partial_{z_i}` (Kloeden & Platen 1992, eq. (10.3.13)),
    or ``None`` when the noise matrix ``S`` (rows: the equations of ``zs``) is commutative.

    Examples
    --------
    >>> x, y = sp.symbols("x y")
    >>> noncommuting([[1, 0], [0, y]], [x, y]) is None     # diagonal, own variables
    True
    >>> noncommuting([[1, 0], [0, x]], [x, y])             # W1 moves x, which scales W2
    (0, 1, 1)
    """
    S = [list(row) for row in (S.tolist() if hasattr(S, "tolist") else S)]
    n, m = len(S), len(S[0]) if S else 0
    for j1 in range(m):
        for j2 in range(j1 + 1, m):
            for k in range(n):
                d = sum((S[i][j1] * sp.diff(S[k][j2], zs[i]) - S[i][j2] * sp.diff(S[k][j1], zs[i])
                         for i in range(n)), sp.S.Zero)
                d = sp.expand(d)
                if d != 0 and sp.simplify(d) != 0:
                    return j1, j2, k
    return None


def _check_commutative(S: list[list[sp.Expr]], zs: list[sp.Symbol],
                       co: ModelCoefficients) -> None:
    """Refuse ``scheme='weak2'`` unless the noise is commutative (:func:`noncommuting`)."""
    bad = noncommuting(S, zs)
    if bad is not None:
        j1, j2, k = bad
        raise ModelError(
            f"scheme='weak2' needs commutative noise (L^j1 sigma^j2 = L^j2 sigma^j1"
            f"); columns {j1 + 1} and {j2 + 1} of the noise of {co.name} do not "
            f"commute in the equation of {co.state[k]}: the scheme would need Levy "
            "areas. Use scheme='euler'.")


def _weak2_increments(b: list[sp.Expr], S: list[list[sp.Expr]], zs: list[sp.Symbol],
                      a: list[sp.Symbol], xi: list[sp.Symbol], dt: sp.Symbol,
                      sqdt: sp.Symbol) -> list[sp.Expr]:
    r"""Increments of Platen's explicit order-2.0 weak scheme (Kloeden & Platen 1992,
    Sec. 15.1, eq. (15.1.3); eq. (15.1.1) for one variable and one Brownian motion).

    With :math:`\Delta W^j = \sqrt{\Delta}\,\xi_j` (Gaussian increments satisfy the moment
    conditions of the simplified weak order-2 schemes, Sec. 14.2), drift :math:`a` and
    noise columns :math:`b^j`, and the supporting values
    :math:`\bar\Upsilon = Y + a\Delta + \sum_j b^j\Delta W^j`,
    :math:`\bar R^\pm_j = Y + a\Delta \pm b^j\sqrt\Delta`,
    :math:`\bar U^\pm_j = Y \pm b^j\sqrt\Delta`:

    .. math::

        Y_{n+1} = Y + \tfrac12\bigl(a(\bar\Upsilon) + a\bigr)\Delta
          + \tfrac14\sum_j\Bigl[b^j(\bar R^+_j) + b^j(\bar R^-_j) + 2b^j
            + \sum_{r\ne j}\bigl(b^j(\bar U^+_r) + b^j(\bar U^-_r) - 2b^j\bigr)\Bigr]\Delta W^j
          + \tfrac14\sum_j\Bigl[\bigl(b^j(\bar R^+_j) - b^j(\bar R^-_j)\bigr)
            \bigl((\Delta W^j)^2 - \Delta\bigr)
            + \sum_{r\ne j}\bigl(b^j(\bar U^+_r) - b^j(\bar U^-_r)\bigr)\Delta W^j\Delta W^r
            \Bigr]\Delta^{-1/2}.

    Expanded, this is the simplified weak order-2 Taylor scheme (drift
    :math:`\tfrac12 L^0 a\,\Delta^2`, :math:`\tfrac12(L^0 b^j + L^j a)\Delta W^j\Delta`,
    :math:`\tfrac12 L^r b^j(\Delta W^r\Delta W^j - \delta_{rj}\Delta)`). The two-point
    variables :math:`V_{r,j}` (:math:`r \ne j`) of (15.1.3) are left out: for commutative
    noise (checked by :func:`_check_commutative`) their terms cancel to leading order and
    what is left has mean zero and size :math:`O(\Delta^2)`, which keeps the weak order 2.
    The active mask ``a`` multiplies every displacement (a frozen variable stays frozen
    in the supporting values too).
    """
    n, m = len(zs), len(xi)
    cols = [j for j in range(m) if any(S[i][j] != 0 for i in range(n))]
    dW = {j: sqdt * xi[j] for j in cols}

    def at(e: sp.Expr, point: list[sp.Expr]) -> sp.Expr:
        return e.xreplace(dict(zip(zs, point)))

    ybar = [zs[i] + a[i] * (b[i] * dt + sum((S[i][j] * dW[j] for j in cols), sp.S.Zero))
            for i in range(n)]
    rp = {j: [zs[i] + a[i] * (b[i] * dt + S[i][j] * sqdt) for i in range(n)] for j in cols}
    rm = {j: [zs[i] + a[i] * (b[i] * dt - S[i][j] * sqdt) for i in range(n)] for j in cols}
    up = {j: [zs[i] + a[i] * S[i][j] * sqdt for i in range(n)] for j in cols}
    um = {j: [zs[i] - a[i] * S[i][j] * sqdt for i in range(n)] for j in cols}
    out = []
    for i in range(n):
        inc = sp.Rational(1, 2) * (at(b[i], ybar) + b[i]) * dt
        for j in cols:
            sij = S[i][j]
            if sij == 0:
                continue
            first = at(sij, rp[j]) + at(sij, rm[j]) + 2 * sij
            second = (at(sij, rp[j]) - at(sij, rm[j])) * (dW[j] ** 2 - dt)
            for r in cols:
                if r == j:
                    continue
                first += at(sij, up[r]) + at(sij, um[r]) - 2 * sij
                second += (at(sij, up[r]) - at(sij, um[r])) * dW[j] * dW[r]
            inc += sp.Rational(1, 4) * first * dW[j] + sp.Rational(1, 4) * second / sqdt
        out.append(inc)
    return out


def _coarse_normals(m: int, nrand: int, expo: dict[int, tuple[sp.Expr, sp.Expr]],
                    users: dict[int, list[int]], shared: dict[int, tuple[int, int]],
                    dt: sp.Symbol) -> list[sp.Expr]:
    r"""The standard normals of one step :math:`2h` built from those of two steps :math:`h`
    (``_xa*``, ``_xb*``) so that both steps see the same Brownian path.

    Per Brownian motion :math:`W_k`, with :math:`h` = ``dt``:

    * driving Euler / Milstein equations only: :math:`\Delta W = \sqrt h(\xi_a + \xi_b)`,
      so :math:`\xi = (\xi_a + \xi_b)/\sqrt 2`;
    * driving one exact-OU equation of rate :math:`\lambda` alone: the step's integral is
      :math:`I = r I_a + I_b`, :math:`r = e^{-\lambda h}`, so
      :math:`\xi = (r\xi_a + \xi_b)/\sqrt{1 + r^2}`;
    * shared by an exact-OU equation and others (the pair :math:`(\Delta W, I)`, the
      second normal :math:`\eta` of the kernel): :math:`\Delta W = \Delta W_a + \Delta W_b`,
      :math:`I = r I_a + I_b` with :math:`I = (e_1/h)\Delta W + \sqrt{v - e_1^2/h}\,\eta`,
      :math:`e_1 = (1-e^{-\lambda h})/\lambda`, :math:`v = (1 - e^{-2\lambda h})/(2\lambda)`;
      :math:`\eta` of the long step solves the same relation with :math:`2h`.

    :math:`\lambda` is evaluated at the state of the coarse path at the start of the step, so
    the normals of the long step are standard and independent of the past whatever the fine
    path does: the long path has exactly the law of the scheme with step :math:`2h`.
    """
    xa = [sp.Symbol(f"_xa{k}", real=True) for k in range(nrand)]
    xb = [sp.Symbol(f"_xb{k}", real=True) for k in range(nrand)]
    out: list[sp.Expr] = [sp.S.Zero] * nrand
    second = {k: j for j, (_i, k) in shared.items()}

    def e1(lam: sp.Expr, h: sp.Expr) -> sp.Expr:
        return h * Phi1(-lam * h)

    def var(lam: sp.Expr, h: sp.Expr) -> sp.Expr:
        return h * Phi1(-2 * lam * h)

    for k in range(m):
        lone = [i for i in users[k] if i in expo and len(users[k]) == 1]
        if k in second:
            i, _ = shared[second[k]]
            lam = expo[i][0]
            j = second[k]
            r = sp.exp(-lam * dt)
            dwa, dwb = sp.sqrt(dt) * xa[k], sp.sqrt(dt) * xb[k]
            sa_ = sp.sqrt(sp.Abs(var(lam, dt) - e1(lam, dt) ** 2 / dt))
            ia = (e1(lam, dt) / dt) * dwa + sa_ * xa[j]
            ib = (e1(lam, dt) / dt) * dwb + sa_ * xb[j]
            H = 2 * dt
            dW, ic = dwa + dwb, r * ia + ib
            den = sp.sqrt(sp.Abs(var(lam, H) - e1(lam, H) ** 2 / H))
            out[k] = (xa[k] + xb[k]) / sp.sqrt(2)
            out[j] = SafeRatio(ic - (e1(lam, H) / H) * dW, den)
        elif lone:
            r = sp.exp(-expo[lone[0]][0] * dt)
            out[k] = (r * xa[k] + xb[k]) / sp.sqrt(1 + r**2)
        else:
            out[k] = (xa[k] + xb[k]) / sp.sqrt(2)
    return out


class SafeRatio(sp.Function):
    """``a / b``, and ``0`` where ``b == 0`` (printed as a call to ``_safe_ratio``)."""

    def _numpycode(self, printer: object) -> str:
        a, b = (printer._print(v) for v in self.args)  # type: ignore[attr-defined]
        return f"_safe_ratio({a}, {b})"


SAFE_RATIO_SOURCE = """
def _safe_ratio(a, b):
    zero = b == 0
    return a / (b + zero) * (1 - zero)
"""


def _split_invariant(exprs: list[sp.Expr], names: list[str], invariant: set[sp.Symbol]
                     ) -> tuple[list[str], list[str], list[str]]:
    """Common sub-expressions split into loop invariants and per-path lines.

    Returns ``(invariant lines, invariant names, per-path lines)``; a
    sub-expression is invariant when it depends only on ``invariant`` symbols
    (parameters, the step, the active mask) and earlier invariants.
    """
    from .codegen import _Printer

    printer = _Printer()
    reps, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("_t"), order="none")
    inv = set(invariant)
    pre, pre_names, path = [], [], []
    for sym, e in reps:
        text = f"    {sym} = {printer.doprint(e)}"
        if e.free_symbols <= inv:
            inv.add(sym)
            pre.append(text)
            pre_names.append(str(sym))
        else:
            path.append(text)
    for name, e in zip(names, reduced):
        text = printer.doprint(e)
        if not e.free_symbols:
            text = f"float({text})"
        path.append(f"    {name} = {text}")
    return pre, pre_names, path


def _print(e: sp.Expr) -> str:
    from .codegen import _Printer

    return _Printer().doprint(e)


def _calls(n: int, nrand: int, npar: int, npre: int, z: str, x: str, a: str, p: str,
           c: str) -> tuple[str, str]:
    """Argument lists of ``update(...)`` and ``prepare(...)``, each name from its format."""
    def many(fmt: str, k: int) -> str:
        return ", ".join(fmt.format(i) for i in range(k))

    parts = (many(z, n), many(x, nrand), "dt, sqdt", many(a, n), many(p, npar), many(c, npre))
    pre = ("dt, sqdt", many(a, n), many(p, npar))
    return ", ".join(s for s in parts if s), ", ".join(s for s in pre if s)


def _run_numba(n: int, nrand: int, npar: int, npre: int) -> str:
    """The numba loop: per step, first draw the step's normals path by path into a
    ``(P, NRAND)`` buffer (the order of ``rng.standard_normal((P, NRAND))`` of the
    NumPy kernel), then update every path. With the draws (opaque calls into the
    bit generator) out of the update loop, LLVM hoists loop-invariant ``expm1`` /
    ``sqrt`` of the exact-OU step out of it and keeps the state in registers:
    about 2x the path-steps/s of drawing inside the update loop (benchmarks/).
    The saved state is copied element by element: numba compiles the slice
    assignment ``out[k, :, :] = Z`` into so much code that it was two thirds of
    the first-call compile time (7.4 s -> 2.4 s of CPU time, benchmarks/README.md).

    ``anti`` (0 or 1): antithetic pairs, the paths ``2j + 1`` take the negated normals of
    the paths ``2j`` (``P`` even); ``sums`` (shape ``(r, P)``, ``r`` = 0 or the number of
    Brownian motions) accumulates each path's normals of the first ``r`` columns."""
    z_load = "".join(f"            z{i} = Z[{i}, j]\n" for i in range(n))
    x_draw = "".join(f"            X[j, {k}] = rng.standard_normal()\n" for k in range(nrand))
    call, pre_call = _calls(n, nrand, npar, npre, "z{}", "X[j, {}]", "a{}", "p{}", "c{}")
    unpack_p = "".join(f"    p{i} = p[{i}]\n" for i in range(npar))
    unpack_a = "".join(f"    a{i} = active[{i}]\n" for i in range(n))
    unpack_c = f"    c = prepare({pre_call})\n" + "".join(f"    c{i} = c[{i}]\n"
                                                             for i in range(npre))
    store = "".join(f"            Z[{i}, j] = w[{i}]\n" for i in range(n))
    x_anti = "".join(f"                X[j, {k}] = rng.standard_normal()\n"
                     f"                X[j + 1, {k}] = -X[j, {k}]\n" for k in range(nrand))
    draw = (f"        if anti:\n            for j in range(0, P - 1, 2):\n{x_anti}"
            f"        else:\n            for j in range(P):\n"
            + x_draw.replace("            X", "                X")
            + "        for k2 in range(sums.shape[0]):\n            for j in range(P):\n"
            "                sums[k2, j] += X[j, k2]\n") if nrand else ""
    return f'''@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)
def run(Z, p, dt, nsteps, save_steps, out, rng, active, check_every, anti, sums):
    P = Z.shape[1]
    sqdt = math.sqrt(dt)
{unpack_p}{unpack_a}{unpack_c}    X = numpy.empty((P, {max(nrand, 1)}))
    k = 0
    nsave = save_steps.shape[0]
    while k < nsave and save_steps[k] == 0:
        for i in range(N):
            for j in range(P):
                out[k, i, j] = Z[i, j]
        k += 1
    for step in range(1, nsteps + 1):
{draw}        for j in range(P):
{z_load}            w = update({call})
{store}        if step % check_every == 0 or (k < nsave and step == save_steps[k]):
            bad = 0
            for j in range(P):
                for i in range(N):
                    if not math.isfinite(Z[i, j]):
                        bad += 1
                        break
            if bad > 0:
                return step, bad
        if k < nsave and step == save_steps[k]:
            for i in range(N):
                for j in range(P):
                    out[k, i, j] = Z[i, j]
            k += 1
    return -1, 0
'''


def _run_numpy(n: int, nrand: int, npar: int, npre: int) -> str:
    call, pre_call = _calls(n, nrand, npar, npre, "Z[{}]", "xi[:, {}]", "active[{}]", "p[{}]",
                            "c[{}]")
    store = "".join(f"        Z[{i}] = w[{i}]\n" for i in range(n))
    return f'''def run(Z, p, dt, nsteps, save_steps, out, rng, active, check_every, anti, sums):
    P = Z.shape[1]
    sqdt = math.sqrt(dt)
    c = prepare({pre_call})
    k = 0
    nsave = save_steps.shape[0]
    while k < nsave and save_steps[k] == 0:
        out[k] = Z
        k += 1
    for step in range(1, nsteps + 1):
        if NRAND and anti:
            half = rng.standard_normal((P // 2, NRAND))
            xi = numpy.empty((P, NRAND))
            xi[0::2] = half
            xi[1::2] = -half
        else:
            xi = rng.standard_normal((P, NRAND)) if NRAND else numpy.zeros((P, 0))
        if sums.shape[0]:
            sums += xi[:, :sums.shape[0]].T
        w = update({call})
{store}        if step % check_every == 0 or (k < nsave and step == save_steps[k]):
            bad = int((~numpy.isfinite(Z)).any(axis=0).sum())
            if bad > 0:
                return step, bad
        if k < nsave and step == save_steps[k]:
            out[k] = Z
            k += 1
    return -1, 0
'''


def _run_pair_numba(n: int, nrand: int, npar: int, npre: int) -> str:
    """The paired loop: per long step, two short steps of ``Zf`` with the normals
    ``Xa``, ``Xb`` and one long step of ``Zc`` with :func:`coarse_normals` of them."""
    call_f1, pre_f = _calls(n, nrand, npar, npre, "zf{}", "Xa[j, {}]", "1.0", "p{}", "cf{}")
    call_f2, _ = _calls(n, nrand, npar, npre, "zf{}", "Xb[j, {}]", "1.0", "p{}", "cf{}")
    call_c, pre_c = _calls(n, nrand, npar, npre, "zc{}", "q[{}]", "1.0", "p{}", "cc{}")
    call_c = call_c.replace("dt, sqdt", "dt2, sqdt2", 1)
    pre_c = pre_c.replace("dt, sqdt", "dt2, sqdt2", 1)
    zf = "".join(f"            zf{i} = Zf[{i}, j]\n" for i in range(n))
    zc = "".join(f"            zc{i} = Zc[{i}, j]\n" for i in range(n))
    unf = "".join(f"            zf{i} = w[{i}]\n" for i in range(n))
    stf = "".join(f"            Zf[{i}, j] = w[{i}]\n" for i in range(n))
    stc = "".join(f"            Zc[{i}, j] = w[{i}]\n" for i in range(n))
    draw = "".join(f"            Xa[j, {k}] = rng.standard_normal()\n" for k in range(nrand))
    draw += "".join(f"            Xb[j, {k}] = rng.standard_normal()\n" for k in range(nrand))
    cargs = ", ".join([f"zc{i}" for i in range(n)] + [f"Xa[j, {k}]" for k in range(nrand)]
                      + [f"Xb[j, {k}]" for k in range(nrand)] + ["dt"]
                      + [f"p{i}" for i in range(npar)])
    unpack_p = "".join(f"    p{i} = p[{i}]\n" for i in range(npar))
    unpack_c = (f"    cf = prepare({pre_f})\n"
                + "".join(f"    cf{i} = cf[{i}]\n" for i in range(npre))
                + f"    cc = prepare({pre_c})\n" + "".join(f"    cc{i} = cc[{i}]\n"
                                                           for i in range(npre)))
    return f'''@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)
def run_pair(Zc, Zf, p, dt, nsteps, save_steps, outc, outf, rng, check_every):
    P = Zc.shape[1]
    sqdt = math.sqrt(dt)
    dt2 = 2.0 * dt
    sqdt2 = math.sqrt(dt2)
{unpack_p}{unpack_c}    Xa = numpy.empty((P, {max(nrand, 1)}))
    Xb = numpy.empty((P, {max(nrand, 1)}))
    k = 0
    nsave = save_steps.shape[0]
    while k < nsave and save_steps[k] == 0:
        for i in range(N):
            for j in range(P):
                outc[k, i, j] = Zc[i, j]
        for i in range(N):
            for j in range(P):
                outf[k, i, j] = Zf[i, j]
        k += 1
    for step in range(1, nsteps + 1):
        for j in range(P):
{draw}        for j in range(P):
{zf}            w = update({call_f1})
{unf}            w = update({call_f2})
{stf}{zc}            q = coarse_normals({cargs})
            w = update({call_c})
{stc}        if step % check_every == 0 or (k < nsave and step == save_steps[k]):
            bad = 0
            for j in range(P):
                for i in range(N):
                    if not (math.isfinite(Zc[i, j]) and math.isfinite(Zf[i, j])):
                        bad += 1
                        break
            if bad > 0:
                return step, bad
        if k < nsave and step == save_steps[k]:
            for i in range(N):
                for j in range(P):
                    outc[k, i, j] = Zc[i, j]
            for i in range(N):
                for j in range(P):
                    outf[k, i, j] = Zf[i, j]
            k += 1
    return -1, 0
'''


def _run_pair_numpy(n: int, nrand: int, npar: int, npre: int) -> str:
    ones = "1.0"
    call_f1, pre_f = _calls(n, nrand, npar, npre, "Zf[{}]", "xa[:, {}]", ones, "p[{}]", "cf[{}]")
    call_f2, _ = _calls(n, nrand, npar, npre, "Zf[{}]", "xb[:, {}]", ones, "p[{}]", "cf[{}]")
    call_c, pre_c = _calls(n, nrand, npar, npre, "Zc[{}]", "q[{}]", ones, "p[{}]", "cc[{}]")
    call_c = call_c.replace("dt, sqdt", "dt2, sqdt2", 1)
    pre_c = pre_c.replace("dt, sqdt", "dt2, sqdt2", 1)
    cargs = ", ".join([f"Zc[{i}]" for i in range(n)] + [f"xa[:, {k}]" for k in range(nrand)]
                      + [f"xb[:, {k}]" for k in range(nrand)] + ["dt"]
                      + [f"p[{i}]" for i in range(npar)])
    stf = "".join(f"        Zf[{i}] = w[{i}]\n" for i in range(n))
    stc = "".join(f"        Zc[{i}] = w[{i}]\n" for i in range(n))
    return f'''def run_pair(Zc, Zf, p, dt, nsteps, save_steps, outc, outf, rng, check_every):
    P = Zc.shape[1]
    sqdt = math.sqrt(dt)
    dt2 = 2.0 * dt
    sqdt2 = math.sqrt(dt2)
    cf = prepare({pre_f})
    cc = prepare({pre_c})
    k = 0
    nsave = save_steps.shape[0]
    while k < nsave and save_steps[k] == 0:
        outc[k] = Zc
        outf[k] = Zf
        k += 1
    for step in range(1, nsteps + 1):
        x = rng.standard_normal((P, 2 * NRAND)) if NRAND else numpy.zeros((P, 0))
        xa = x[:, :NRAND]
        xb = x[:, NRAND:]
        w = update({call_f1})
{stf}        w = update({call_f2})
{stf}        q = coarse_normals({cargs})
        w = update({call_c})
{stc}        if step % check_every == 0 or (k < nsave and step == save_steps[k]):
            bad = int((~(numpy.isfinite(Zc) & numpy.isfinite(Zf))).any(axis=0).sum())
            if bad > 0:
                return step, bad
        if k < nsave and step == save_steps[k]:
            outc[k] = Zc
            outf[k] = Zf
            k += 1
    return -1, 0
'''
