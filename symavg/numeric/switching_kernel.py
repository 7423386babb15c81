r"""Generated kernels for switching SDEs and PDMPs (:class:`~symavg.SwitchingSDE`).

One module of Python source per model, written with the printer and the
disk cache of :mod:`symavg.numeric.codegen` (straight-line code from
``sympy.cse``, imported from the cache folder, numba-compiled with
``cache=True``). It holds, for the chain state ``s`` (an integer) and scalar
arguments:

* ``drift(s, z..., p...)``: the drift :math:`b_s(z)`;
* ``hazard(s, z..., p...)``: the total exit rate :math:`\lambda_s(z) = -Q_{ss}(z)`;
* ``rates(s, z..., p...)``: the row :math:`(Q_{s0}, \dots)` with ``0`` at ``s``;
* ``flow(s, h, z..., p...)``: the exact flow over a time ``h`` of an affine
  diagonal drift :math:`b_{s,k} = c_k + a_k z_k` (:math:`c_k, a_k` free of
  the state): :math:`z_k \mapsto z_k + (c_k + a_k z_k)\,h\,\varphi_1(a_k h)`,
  :math:`\varphi_1(u) = (e^u - 1)/u`;
* ``rk4(s, h, z..., H, p...)``: one classical Runge-Kutta step of the
  augmented system :math:`\dot z = b_s(z)`, :math:`\dot H = \lambda_s(z)`;
* ``noise(s, z..., p...)``: :math:`\sigma_s(z)` row-major (switching SDEs);
* ``run(Z, S, p, times, out, rng, dt, stats, max_events)``: the loop over
  paths and events (see :mod:`symavg.numeric.switching` for the algorithm);
* ``run_exit``: the same loop until each path leaves a box (mean exit times);
* ``run_path`` (PDMPs): one path, recorded after every step or flow segment, until a
  coordinate leaves an interval, with the crossing located (adaptive multilevel
  splitting, :mod:`symavg.numeric.pdmp_paths`).

The numba module and the NumPy fallback are the same text, with and without
the ``@njit`` decorators: the fallback runs the same per-path loop in the
interpreter, so both consume the same random stream and agree to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .codegen import hoist_parameter_functions, straight_line
from .kernel import PHI1_SOURCE, Phi1

_JIT = "@njit(cache=True, nogil=True, error_model='numpy')\n"
_MARK = "#@JIT\n"


@dataclass(frozen=True)
class SwitchingKernel:
    """Generated sources of a switching model and what they expect.

    Attributes
    ----------
    numba_source, numpy_source : str
        The module text, with and without ``@njit``.
    derived : tuple of (Symbol, Expr)
        Parameter-only expressions computed before a run (appended to ``p``).
    exact : tuple of bool
        Per chain state: flowed exactly (affine diagonal drift, rates free of
        the state) with exponential waiting times.
    """

    numba_source: str
    numpy_source: str
    derived: tuple[tuple[sp.Symbol, sp.Expr], ...]
    exact: tuple[bool, ...]

    def source(self, backend: str) -> str:
        return self.numba_source if backend == "numba" else self.numpy_source


def affine_diagonal(b: list[sp.Expr], zs: list[sp.Symbol]) -> list[tuple[sp.Expr, sp.Expr]] | None:
    """``[(c_k, a_k)]`` with ``b_k = c_k + a_k z_k`` and ``c_k, a_k`` free of every ``z``;
    ``None`` when the drift is not of that form."""
    out = []
    zset = set(zs)
    for k, e in enumerate(b):
        e = sp.expand(e)
        a = sp.diff(e, zs[k])
        c = sp.expand(e - a * zs[k])
        if (a.free_symbols | c.free_symbols) & zset:
            return None
        out.append((c, a))
    return out


def _tuple(names: list[str]) -> str:
    return "(" + ", ".join(names) + ",)"


def build_switching_kernel(state: tuple[sp.Symbol, ...], Q: sp.Matrix, drifts: list[list[sp.Expr]],
                           noise: list[list[sp.Expr]] | None, m: int,
                           parameters: tuple[sp.Symbol, ...], name: str) -> SwitchingKernel:
    """Generate the kernel of a switching model.

    Parameters
    ----------
    state : the continuous variables
    Q : the rate matrix (``Q[i, j]`` the rate ``i -> j``), SymPy
    drifts : per chain state, one drift expression per variable
    noise : per chain state, the ``n x m`` noise row-major, or None (a PDMP)
    m : number of Brownian motions
    parameters : every other symbol, in the order of the parameter vector
    name : for the module docstring
    """
    n, N = len(state), Q.rows
    zs = [sp.Symbol(f"z{i}", real=True) for i in range(n)]
    ps = [sp.Symbol(f"p{i}", real=True) for i in range(len(parameters))]
    h = sp.Symbol("h", positive=True)
    sub = dict(zip(state, zs)) | dict(zip(parameters, ps))
    B = [[sp.sympify(e).xreplace(sub) for e in d] for d in drifts]
    R = [[sp.sympify(Q[i, j]).xreplace(sub) if j != i else sp.S.Zero for j in range(N)]
         for i in range(N)]
    lam = [sp.sympify(-Q[i, i]).xreplace(sub) for i in range(N)]
    S = None if noise is None else [[sp.sympify(e).xreplace(sub) for e in row] for row in noise]

    exact = []
    flows: list[list[sp.Expr] | None] = []
    for i in range(N):
        aff = affine_diagonal(B[i], zs) if noise is None else None
        rates_free = not any(r.free_symbols & set(zs) for r in R[i])
        if aff is not None and rates_free:
            flows.append([zs[k] + (c + a * zs[k]) * h * (Phi1(a * h) if a != 0 else 1)
                          for k, (c, a) in enumerate(aff)])
            exact.append(True)
        else:
            flows.append(None)
            exact.append(False)

    # hoist parameter-only function calls (evaluated once by SymPy per run)
    blocks: list[list[sp.Expr]] = [*B, *R, [*lam]]
    blocks += [f for f in flows if f is not None]
    if S is not None:
        blocks += S
    flat = [e for blk in blocks for e in blk]
    hoisted, derived = hoist_parameter_functions(flat, [*zs, h])
    back = {v: k for k, v in sub.items()}
    derived = [(hs, e.xreplace(back)) for hs, e in derived]
    it = iter(hoisted)
    B = [[next(it) for _ in range(n)] for _ in range(N)]
    R = [[next(it) for _ in range(N)] for _ in range(N)]
    lam = [next(it) for _ in range(N)]
    flows = [[next(it) for _ in range(n)] if f is not None else None for f in flows]
    if S is not None:
        S = [[next(it) for _ in range(n * m)] for _ in range(N)]

    zargs = [str(z) for z in zs]
    pargs = [str(p) for p in ps] + [str(s) for s, _ in derived]
    sig = ", ".join(["s", *zargs, *pargs])

    def per_state(fname: str, args: str, exprs: list[list[sp.Expr] | None], width: int,
                  doc: str) -> str:
        lines = [f"{_MARK}def {fname}({args}):", f'    """{doc}"""']
        for i, ex in enumerate(exprs):
            if ex is None:
                continue
            names = [f"r{k}" for k in range(width)]
            lines.append(f"    if s == {i}:")
            lines += straight_line(ex, names, indent="        ")
            lines.append(f"        return {_tuple(names)}")
        lines.append("    return (" + "math.nan, " * width + ")")
        return "\n".join(lines) + "\n\n\n"

    parts = [
        f'"""Generated by symavg.numeric.switching_kernel for {name}.\n\n'
        f"state: {list(state)}, {N} chain states, parameters {list(parameters)} + derived "
        f"{[str(s) for s, _ in derived]}\nexact flow in chain states: "
        f"{[i for i in range(N) if exact[i]]}\n\"\"\"\n",
        "import math\nimport numpy\n",
        "from numba import njit\n",
        f"\nN = {n}\nNS = {N}\nM = {m}\n\n",
    ]
    if any(exact):
        parts.append(_MARK.rstrip("\n") + PHI1_SOURCE + "\n\n")
    parts.append(per_state("drift", sig, B, n, "The drift b_s(z)."))
    parts.append(per_state("rates", sig, R, N, "The rates Q[s, j] out of s (0 at j = s)."))
    hz = [f"{_MARK}def hazard({sig}):", '    """The total exit rate -Q[s, s](z)."""']
    for i in range(N):
        hz.append(f"    if s == {i}:")
        hz += straight_line([lam[i]], ["r"], indent="        ")
        hz.append("        return r")
    hz.append("    return math.nan")
    parts.append("\n".join(hz) + "\n\n\n")
    fsig = ", ".join(["s", "h", *zargs, *pargs])
    parts.append(per_state("flow", fsig, flows, n,
                           "The exact flow over a time h (exact chain states only)."))
    if S is not None:
        parts.append(per_state("noise", sig, S, n * m, "The noise sigma_s(z), row-major."))
    else:
        parts.append(_rk4_source(n, zargs, pargs))
    parts.append(_run_source(n, N, m, zargs, pargs, exact, S is not None))
    text = "".join(parts)
    numba = text.replace(_MARK, _JIT)
    plain = text.replace(_MARK, "").replace("from numba import njit\n", "")
    return SwitchingKernel(numba, plain, tuple(derived), tuple(exact))


