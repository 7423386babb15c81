r"""Exit times and exit probabilities of small-noise diffusions, by simulation.

The model is a diffusion in one variable, typically the averaged diffusion
:math:`dX = F(X)\,dt + \sqrt{\epsilon a(X)}\,dW` of ``sa.reduce(model, order=1)``
or an :class:`~symavg.SDE` with noise of order :math:`\sqrt\epsilon`. Its drift and
diffusion are printed once into a numba kernel (plain Python without numba) that
advances one path at a time by Euler-Maruyama; the exit from the interval
:math:`(lo, hi)` is detected at the steps *and between them* by the Brownian-bridge
test (a path inside at :math:`t_n` and :math:`t_{n+1}` crossed the face :math:`c` in
between with probability :math:`\exp(-2 (x_n - c)(x_{n+1} - c)/(a(x_n)\Delta t))`),
which removes the :math:`O(\sqrt{\Delta t})` bias of discrete monitoring (Gobet,
Stoch. Proc. Appl. 87 (2000) 167), leaving the :math:`O(\Delta t)` of the scheme.

* :func:`diffusion_mean_exit_time`: plain Monte Carlo of :math:`E[\tau]`.
* :func:`exit_probability`: :math:`P(\text{reach } hi \text{ before } lo)` by
  adaptive multilevel splitting (AMS; Cérou & Guyader, Stoch. Anal. Appl. 25 (2007)
  417), with the variable itself as reaction coordinate; the AMS loop is
  :mod:`symavg.numeric.splitting`, shared with the several-variable route (a reaction
  coordinate, :mod:`symavg.numeric.diffusion_paths`) and the PDMP route
  (:mod:`symavg.numeric.pdmp_paths`), to which this function dispatches. Each
  iteration kills the ``kill`` replicas of lowest maximal level (and every tie), and
  restarts each from a copy of a survivor's path at its first point above that
  level; the estimator :math:`\hat p = \prod_j (1 - K_j/N)\cdot N_B/N` is unbiased
  (Bréhier, Gazeau, Goudenège, Lelièvre & Rousset, Ann. Appl. Probab. 26 (2016)
  3559; shown there for discrete-time Markov chains with this tie rule), so
  independent runs give an honest standard error.
* :func:`splitting_mean_exit_time`: in one dimension, the mean exit time of a
  metastable well past the reach of plain Monte Carlo from the renewal formula
  (Cérou, Guyader, Lelièvre & Pommier, J. Chem. Phys. 134 (2011) 054108): with
  cycles :math:`x_0 \to z_0 \to (x_0 \text{ or } hi)`,

  .. math:: E[\tau] = t_1 + E[T_s] + \frac{1 - p}{p}\,(t_1 + E[T_f]),

  :math:`t_1` the mean time from :math:`x_0` to :math:`z_0`, :math:`p` the
  probability to reach ``hi`` from :math:`z_0` before :math:`x_0` (AMS),
  :math:`E[T_f]`, :math:`E[T_s]` the mean durations of a failed and of a successful
  excursion. It is exact in one dimension (the strong Markov property at the
  hitting times of the points :math:`x_0`, :math:`z_0`). For a PDMP see
  :mod:`symavg.numeric.pdmp_paths` (exact when one chain state flows up through
  :math:`z_0`).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..errors import ModelError, SimulationError
from .exit_times import LogRate
from .splitting import Path, SplittingEstimate, check_splitting, splitting

__all__ = [
    "DiffusionExitEstimate",
    "SplittingEstimate",
    "SplittingExitTime",
    "diffusion_mean_exit_time",
    "exit_probability",
    "splitting_mean_exit_time",
]


# ------------------------------------------------------------- the kernel
_KERNEL = """
import math
import numpy as np
{header}

@_jit
def coeffs(x, p):
{body}
    return _b, _a


@_jit
def seed(s):
    np.random.seed(s)


@_jit
def step(x, p, dt, lo, hi):
    # one Euler-Maruyama step and the exit test: code 0 inside, -1 lower, +1 upper
    b, a = coeffs(x, p)
    if a < 0.0:
        a = 0.0
    xn = x + b * dt + math.sqrt(a * dt) * np.random.standard_normal()
    if xn <= lo:
        return xn, -1
    if xn >= hi:
        return xn, 1
    v = a * dt
    # the bridge test, skipped where its probability is below exp(-40)
    if v > 0.0:
        if lo > -math.inf:
            q = (x - lo) * (xn - lo)
            if q < 20.0 * v and np.random.random() < math.exp(-2.0 * q / v):
                return xn, -1
        if hi < math.inf:
            q = (hi - x) * (hi - xn)
            if q < 20.0 * v and np.random.random() < math.exp(-2.0 * q / v):
                return xn, 1
    if not math.isfinite(xn):
        return xn, 9
    return xn, 0


@_jit
def exit_many(x0, p, dt, lo, hi, max_steps, steps, code):
    # every start x0[i] run to its exit; steps taken and exit code per path
    for i in range(x0.shape[0]):
        x = x0[i]
        n = 0
        c = 0
        while c == 0:
            if n >= max_steps:
                c = 8
                break
            x, c = step(x, p, dt, lo, hi)
            n += 1
        steps[i] = n
        code[i] = c


@_jit
def exit_path(x0, p, dt, lo, hi, max_steps):
    # one path from x0 to its exit, recorded
    buf = np.empty(1024)
    buf[0] = x0
    x = x0
    n = 0
    c = 0
    while c == 0:
        if n >= max_steps:
            c = 8
            break
        x, c = step(x, p, dt, lo, hi)
        n += 1
        if n >= buf.shape[0]:
            new = np.empty(2 * buf.shape[0])
            new[: buf.shape[0]] = buf
            buf = new
        buf[n] = x
    return buf[: n + 1].copy(), c