def _rk4_source(n: int, zargs: list[str], pargs: list[str]) -> str:
    """RK4 step of (z, H) with dz/dt = b_s(z), dH/dt = lambda_s(z)."""
    P = ", ".join(pargs)
    Pc = (", " + P) if P else ""

    def call(f: str, pre: str) -> str:
        return f"{f}(s, {', '.join(f'{pre}{i}' for i in range(n))}{Pc})"

    zz = [f"z{i}" for i in range(n)]
    lines = [f"{_MARK}def rk4(s, h, {', '.join(zz)}, H{Pc}):",
             '    """One RK4 step of dz = b_s(z) dt, dH = lambda_s(z) dt; also lambda_s(z)."""',
             f"    {', '.join(f'k1_{i}' for i in range(n))}, = {call('drift', 'z')}",
             f"    l1 = {call('hazard', 'z')}"]
    for st, (prev, frac) in enumerate((("k1_", "0.5"), ("k2_", "0.5"), ("k3_", "1.0")), start=2):
        for i in range(n):
            lines.append(f"    y{i} = z{i} + {frac} * h * {prev}{i}")
        lines.append(f"    {', '.join(f'k{st}_{i}' for i in range(n))}, = {call('drift', 'y')}")
        lines.append(f"    l{st} = {call('hazard', 'y')}")
    for i in range(n):
        lines.append(f"    n{i} = z{i} + h / 6.0 * (k1_{i} + 2.0 * k2_{i} + 2.0 * k3_{i} + "
                     f"k4_{i})")
    lines.append("    Hn = H + h / 6.0 * (l1 + 2.0 * l2 + 2.0 * l3 + l4)")
    lines.append(f"    return ({', '.join(f'n{i}' for i in range(n))}, Hn, l1)")
    return "\n".join(lines) + "\n\n\n" + _LOCATE