"""

_HEADER_NUMBA = """from numba import njit
_jit = njit(cache=True)"""
_HEADER_PLAIN = """def _jit(f):
    return f"""


@dataclass(frozen=True)
class _Kernel:
    """The generated kernel of a 1-D diffusion and its parameter vector."""

    variable: sp.Symbol
    module: Any
    p: np.ndarray

    def seed(self, rng: np.random.Generator) -> None:
        self.module.seed(int(rng.integers(0, 2**31 - 1)))

    def exit_many(self, x0: np.ndarray, dt: float, lo: float, hi: float, max_steps: int
                  ) -> tuple[np.ndarray, np.ndarray]:
        steps = np.zeros(len(x0), dtype=np.int64)
        code = np.zeros(len(x0), dtype=np.int64)
        self.module.exit_many(np.ascontiguousarray(x0, float), self.p, float(dt), float(lo),
                              float(hi), int(max_steps), steps, code)
        _raise_codes(code, max_steps, dt)
        return steps, code

    def exit_path(self, x0: float, dt: float, lo: float, hi: float, max_steps: int
                  ) -> tuple[np.ndarray, int]:
        path, c = self.module.exit_path(float(x0), self.p, float(dt), float(lo), float(hi),
                                        int(max_steps))
        _raise_codes(np.array([c]), max_steps, dt)
        return path, int(c)


def _raise_codes(code: np.ndarray, max_steps: int, dt: float) -> None:
    if (code == 8).any():
        raise SimulationError(f"{int((code == 8).sum())} paths were still inside after "
                              f"{max_steps} steps (t = {max_steps * dt:.4g}): raise max_steps, "
                              "or check that the faces are reachable")
    if (code == 9).any():
        raise SimulationError("a path blew up (non-finite state): reduce dt")


def _kernel(model: Any, eps: float | None, params: Mapping | None) -> _Kernel:
    """Compile the drift ``F`` and diffusion ``a`` of a one-variable diffusion."""
    from ..models import SDE, EffectiveModel, SwitchingSDE
    from .codegen import have_numba, load_source, straight_line

    if isinstance(model, SwitchingSDE) or not isinstance(model, SDE | EffectiveModel):
        raise ModelError(f"the diffusion exit-time routines take a sa.SDE or a reduced "
                         f"EffectiveModel (a diffusion without fast variables); got "
                         f"{type(model).__name__}. For a PDMP use sa.ldp.mean_exit_time")
    if len(model.state) != 1:
        raise ModelError(f"the diffusion exit-time routines are for one variable; the model "
                         f"has {list(model.state)}. Reduce it first (sa.reduce(model, "
                         "order=1)) when the others are fast")
    (var,) = model.state
    F = sp.sympify(sp.Matrix(model.drift)[0])
    A = sp.sympify(sp.Matrix(model.diffusion)[0, 0])
    values: dict = {}
    for k, v in (params or {}).items():
        values[sp.Symbol(k) if isinstance(k, str) else k] = float(v)
    if eps is not None:
        values[model.eps] = float(eps)
    syms = sorted((F.free_symbols | A.free_symbols) - {var}, key=str)
    missing = [s for s in syms if s not in values and str(s) not in map(str, values)]
    if missing:
        raise SimulationError(f"give values for {sorted(map(str, missing))}: params={{symbol: "
                              "value}} (and eps=) for the model's parameters")
    if A == 0:
        raise ModelError("the model has no noise: its exit time is deterministic")
    byname = {str(k): v for k, v in values.items()}
    X = sp.Symbol("x")
    P = [sp.Symbol(f"p[{i}]") for i in range(len(syms))]
    rep = {var: X, **dict(zip(syms, P))}
    lines = straight_line([F.subs(rep), A.subs(rep)], ["_b", "_a"])
    body = "\n".join(lines).replace("numpy.", "np.")
    header = _HEADER_NUMBA if have_numba() else _HEADER_PLAIN
    source = _KERNEL.format(header=header, body=body)
    module = load_source(source, "dex")
    p = np.array([byname[str(s)] for s in syms] or [0.0], dtype=float)
    return _Kernel(var, module, p)


def _bounds(ker: _Kernel, x0: Mapping, lower: Mapping | None, upper: Mapping | None
            ) -> tuple[float, float, float]:
    v = ker.variable
    if v not in x0:
        raise ModelError(f"x0 has no value for {v}")
    for side in (lower, upper):
        extra = set(side or {}) - {v}
        if extra:
            raise ModelError(f"{sorted(map(str, extra))} are not the model's variable {v}")
    z0 = float(x0[v])
    lo = float((lower or {}).get(v, -math.inf))
    hi = float((upper or {}).get(v, math.inf))
    if not lo < z0 < hi:
        raise ModelError(f"x0 = {z0} is not inside the box {lo} < {v} < {hi}")
    if not (math.isfinite(lo) or math.isfinite(hi)):
        raise ModelError("give at least one finite face (lower= or upper=)")
    return z0, lo, hi


# --------------------------------------------------------- plain Monte Carlo
@dataclass(frozen=True)
class DiffusionExitEstimate(LogRate):
    r"""The mean exit time ``E[tau]`` of a diffusion from an interval, with its standard error.

    Attributes
    ----------
    mean, stderr : float
    eps : float
    paths : int
    dt : float
    times : ndarray
        Every path's exit time.
    codes : ndarray
        ``-1`` left through the lower face, ``+1`` through the upper one.
    """

    mean: float
    stderr: float
    eps: float
    paths: int
    dt: float
    times: np.ndarray
    codes: np.ndarray


def _check_common(paths: int, dt: float) -> None:
    if paths <= 1:
        raise ModelError(f"paths must be at least 2; got {paths}")
    if not dt > 0:
        raise ModelError(f"dt must be positive; got {dt}")


def diffusion_mean_exit_time(model: Any, x0: Mapping, lower: Mapping | None = None,
                             upper: Mapping | None = None, *, eps: float | None = None,
                             params: Mapping | None = None, paths: int = 1000,
                             dt: float = 1e-3, seed: int | None = None,
                             max_steps: int = 2_000_000_000) -> DiffusionExitEstimate:
    r"""Plain Monte Carlo estimate of the mean exit time of a 1-D diffusion from an interval.

    Euler-Maruyama with step ``dt`` and the Brownian-bridge exit test (module
    docstring); ``paths`` independent paths from ``x0``.

    Parameters
    ----------
    model : SDE or EffectiveModel
        One variable, e.g. ``sa.reduce(full, order=1)``.
    x0 : dict {Symbol: float}
        The start, inside the interval.
    lower, upper : dict {Symbol: float}, optional
        The faces; a missing one is at infinity (at least one is needed).
    eps, params
        Values of the scale parameter and of the other parameters.
    paths, dt, seed
        Number of paths, time step, seed of the kernel's generator.
    max_steps : int
        A path still inside after this many steps is an error.

    Returns
    -------
    DiffusionExitEstimate

    Examples
    --------
    Brownian motion of variance ``eps t`` from 0 leaves ``(-1, 1)`` after
    ``E[tau] = 1/eps`` on average:

    >>> import sympy as sp, symavg as sa
    >>> from symavg.numeric.diffusion_exit import diffusion_mean_exit_time
    >>> x = sp.Symbol("x", real=True)
    >>> bm = sa.SDE([x], [0], diffusion=[[sa.epsilon]])
    >>> est = diffusion_mean_exit_time(bm, {x: 0.0}, {x: -1.0}, {x: 1.0}, eps=0.1,
    ...                                paths=400, dt=1e-2, seed=1)
    >>> abs(est.mean * 0.1 - 1) < 4 * est.stderr * 0.1
    True
    """
    _check_common(paths, dt)
    ker = _kernel(model, eps, params)
    z0, lo, hi = _bounds(ker, x0, lower, upper)
    ker.seed(np.random.default_rng(seed))
    steps, code = ker.exit_many(np.full(paths, z0), dt, lo, hi, max_steps)
    times = steps * dt
    return DiffusionExitEstimate(float(times.mean()), float(times.std(ddof=1) / math.sqrt(paths)),
                                 float(eps) if eps is not None else math.nan, int(paths),
                                 float(dt), times, code)


# ------------------------------------------------------------------ splitting
@dataclass(frozen=True)
class _LineSampler:
    """The 1-D kernel as a :class:`~symavg.numeric.splitting.PathSampler` (the coordinate
    is the variable; the state is ``[x]``)."""

    ker: _Kernel
    dt: float
    max_steps: int

    def seed(self, rng: np.random.Generator) -> None:
        self.ker.seed(rng)

    def path(self, state: np.ndarray, lo: float, hi: float) -> Path:
        xs, c = self.ker.exit_path(float(state[0]), self.dt, lo, hi, self.max_steps)
        return Path(xs[:, None], xs, np.arange(len(xs)) * self.dt, 1 if c == 1 else -1)


def exit_probability(model: Any, x0: Mapping, lower: Mapping | float | None = None,
                     upper: Mapping | float | None = None, *, coordinate: Any = None,
                     eps: float | None = None, params: Mapping | None = None,
                     replicas: int = 100, kill: int = 10, runs: int = 8,
                     dt: float | None = None, seed: int | None = None,
                     max_steps: int = 100_000_000, max_iter: int = 1_000_000,
                     s0: Hashable | None = None, dt_factor: float = 0.05,
                     t_max: float = 1e9, backend: str = "auto") -> SplittingEstimate:
    r"""``P(xi reaches hi before lo)`` from ``x0``, by adaptive multilevel splitting.

    One AMS loop (:mod:`symavg.numeric.splitting`) over three path samplers:

    * a one-variable diffusion (``sa.SDE`` or a reduced ``EffectiveModel``): the
      reaction coordinate is the variable, Euler-Maruyama with the Brownian-bridge exit
      test (module docstring);
    * a diffusion in several variables, or any diffusion with ``coordinate=`` given: the
      reaction coordinate :math:`\xi` is ``coordinate`` (a SymPy expression of the
      state), the sets are :math:`A = \{\xi \le lo\}` and :math:`B = \{\xi \ge hi\}`,
      full states are stored and restarted from
      (:mod:`symavg.numeric.diffusion_paths`);
    * a PDMP (:class:`~symavg.SwitchingSDE` without noise) in one slow variable: the
      coordinate is that variable, a replica's state is ``(x, chain state)``
      (:mod:`symavg.numeric.pdmp_paths`).

    Each of the ``runs`` independent runs uses ``replicas`` paths and kills ``kill`` of
    them (and every tie) per iteration; the estimator is unbiased. Its relative variance
    per run is about :math:`\log(1/p)/N` for :math:`N` replicas, so ``p = 1e-10`` costs
    about ``23 replicas / kill`` iterations.

    Parameters
    ----------
    model : SDE, EffectiveModel or SwitchingSDE (a PDMP)
    x0 : dict {Symbol: float}
        The start (every variable of the state), strictly between the sets.
    lower, upper : dict {Symbol: float} or float
        ``lo`` and ``hi``: ``{x: value}`` when the coordinate is the variable ``x``, or the
        values of ``coordinate``.
    coordinate : SymPy expression, optional
        The reaction coordinate :math:`\xi(X)` of a diffusion; required in several
        variables. ``None``: the variable itself (one variable).
    eps, params
        Values of the scale parameter and of the other parameters.
    replicas, kill, runs
        ``N`` replicas per run, killed ``kill`` (with ties) per iteration; independent
        runs (at least 2) for the standard error.
    dt, seed, max_steps, max_iter
        Time step (diffusions: the Euler-Maruyama step, default ``1e-3``; PDMPs: the RK4
        step in chain states without an exact flow, default ``4 dt_factor / R`` as in
        :func:`symavg.simulate`), seed, the step limit per path (diffusions) and the
        iteration limit per run.
    s0, dt_factor, t_max, backend
        PDMPs only: the initial chain state (default drawn per replica from the
        stationary law of :math:`Q(x_0)`), the step factor, the time limit per path and
        the kernel backend.

    Returns
    -------
    SplittingEstimate

    Examples
    --------
    Brownian motion from 0 reaches 1 before -1 with probability 1/2:

    >>> import sympy as sp, symavg as sa
    >>> from symavg.numeric.diffusion_exit import exit_probability
    >>> x = sp.Symbol("x", real=True)
    >>> bm = sa.SDE([x], [0], diffusion=[[1]])
    >>> est = exit_probability(bm, {x: 0.0}, {x: -1.0}, {x: 1.0}, replicas=50, kill=5,
    ...                        runs=4, dt=1e-3, seed=2)
    >>> abs(est.probability - 0.5) < 4 * est.stderr + 0.05
    True

    In the plane, with the coordinate ``x + y`` (sets ``x + y <= -1`` and ``x + y >= 1``),
    the same by symmetry:

    >>> y = sp.Symbol("y", real=True)
    >>> bm2 = sa.SDE([x, y], [0, 0], diffusion=[[1, 0], [0, 1]])
    >>> est = exit_probability(bm2, {x: 0.0, y: 0.0}, -1.0, 1.0, coordinate=x + y,
    ...                        replicas=50, kill=5, runs=4, dt=1e-3, seed=2)
    >>> abs(est.probability - 0.5) < 4 * est.stderr + 0.05
    True
    """
    from ..models import SwitchingSDE

    if isinstance(model, SwitchingSDE):
        from .pdmp_paths import pdmp_exit_probability

        if coordinate is not None and [coordinate] != list(model.state):
            raise ModelError("the reaction coordinate of a PDMP is its slow variable; drop "
                             "coordinate=")
        return pdmp_exit_probability(model, x0, _face(lower, model.state), _face(upper,
                                     model.state), eps=eps, params=params, s0=s0,
                                     replicas=replicas, kill=kill, runs=runs, dt=dt,
                                     dt_factor=dt_factor, seed=seed, max_iter=max_iter,
                                     t_max=t_max, backend=backend)
    dt = 1e-3 if dt is None else dt
    _check_common(replicas, dt)
    check_splitting(replicas, kill, runs)
    if coordinate is not None or len(getattr(model, "state", ())) > 1:
        return _coordinate_exit_probability(model, x0, lower, upper, coordinate, eps, params,
                                            replicas, kill, runs, dt, seed, max_steps,
                                            max_iter)
    ker = _kernel(model, eps, params)
    z0, lo, hi = _bounds(ker, x0, _face(lower, model.state), _face(upper, model.state))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ModelError("exit_probability needs both faces: lower={x: lo}, upper={x: hi}")
    return splitting(_LineSampler(ker, dt, max_steps), lambda i: np.array([z0]), lo, hi,
                     replicas=replicas, kill=kill, runs=runs, seed=seed, max_iter=max_iter,
                     dt=dt)


def _face(side: Mapping | float | None, state: Any) -> Mapping | None:
    """A face given as ``{x: value}`` (kept) or as a number (the one variable's value)."""
    if side is None or isinstance(side, Mapping):
        return side
    if len(state) != 1:
        raise ModelError(f"a face given as a number {side} needs coordinate= in several "
                         f"variables {list(state)}")
    return {state[0]: float(side)}


def _coordinate_exit_probability(model: Any, x0: Mapping, lower: Any, upper: Any,
                                 coordinate: Any, eps: float | None, params: Mapping | None,
                                 replicas: int, kill: int, runs: int, dt: float,
                                 seed: int | None, max_steps: int, max_iter: int
                                 ) -> SplittingEstimate:
    """The several-variable route: AMS on the reaction coordinate ``xi``."""
    from .diffusion_paths import coordinate_sampler

    state = list(getattr(model, "state", ()))
    if coordinate is None:
        raise ModelError(f"the model has several variables {state}: give the reaction "
                         "coordinate, exit_probability(..., coordinate=expr) with expr a "
                         "SymPy expression of the state, and lower=/upper= its values on the "
                         "sets A = {expr <= lower} and B = {expr >= upper}")
    xi = sp.sympify(coordinate)
    faces = []
    for side, name in ((lower, "lower"), (upper, "upper")):
        if isinstance(side, Mapping):
            if len(side) != 1 or sp.sympify(next(iter(side))) != xi:
                raise ModelError(f"{name} must be a number (the value of the coordinate "
                                 f"{xi}) or {{{xi}: value}}; got {side}")
            side = next(iter(side.values()))
        if side is None:
            raise ModelError(f"exit_probability needs both faces: give {name}= (a value of "
                             f"the coordinate {xi})")
        faces.append(float(side))
    lo, hi = faces
    missing = [z for z in state if z not in x0]
    if missing:
        raise ModelError(f"x0 has no value for {missing}")
    ker = coordinate_sampler(model, xi, eps, params, dt, max_steps)
    z = np.array([float(x0[v]) for v in state])
    c0 = ker.value(z)
    if not lo < c0 < hi:
        raise ModelError(f"x0 is not between the sets: the coordinate {xi} is {c0:.6g} there, "
                         f"not inside ({lo}, {hi})")
    return splitting(ker, lambda i: z, lo, hi, replicas=replicas, kill=kill, runs=runs,
                     seed=seed, max_iter=max_iter, dt=dt)


@dataclass(frozen=True)
class SplittingExitTime(LogRate):
    r"""The mean exit time of a 1-D well by splitting and the renewal formula.

    Attributes
    ----------
    mean, stderr : float
        :math:`E[\tau]` and its standard error (delta method on the three estimated
        pieces, independent).
    eps : float
    probability : SplittingEstimate
        The AMS estimate of ``p``.
    approach, failure, success : float
        :math:`t_1`, :math:`E[T_f]` (plain Monte Carlo) and :math:`E[T_s]` (AMS).
    cycle : float
        :math:`E[C_f]`, the mean duration of a failed cycle :math:`z_0 \to x_0 \to z_0`
        (for a diffusion :math:`t_1 + E[T_f]`; for a PDMP measured, see
        :mod:`symavg.numeric.pdmp_paths`).
    """

    mean: float
    stderr: float
    eps: float
    probability: SplittingEstimate
    approach: float
    failure: float
    success: float
    cycle: float = math.nan


def splitting_mean_exit_time(model: Any, x0: Mapping, upper: Mapping, *, level: float,
                             eps: float | None = None, params: Mapping | None = None,
                             paths: int = 200, replicas: int = 100, kill: int = 10,
                             runs: int = 8, dt: float | None = None, seed: int | None = None,
                             max_steps: int = 100_000_000, s0: Hashable | None = None,
                             dt_factor: float = 0.05, t_max: float = 1e9,
                             backend: str = "auto") -> SplittingExitTime:
    r"""Mean time from ``x0`` (a stable point) to reach ``upper``, for a 1-D diffusion or a
    one-variable PDMP.

    ``level`` (:math:`z_0`, between ``x0`` and ``upper``, a few noise widths
    :math:`\sqrt{\epsilon}` from ``x0``) cuts the path into cycles; see the module
    docstring for the renewal formula. :math:`t_1` and :math:`E[T_f]` come from
    ``paths`` plain paths each, :math:`p` and :math:`E[T_s]` from
    :func:`exit_probability`.

    A PDMP (:class:`~symavg.SwitchingSDE` without noise, one slow variable) takes the
    renewal formula of :mod:`symavg.numeric.pdmp_paths`,
    :math:`E[\tau] = t_1 + E[T_s] + \frac{1-p}{p} E[C_f]` with :math:`C_f` the failed
    cycle :math:`z_0 \to x_0 \to z_0` measured by plain Monte Carlo: exact when a single
    chain state flows up through ``level`` (checked; an error otherwise), since every
    upward crossing of :math:`z_0` is then at the same full state.

    Parameters
    ----------
    model : SDE, EffectiveModel or SwitchingSDE (a PDMP)
        One variable.
    x0, upper : dict {Symbol: float}
        The stable point and the target face.
    level : float
        The intermediate point :math:`z_0`.
    eps, params
        Values of the scale parameter and of the other parameters.
    paths : int
        Plain paths for :math:`t_1` and for :math:`E[T_f]`.
    replicas, kill, runs, dt, seed, max_steps
        As in :func:`exit_probability` (``dt`` default ``1e-3`` for a diffusion).
    s0, dt_factor, t_max, backend
        PDMPs only, as in :func:`exit_probability` (``s0`` the chain state at the start).

    Returns
    -------
    SplittingExitTime

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> from symavg.numeric.diffusion_exit import splitting_mean_exit_time
    >>> x = sp.Symbol("x", real=True)
    >>> ou = sa.SDE([x], [-x], diffusion=[[sa.epsilon]])
    >>> est = splitting_mean_exit_time(ou, {x: 0.0}, {x: 1.0}, level=0.3, eps=0.1,
    ...                                paths=100, replicas=40, kill=4, dt=2e-3, seed=1)
    >>> est.probability.probability < 0.1 < est.approach
    True
    """
    from ..models import SwitchingSDE

    if isinstance(model, SwitchingSDE):
        from .pdmp_paths import pdmp_splitting_mean_exit_time

        mean, se, pe, t1, tf, cf = pdmp_splitting_mean_exit_time(
            model, x0, upper, level=level, eps=eps, params=params, s0=s0, paths=paths,
            replicas=replicas, kill=kill, runs=runs, dt=dt, dt_factor=dt_factor, seed=seed,
            t_max=t_max, backend=backend)
        return SplittingExitTime(mean, se, float(eps) if eps is not None else math.nan, pe,
                                 t1, tf, pe.success_time, cf)
    if len(getattr(model, "state", ())) > 1:
        raise ModelError(f"splitting_mean_exit_time is for one variable; the model has "
                         f"{list(model.state)}. In several variables a path crosses the level "
                         "set of a coordinate at a spread-out point, so the cycles do not "
                         "renew: use exit_probability(..., coordinate=expr), or reduce the "
                         "model first (sa.reduce(model, order=1)) when the others are fast")
    dt = 1e-3 if dt is None else dt
    ker = _kernel(model, eps, params)
    v = ker.variable
    a, _, b = _bounds(ker, x0, None, upper)
    if not (a < level < b):
        raise ModelError(f"need x0 < level < upper; got {a}, {level}, {b}")
    _check_common(paths, dt)
    ss = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(ss[0])
    ker.seed(rng)
    s1, _ = ker.exit_many(np.full(paths, a), dt, -math.inf, level, max_steps)
    s2, c2 = ker.exit_many(np.full(paths, level), dt, a, b, max_steps)
    fail = c2 == -1
    if fail.sum() < 2:
        raise SimulationError(f"fewer than 2 paths from level = {level} returned to x0 = {a}: "
                              "the well is not metastable here (use plain Monte Carlo)")
    t1, tf = float(s1.mean() * dt), float(s2[fail].mean() * dt)
    se1 = float(s1.std(ddof=1) * dt / math.sqrt(paths))
    sef = float(s2[fail].std(ddof=1) * dt / math.sqrt(fail.sum()))
    pe = exit_probability(model, {v: level}, {v: a}, {v: b}, eps=eps, params=params,
                          replicas=replicas, kill=kill, runs=runs, dt=dt,
                          seed=int(ss[1].generate_state(1)[0]), max_steps=max_steps)
    p = pe.probability
    if p <= 0:
        raise SimulationError("no AMS replica reached upper: raise replicas")
    ts = pe.success_time
    mean = t1 + ts + (1 - p) / p * (t1 + tf)
    stderr = math.sqrt(((t1 + tf) / p**2 * pe.stderr) ** 2 + (se1 / p) ** 2
                       + ((1 - p) / p * sef) ** 2)
    return SplittingExitTime(float(mean), float(stderr),
                             float(eps) if eps is not None else math.nan, pe, t1, tf, ts,
                             t1 + tf)