#: the root of the cubic Hermite interpolant of the cumulative hazard on a step
_LOCATE = f'''{_MARK}def locate(H0, H1, d0, d1, E):
    """u in [0, 1] with p(u) = E, p the cubic Hermite interpolant on [0, 1] of H(0) = H0,
    H(1) = H1 >= E, H'(0) = d0, H'(1) = d1 (bisection to 2^-16: p need not be monotone;
    the two Newton steps on the RK4 hazard that follow make the root exact to O(h^5))."""
    lo = 0.0
    hi = 1.0
    for _ in range(16):
        u = 0.5 * (lo + hi)
        u2 = u * u
        u3 = u2 * u
        v = ((2.0 * u3 - 3.0 * u2 + 1.0) * H0 + (u3 - 2.0 * u2 + u) * d0
             + (3.0 * u2 - 2.0 * u3) * H1 + (u3 - u2) * d1)
        if v < E:
            lo = u
        else:
            hi = u
    return hi


'''


def _run_source(n: int, N: int, m: int, zargs: list[str], pargs: list[str],
                exact: list[bool], noisy: bool) -> str:
    zz = ", ".join(zargs)
    Pc = (", " + ", ".join(pargs)) if pargs else ""
    zt = zz + ","
    unpack_p = "".join(f"    {a} = p[{k}]\n" for k, a in enumerate(pargs))
    load = "".join(f"        z{i} = Z[{i}, j]\n" for i in range(n))
    save = "".join(f"                out[k, {i}, j] = z{i}\n" for i in range(n))
    finite = " and ".join(f"math.isfinite(z{i})" for i in range(n))
    w_is_z = "".join(f"{' ' * 12}w{i} = z{i}\n" for i in range(n))
    I12 = " " * 12

    def block(text: str, indent: int) -> str:
        pad = " " * indent
        return "".join(pad + ln + "\n" if ln else "\n" for ln in text.strip("\n").split("\n"))

    exact_states = [i for i in range(N) if exact[i]]
    other = [i for i in range(N) if not exact[i]]
    exact_body = f"""
lam = hazard(s, {zz}{Pc})
if not lam >= 0.0:
    code = 1
    break
rem = E - H
ns += 1
if lam * (tk - t) <= rem:
    h = tk - t
    {zt} = flow(s, h, {zz}{Pc})
    H += lam * h
    t = tk
else:
    h = rem / lam
    {zt} = flow(s, h, {zz}{Pc})
    t += h
    jump = True
{w_is_z.replace(I12, '')}"""
    ys = ", ".join(f"y{i}" for i in range(n))
    assign_zy = "\n".join(f"z{i} = y{i}" for i in range(n))
    rk4_body = f"""
h = tk - t
full = True
if h > dt:
    h = dt
    full = False
{ys}, Hn, l0 = rk4(s, h, {zz}, H{Pc})
ns += 1
if not l0 >= 0.0:
    code = 1
    break
if Hn < E:
{block(assign_zy, 4)}    H = Hn
    if full:
        t = tk
    else:
        t += h
else:
    l1 = hazard(s, {ys}{Pc})
    th = h * locate(H, Hn, l0 * h, l1 * h, E)
    for _ in range(2):
        {ys}, Ht, _ = rk4(s, th, {zz}, H{Pc})
        lt = hazard(s, {ys}{Pc})
        if lt > 0.0:
            th2 = th - (Ht - E) / lt
            if th2 > 0.0 and th2 <= h:
                th = th2
    {ys}, Ht, _ = rk4(s, th, {zz}, H{Pc})
{block(assign_zy, 4)}    t += th
    jump = True
{w_is_z.replace(I12, '')}"""
    xi = "\n".join(f"x{k} = rng.standard_normal()" for k in range(m))
    sg = ", ".join(f"g{k}" for k in range(n * m))
    bs = ", ".join(f"b{i}" for i in range(n))
    upd = "\n".join(
        f"z{i} = z{i} + b{i} * h + sq * ("
        + " + ".join(f"g{i * m + k} * x{k}" for k in range(m)) + ")" for i in range(n))
    em_body = f"""
h = tk - t
full = True
if h > dt:
    h = dt
    full = False
lam = hazard(s, {zz}{Pc})
if not lam >= 0.0:
    code = 1
    break
{bs}, = drift(s, {zz}{Pc})
{sg}, = noise(s, {zz}{Pc})
sq = math.sqrt(h)
{xi}
{w_is_z.replace(I12, '')}{upd}
H += lam * h
ns += 1
if full:
    t = tk
else:
    t += h
if H >= E:
    jump = True
"""
    if noisy:
        body = block(em_body, 12)
    elif not other:
        body = block(exact_body, 12)
    elif not exact_states:
        body = block(rk4_body, 12)
    else:
        cond = " or ".join(f"s == {i}" for i in exact_states)
        body = (f"            if {cond}:\n" + block(exact_body, 16) + "            else:\n"
                + block(rk4_body, 16))
        # a break inside the branches leaves the while loop, as wanted
    ws = ", ".join(f"w{i}" for i in range(n))
    jump_block = f'''            if jump:
                rr = rates(s, {ws}{Pc})
                tot = 0.0
                for q in range(NS):
                    if not rr[q] >= 0.0:
                        code = 1
                    tot += rr[q]
                if code != 0:
                    break
                u = rng.random() * tot
                acc = 0.0
                target = -1
                last = s
                for q in range(NS):
                    if rr[q] > 0.0:
                        last = q
                        acc += rr[q]
                        if target < 0 and u < acc:
                            target = q
                s = target if target >= 0 else last
                E = -math.log1p(-rng.random())
                H = 0.0
                nj += 1
'''
    # the start of every path, shared by the two loops: state, chain state, clock, the
    # exponential threshold E of the next jump and its integrated hazard H, counters
    path_start = f"""{unpack_p}    for j in range(P):
{load}        s = S[j]
        t = 0.0
        E = -math.log1p(-rng.random())
        H = 0.0
        nj = 0
        ns = 0
        code = 0
"""
    # one step or flow segment of a path, with its guards (shared by the two loops)
    advance = f"""            if nj + ns > max_events:
                code = 3
                break
            jump = False
{body}            if not ({finite}):
                code = 2
                break
"""
    run = f'''{_MARK}def run(Z, S, p, times, out, rng, dt, stats, max_events):
    """Every path of a chunk: saves (z, s) at ``times`` into ``out`` (k, N + 1, P);
    ``stats[j] = (jumps, steps, error code, time of the error)``; codes: 1 a
    negative (or NaN) rate, 2 a non-finite state, 3 more than ``max_events``."""
    P = Z.shape[1]
    nsave = times.shape[0]
{path_start}        k = 0
        while k < nsave:
            tk = times[k]
            if t >= tk:
{save}                out[k, N, j] = s
                k += 1
                continue
{advance}{jump_block}        stats[j, 0] = nj
        stats[j, 1] = ns
        stats[j, 2] = code
        stats[j, 3] = t
        if code != 0:
            for kk in range(k, nsave):
                for i in range(N + 1):
                    out[kk, i, j] = math.nan
'''
    outside = " or ".join(f"not (lo[{i}] < z{i} < hi[{i}])" for i in range(n))
    exit_run = f'''{_MARK}def run_exit(Z, S, p, lo, hi, tmax, rng, dt, stats, max_events):
    """Every path of a chunk until it leaves the box ``lo < z < hi`` or reaches ``tmax``;
    ``stats[j] = (jumps, steps, code, time)``: code 0 the path left the box at that time
    (the end of the step or flow segment on which it left), 4 it was still inside at
    ``tmax``, 1-3 as in ``run``."""
    P = Z.shape[1]
{path_start}        left = False
        tk = tmax
        while t < tk:
{advance}            if {outside}:
                left = True
                break
{jump_block}        if code == 0 and not left:
            code = 4
        stats[j, 0] = nj
        stats[j, 1] = ns
        stats[j, 2] = code
        stats[j, 3] = t
'''
    if noisy:
        return run + "\n\n" + exit_run
    return run + "\n\n" + exit_run + "\n\n" + _path_source(n, exact_states, unpack_p, Pc,
                                                              advance, jump_block)


def _path_source(n: int, exact_states: list[int], unpack_p: str, Pc: str, advance: str,
                 jump_block: str) -> str:
    """``run_path``: one PDMP path, recorded after every step or flow segment, until a
    coordinate leaves an interval (the paths that adaptive multilevel splitting needs)."""
    import textwrap

    def at(text: str, indent: int) -> str:
        return textwrap.indent(textwrap.dedent(text), " " * indent)

    ys = ", ".join(f"y{i}" for i in range(n))
    As = ", ".join(f"a{i}" for i in range(n))
    cond = " or ".join(f"s == {i}" for i in exact_states) or "False"
    position = (f"if {cond}:\n    {ys}, = flow(s, th, {As}{Pc})\n"
                f"else:\n    {ys}, _, _ = rk4(s, th, {As}, Ha{Pc})\n")
    pick_z = "zc = z0\n" + "".join(f"if c == {i}:\n    zc = z{i}\n" for i in range(n))
    pick_y = "yc = y0\n" + "".join(f"if c == {i}:\n    yc = y{i}\n" for i in range(n))
    set_face = "".join(f"if c == {i}:\n    z{i} = face\n" for i in range(n))
    y_to_z = "".join(f"z{i} = y{i}\n" for i in range(n))
    record = ("if k >= cap:\n    cap *= 2\n    Z2 = numpy.empty((cap, N))\n"
              "    Z2[:k] = ZZ[:k]\n    ZZ = Z2\n    S2 = numpy.empty(cap, numpy.int64)\n"
              "    S2[:k] = SS[:k]\n    SS = S2\n    T2 = numpy.empty(cap)\n"
              "    T2[:k] = TT[:k]\n    TT = T2\n"
              + "".join(f"ZZ[k, {i}] = z{i}\n" for i in range(n))
              + "SS[k] = s\nTT[k] = t\nk += 1\n")
    return f'''{_MARK}def run_path(z_init, s_init, p, c, lo, hi, tmax, rng, dt, max_events):
    """One path from ``(z_init, s_init)`` until its coordinate ``z[c]`` leaves ``(lo, hi)``
    or ``t`` reaches ``tmax``. Returns ``(Z, S, T, code, side, jumps)``: the state, chain
    state and time after every step or flow segment (row 0 the start); ``code`` 0: it left,
    through ``hi`` (``side`` +1) or ``lo`` (-1), and the last row is the crossing itself,
    located on its segment by bisection on the segment's flow, in the chain state it
    crossed in; 4: still inside at ``tmax``; 1-3 as in ``run``."""
{unpack_p}    cap = 256
    ZZ = numpy.empty((cap, N))
    SS = numpy.empty(cap, numpy.int64)
    TT = numpy.empty(cap)
{"".join(f"    z{i} = z_init[{i}]" + chr(10) for i in range(n))}    s = s_init
    t = 0.0
    E = -math.log1p(-rng.random())
    H = 0.0
    nj = 0
    ns = 0
    code = 0
    side = 0
    k = 0
{at(record, 4)}    tk = tmax
    while t < tk:
{at("".join(f"a{i} = z{i}" + chr(10) for i in range(n)), 8)}        ta = t
        Ha = H
{at(advance, 8)}{at(pick_z, 8)}        if zc >= hi or zc <= lo:
            side = 1 if zc >= hi else -1
            face = hi if side > 0 else lo
            tl = 0.0
            tr = t - ta
            for _ in range(60):
                th = 0.5 * (tl + tr)
{at(position, 16)}{at(pick_y, 16)}                if (yc - face) * side >= 0.0:
                    tr = th
                else:
                    tl = th
            th = tr
{at(position, 12)}{at(y_to_z, 12)}{at(set_face, 12)}            t = ta + th
{at(record, 12)}            break
{at(jump_block, 8)}{at(record, 8)}    if code == 0 and side == 0:
        code = 4
    return ZZ[:k].copy(), SS[:k].copy(), TT[:k].copy(), code, side, nj
'''
