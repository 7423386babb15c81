r"""Representative-volume-element studies of random media.

For a stationary ergodic random medium the apparent tensor :math:`A_L` of a
sample of side ``L`` converges to the deterministic effective tensor
:math:`A^*` as :math:`L\to\infty`. Its three standard versions, for periodic,
affine-Dirichlet (kinematic) and uniform-flux (static) boundary conditions,
satisfy per sample (Huet 1990; Sab 1992; Kanit et al. 2003)

.. math::

    \langle a^{-1}\rangle_L^{-1} \le A_L^{N} \le A_L^{P} \le A_L^{D}
    \le \langle a\rangle_L ,

and for short-range correlated media their fluctuations decay like the
central limit theorem, :math:`\operatorname{Var}A_L \sim C L^{-d}`
(Gloria & Otto 2011). :func:`rve_study` measures all of this on samples of
several sizes, with the finite-volume discretisation of
:mod:`symavg.spatial.fv` (for which the ordering holds exactly).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from scipy import stats

from .. import _progress
from ..errors import ModelError
from .bounds import hashin_shtrikman
from .fv import BCS, SMALL_SAMPLE_REASON, FVProblem

ORDER = ("neumann", "periodic", "dirichlet")


class Medium(Protocol):
    dim: int
    resolution: int

    @property
    def values(self) -> tuple[float, ...]: ...

    @property
    def fractions(self) -> tuple[float, ...]: ...

    def sample(self, L: int, rng: np.random.Generator) -> np.ndarray: ...


@dataclass(frozen=True)
class SampleResult:
    """Apparent tensors of one sample (one per boundary condition) and its
    Voigt/Reuss averages."""

    size: int
    index: int
    tensors: dict[str, np.ndarray]
    voigt: float
    reuss: float
    ordering: bool
    ordering_detail: str


def _ordering(tensors: dict[str, np.ndarray], voigt: float, reuss: float,
              rtol: float = 1e-7) -> tuple[bool, str]:
    d = next(iter(tensors.values())).shape[0]
    chain: list[tuple[str, np.ndarray]] = [("Reuss", reuss * np.eye(d))]
    chain += [(bc, tensors[bc]) for bc in ORDER if bc in tensors]
    chain.append(("Voigt", voigt * np.eye(d)))
    scale = voigt
    bad = []
    for (n1, t1), (n2, t2) in zip(chain[:-1], chain[1:]):
        lam = float(np.linalg.eigvalsh(0.5 * ((t2 - t1) + (t2 - t1).T)).min())
        if lam < -rtol * scale:
            bad.append(f"{n1} <= {n2} violated (min eigenvalue {lam:.2e})")
    return not bad, "; ".join(bad) if bad else "Reuss <= " + " <= ".join(
        n for n, _ in chain[1:])


def sample_task(medium: Medium, L: int, index: int, bcs: tuple[str, ...],
                entropy: int, spawn_key: tuple[int, ...], tol: float = 1e-9) -> SampleResult:
    """Draw one sample of side ``L`` and compute its apparent tensors.

    A plain top-level function of picklable arguments, so that any executor
    (``concurrent.futures``, ``dask.distributed``) can run it.
    """
    rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=spawn_key))
    a = medium.sample(L, rng)
    tensors = {bc: FVProblem(a, bc).apparent_tensor(tol=tol).tensor for bc in bcs}
    voigt, reuss = float(np.mean(a)), float(1.0 / np.mean(1.0 / a))
    ok, detail = _ordering(tensors, voigt, reuss)
    return SampleResult(L, index, tensors, voigt, reuss, ok, detail)


def _scalar(T: np.ndarray) -> float:
    return float(np.trace(T)) / T.shape[0]


@dataclass(frozen=True)
class SizeStats:
    """Statistics of the isotropic part ``tr(A_L)/d`` at one size and boundary condition."""

    size: int
    bc: str
    count: int
    mean: float
    var: float
    ci: tuple[float, float]


@dataclass(frozen=True)
class RVEStudy:
    """Result of :func:`rve_study`.

    Attributes
    ----------
    samples : tuple of SampleResult
        Every finished sample (kept even when others failed).
    failures : tuple of (size, index, error)
        Samples that raised or could not be submitted.
    stats : tuple of SizeStats
        Per size and boundary condition: mean, variance, 95% confidence interval
        of :math:`\\operatorname{tr}A_L/d`.
    variance_exponent : dict bc -> (gamma, standard error)
        Fit of :math:`\\operatorname{Var} \\sim C L^{\\gamma}` (theory :math:`\\gamma=-d`).
    bc_bias : tuple of (size, D - N, D - P, P - N)
        Differences of the means between boundary conditions (the same samples are
        solved under every boundary condition, so these are paired differences).
    bc_gap_exponent : (beta, standard error) or None
        Fit of the gap :math:`D - N \\sim C L^{\\beta}` over the larger half of the
        sizes (at least the two largest), where the boundary layers are thin compared
        with the sample; theory :math:`\\beta = -1` (Yue & E 2007; Bourgeat &
        Piatnitski 2004). ``None`` without both ``"dirichlet"`` and ``"neumann"``.
    ordering_ok : bool
        Whether :math:`\\text{Reuss}\\le N\\le P\\le D\\le\\text{Voigt}` held in every sample.
    hashin_shtrikman : (lower, upper)
        Hashin-Shtrikman bounds from the nominal phase values and fractions
        (valid for statistically isotropic media).
    estimate, estimate_ci : float, (float, float)
        Periodic mean at the largest size, with its 95% CI.
    discretisation_error : float or None
        ``2 |mean(P at 2r) - mean(P at r)|`` over paired samples at the largest
        size (first-order estimate of the remaining pixel error), when measured.
    estimate_extrapolated : float or None
        ``estimate + 2 mean(P at 2r - P at r)``: first-order Richardson extrapolation
        in the pixel size from the same paired re-solves. The finite-volume error on a
        periodic checkerboard (contrast 4) decays like ``h^1.18`` (measured, n = 8 ...
        256), so this slightly over-corrects (by about 20% of the correction).
    rve_size, rve_size_predicted : int or None, float or None
        Smallest tested size with ``1.96 std/mean <= tol`` and relative BC gap
        ``(D - N)/P <= tol``; the size predicted from the variance fit.

    Examples
    --------
    >>> import symavg as sa
    >>> medium = sa.RandomCheckerboard(1.0, 4.0, p=0.5, dim=2, resolution=2)
    >>> study = sa.rve_study(medium, sizes=[4], samples=2, bc=("periodic", "dirichlet"),
    ...                      seed=1, progress=False, resolution_check=False)
    >>> len(study.samples), study.failures, study.bcs
    (2, (), ('periodic', 'dirichlet'))
    """

    medium: Any
    sizes: tuple[int, ...]
    bcs: tuple[str, ...]
    samples: tuple[SampleResult, ...]
    failures: tuple[tuple[int, int, str], ...]
    stats: tuple[SizeStats, ...]
    variance_exponent: dict[str, tuple[float, float]]
    bc_bias: tuple[tuple[int, float, float, float], ...]
    bc_gap_exponent: tuple[float, float] | None
    ordering_ok: bool
    hashin_shtrikman: tuple[float, float]
    estimate: float
    estimate_ci: tuple[float, float]
    discretisation_error: float | None
    tol: float | None
    rve_size: int | None
    rve_size_predicted: float | None
    notes: tuple[str, ...] = field(default_factory=tuple)
    estimate_extrapolated: float | None = None

    @property
    def complete(self) -> bool:
        return not self.failures

    def stat(self, size: int, bc: str) -> SizeStats:
        for s in self.stats:
            if s.size == size and s.bc == bc:
                return s
        raise KeyError((size, bc))

    @property
    def within_hashin_shtrikman(self) -> bool:
        lo, hi = self.hashin_shtrikman
        return bool(lo <= self.estimate_ci[1] and self.estimate_ci[0] <= hi)

    def table(self) -> str:
        """A text table: per size and BC, count, mean, variance and 95% CI."""
        lines = [f"RVE study of {self.medium!r}",
                 f"{'L':>5} {'bc':>10} {'n':>4} {'mean':>10} {'var':>10} {'95% CI':>23}"]
        for s in self.stats:
            lines.append(f"{s.size:>5} {s.bc:>10} {s.count:>4} {s.mean:>10.5f} {s.var:>10.3e} "
                         f"[{s.ci[0]:>9.5f}, {s.ci[1]:>9.5f}]")
        for bc, (g, se) in self.variance_exponent.items():
            lines.append(f"variance exponent ({bc}): {g:.3f} +- {se:.3f}")
        if self.bc_gap_exponent is not None:
            beta, se = self.bc_gap_exponent
            sizes = ", ".join(f"{L}: {g:.2e}" for L, g, _, _ in self.bc_bias)
            lines.append(f"BC gap D - N by size ({sizes}); exponent {beta:.3f} +- {se:.3f} "
                         "(theory -1)")
        lo, hi = self.hashin_shtrikman
        lines.append(f"estimate {self.estimate:.5f}, 95% CI [{self.estimate_ci[0]:.5f}, "
                     f"{self.estimate_ci[1]:.5f}]; Hashin-Shtrikman [{lo:.5f}, {hi:.5f}]")
        if self.discretisation_error is not None:
            lines.append(f"discretisation error estimate {self.discretisation_error:.2e}; "
                         f"estimate extrapolated in pixel size "
                         f"{self.estimate_extrapolated:.5f}")
        lines.append("ordering Reuss <= N <= P <= D <= Voigt: "
                     + ("held in every sample" if self.ordering_ok else "VIOLATED"))
        if self.tol is not None:
            pred = ("-" if self.rve_size_predicted is None
                    else f"{self.rve_size_predicted:.1f}")
            lines.append(f"RVE size for tol={self.tol:g}: tested {self.rve_size}, "
                         f"predicted {pred}")
        if self.failures:
            lines.append(f"{len(self.failures)} sample(s) failed: {self.failures[0][2]}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from ..report.display import rve_html

        return rve_html(self)

    def plot(self) -> Any:
        """Figure: mean +- CI against L per BC with the HS bounds; the variance
        against L (log-log) with the fitted power law and the slope ``-d``; and, when
        both are present, the Dirichlet - Neumann gap against L with the slope -1."""
        from ..report.display import Figure

        gap = self.bc_gap_exponent is not None
        fig = Figure(figsize=(15 if gap else 10, 4))
        axes = fig.subplots(1, 3 if gap else 2)
        ax1, ax2 = axes[0], axes[1]
        for bc in self.bcs:
            rows = [s for s in self.stats if s.bc == bc]
            L = np.array([s.size for s in rows], dtype=float)
            m = np.array([s.mean for s in rows])
            err = np.array([(s.ci[1] - s.ci[0]) / 2 for s in rows])
            ax1.errorbar(L, m, yerr=err, marker="o", capsize=3, label=bc)
            v = np.array([s.var for s in rows])
            keep = v > 0
            (pts,) = ax2.loglog(L[keep], v[keep], "o", label=bc)
            if bc in self.variance_exponent and keep.sum() >= 2:
                g, _ = self.variance_exponent[bc]
                c = np.exp(np.mean(np.log(v[keep]) - g * np.log(L[keep])))
                ax2.loglog(L[keep], c * L[keep] ** g, "-", lw=1, color=pts.get_color(),
                           label=f"{bc}: slope {g:.2f}")
        lo, hi = self.hashin_shtrikman
        ax1.axhline(lo, color="grey", ls=":", label="Hashin-Shtrikman")
        ax1.axhline(hi, color="grey", ls=":")
        if self.estimate_extrapolated is not None:
            ax1.axhline(self.estimate_extrapolated, color="k", lw=0.8, ls="--",
                        label="periodic, extrapolated in pixel size")
        ax1.set_xlabel("sample size L")
        ax1.set_ylabel("tr A_L / d")
        ax1.legend(fontsize=8)
        rows = [s for s in self.stats if s.bc == ("periodic" if "periodic" in self.bcs
                                                   else self.bcs[0]) and s.var > 0]
        if len(rows) >= 2:
            L = np.array([s.size for s in rows], dtype=float)
            d = self.medium.dim
            ax2.loglog(L, rows[0].var * (L / L[0]) ** (-d), "k:", lw=1,
                       label=f"slope -{d} (theory)")
        ax2.set_xlabel("sample size L")
        ax2.set_ylabel("Var tr A_L / d")
        ax2.legend(fontsize=8)
        if gap:
            ax3 = axes[2]
            L = np.array([b[0] for b in self.bc_bias], dtype=float)
            g = np.array([b[1] for b in self.bc_bias])
            ax3.loglog(L, g, "o-", label="D - N (mean)")
            beta, _ = self.bc_gap_exponent
            ax3.loglog(L, g[-1] * (L / L[-1]) ** -1.0, "k:", lw=1, label="slope -1 (theory)")
            ax3.set_title(f"fitted slope {beta:.2f}", fontsize=9)
            ax3.set_xlabel("sample size L")
            ax3.set_ylabel("BC gap")
            ax3.legend(fontsize=8)
        from matplotlib.ticker import FixedLocator, NullLocator

        for ax in axes:  # sizes as plain tick labels on a base-2 log axis
            ax.set_xscale("log", base=2)
            ax.xaxis.set_major_locator(FixedLocator(list(self.sizes)))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xticklabels([str(L) for L in self.sizes])
        fig.tight_layout()
        return fig


def _ci(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float]:
    n = x.size
    m = float(np.mean(x))
    if n < 2:
        return m, float("nan"), float("nan"), float("nan")
    v = float(np.var(x, ddof=1))
    h = float(stats.t.ppf(0.5 + level / 2, n - 1)) * math.sqrt(v / n)
    return m, v, m - h, m + h


@_progress.one_bar("rve_study", unit="sample", total=lambda args: len(args.arguments["sizes"])
                   * args.arguments["samples"])
def rve_study(medium: Medium, sizes: Sequence[int], samples: int = 20,
              bc: str | Sequence[str] = BCS, seed: int = 0, executor: Any = None,
              tol: float | None = None, *, progress: bool | None = None,
              resolution_check: bool = True, solver_tol: float = 1e-9) -> RVEStudy:
    r"""Apparent tensors of ``samples`` random samples at each size in ``sizes``.

    Parameters
    ----------
    medium : RandomCheckerboard, BooleanModel, ThresholdedGaussian, ...
        Anything with ``dim``, ``resolution``, ``values``, ``fractions`` and
        ``sample(L, rng)``.
    sizes : sequence of int
        Sample sides ``L`` (in the medium's unit length).
    samples : int
        Samples per size.
    bc : str or sequence of str
        Any of ``"periodic"``, ``"dirichlet"``, ``"neumann"`` (default all).
    seed : int
        Sample ``i`` of size index ``s`` uses ``SeedSequence(seed, spawn_key=(s, i))``,
        so results do not depend on the executor or on the order of completion.
    executor : object with ``submit(fn, *args)``, optional
        E.g. a ``concurrent.futures`` pool or a ``dask.distributed.Client``.
        A failing ``submit`` or ``result()`` is recorded in ``failures``; the
        finished samples are kept.
    tol : float, optional
        Relative tolerance defining the RVE size.
    progress : bool, optional
        One progress bar over the samples. ``None`` (default): in a terminal or a notebook,
        after the first second, never under CI (``CI`` set); ``True`` always, ``False`` never.
    resolution_check : bool
        Re-solve up to 8 samples of the largest size at twice the resolution
        (periodic BC) to estimate the discretisation error.

    Returns
    -------
    RVEStudy

    Examples
    --------
    >>> import symavg as sa
    >>> medium = sa.RandomCheckerboard(1.0, 4.0, p=0.5, dim=2, resolution=2)
    >>> study = sa.rve_study(medium, sizes=[4, 8], samples=3, bc=("periodic",), seed=0,
    ...                      progress=False, resolution_check=False)
    >>> [(s.size, s.bc, s.count) for s in study.stats]
    [(4, 'periodic', 3), (8, 'periodic', 3)]
    >>> lo, hi = sa.hashin_shtrikman((1.0, 4.0), (0.5, 0.5), 2)
    >>> all(lo - 0.5 < s.mean < hi + 0.5 for s in study.stats)
    True
    """
    bcs = (bc,) if isinstance(bc, str) else tuple(bc)
    for b in bcs:
        if b not in BCS:
            raise ModelError(f"unknown boundary condition {b!r}; use any of {BCS}.")
    try:
        sizes_in = tuple(sizes)
    except TypeError as exc:
        raise ModelError(f"sizes must be a sequence of positive integers; got {sizes!r}.") \
            from exc
    def whole(L: Any) -> bool:
        try:
            return not isinstance(L, bool) and float(L).is_integer() and L >= 1
        except (TypeError, ValueError):
            return False

    if not sizes_in or not all(whole(L) for L in sizes_in):
        raise ModelError(f"sizes must be positive whole numbers of the medium's unit length "
                         f"(e.g. [2, 4, 8, 16]); got {sizes_in}.")
    sizes = tuple(int(L) for L in sizes_in)
    if len(set(sizes)) != len(sizes):
        raise ModelError(f"sizes {sizes} repeat a size; give each size once.")
    if int(samples) != samples or samples < 2:
        raise ModelError(f"samples must be an integer >= 2 to estimate variances; got "
                         f"{samples!r}.")
    samples = int(samples)
    if tol is not None and not 0 < tol < 1:
        raise ModelError(f"tol is a relative tolerance and must lie in (0, 1); got {tol!r}.")
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise ModelError(f"executor {executor!r} has no submit(fn, *args) method; pass a "
                         "concurrent.futures executor or a dask.distributed Client.")
    res = int(medium.resolution)
    for L in sizes:  # before any sample is drawn
        for b in bcs:
            if L * res < 2:
                raise ModelError(
                    f"size L={L} of {medium!r} gives a sample of {L * res} pixel(s) per "
                    f"direction, too small for the {b} boundary condition: "
                    f"{SMALL_SAMPLE_REASON[b]}. Use sizes with L * resolution >= 2 "
                    f"(here L >= {math.ceil(2 / res)}) or a finer resolution of the medium.")
    jobs = [(si, L, i) for si, L in enumerate(sizes) for i in range(samples)]
    done: list[SampleResult] = []
    failures: list[tuple[int, int, str]] = []
    if executor is None:
        for si, L, i in jobs:
            try:
                done.append(sample_task(medium, L, i, bcs, seed, (si, i), solver_tol))
            except Exception as exc:  # recorded, the study goes on
                failures.append((L, i, repr(exc)))
            _progress.advance()
    else:
        futures = []
        for k, (si, L, i) in enumerate(jobs):
            try:
                futures.append(((L, i), executor.submit(sample_task, medium, L, i, bcs,
                                                        seed, (si, i), solver_tol)))
            except Exception as exc:  # the executor broke: keep what was submitted
                failures.extend((L2, i2, f"not submitted: {exc!r}") for _, L2, i2 in jobs[k:])
                break
        for (L, i), fut in futures:
            try:
                done.append(fut.result())
            except Exception as exc:
                failures.append((L, i, repr(exc)))
            _progress.advance()
    done.sort(key=lambda s: (s.size, s.index))
    return _summarise(medium, sizes, bcs, done, failures, seed, tol, resolution_check,
                      solver_tol)


def _summarise(medium: Medium, sizes: tuple[int, ...], bcs: tuple[str, ...],
               done: list[SampleResult], failures: list[tuple[int, int, str]], seed: int,
               tol: float | None, resolution_check: bool, solver_tol: float) -> RVEStudy:
    d = medium.dim
    notes: list[str] = []
    st: list[SizeStats] = []
    for L in sizes:
        for b in bcs:
            x = np.array([_scalar(s.tensors[b]) for s in done if s.size == L])
            if x.size == 0:
                continue
            m, v, lo, hi = _ci(x)
            st.append(SizeStats(L, b, int(x.size), m, v, (lo, hi)))
    expo: dict[str, tuple[float, float]] = {}
    for b in bcs:
        rows = [s for s in st if s.bc == b and s.count >= 2 and s.var > 0]
        if len(rows) >= 2:
            lx = np.log([s.size for s in rows])
            ly = np.log([s.var for s in rows])
            fit = stats.linregress(lx, ly)
            expo[b] = (float(fit.slope), float(fit.stderr) if len(rows) > 2 else float("nan"))
    bias = []
    for L in sizes:
        means = {s.bc: s.mean for s in st if s.size == L}
        nan = float("nan")
        bias.append((L, means.get("dirichlet", nan) - means.get("neumann", nan),
                     means.get("dirichlet", nan) - means.get("periodic", nan),
                     means.get("periodic", nan) - means.get("neumann", nan)))
    gap_expo = None
    gaps = [(L, g) for L, g, _, _ in bias if np.isfinite(g) and g > 0]
    if len(gaps) >= 2:
        tail = gaps[len(gaps) // 2:]  # the larger half of the sizes, at least two
        tail = tail if len(tail) >= 2 else gaps[-2:]
        lx = np.log([L for L, _ in tail])
        ly = np.log([g for _, g in tail])
        if len(tail) > 2:
            fit = stats.linregress(lx, ly)
            gap_expo = (float(fit.slope), float(fit.stderr))
        else:
            gap_expo = (float((ly[1] - ly[0]) / (lx[1] - lx[0])), float("nan"))
    main = "periodic" if "periodic" in bcs else bcs[0]
    largest = max((s.size for s in st if s.bc == main), default=sizes[-1])
    try:
        top = next(s for s in st if s.size == largest and s.bc == main)
        estimate, est_ci = top.mean, top.ci
    except StopIteration:
        estimate, est_ci = float("nan"), (float("nan"), float("nan"))
    hs = hashin_shtrikman(medium.values, medium.fractions, d)
    disc = None
    extrapolated = None
    if resolution_check and hasattr(medium, "with_resolution"):
        fine = medium.with_resolution(2 * medium.resolution)
        si = sizes.index(largest)
        pairs = [s for s in done if s.size == largest][:8]
        diffs = []
        for s in pairs:
            r = sample_task(fine, largest, s.index, ("periodic",), seed, (si, s.index),
                            solver_tol)
            coarse = s.tensors.get("periodic")
            if coarse is None:
                coarse = FVProblem(medium.sample(largest, np.random.default_rng(
                    np.random.SeedSequence(seed, spawn_key=(si, s.index)))),
                    "periodic").apparent_tensor(solver_tol).tensor
            diffs.append(_scalar(r.tensors["periodic"]) - _scalar(coarse))
        if diffs:
            disc = 2.0 * abs(float(np.mean(diffs)))
            extrapolated = estimate + 2.0 * float(np.mean(diffs))
            notes.append(f"resolution check on {len(diffs)} samples at L={largest}: mean "
                         f"change {np.mean(diffs):+.2e} from resolution {medium.resolution} to "
                         f"{fine.resolution}")
    rve_size = None
    predicted = None
    if tol is not None:
        for L in sizes:
            rows = {s.bc: s for s in st if s.size == L}
            if main not in rows:
                continue
            p = rows[main]
            spread = 1.96 * math.sqrt(max(p.var, 0.0)) / p.mean
            gap = ((rows["dirichlet"].mean - rows["neumann"].mean) / p.mean
                   if "dirichlet" in rows and "neumann" in rows else 0.0)
            if spread <= tol and gap <= tol:
                rve_size = L
                break
        if main in expo:
            g, _ = expo[main]
            rows = [s for s in st if s.bc == main and s.var > 0]
            c = float(np.exp(np.mean([math.log(s.var) - g * math.log(s.size) for s in rows])))
            if g < 0:
                predicted = float(((tol * estimate / 1.96) ** 2 / c) ** (1.0 / g))
    return RVEStudy(medium, sizes, bcs, tuple(done), tuple(failures), tuple(st), expo,
                    tuple(bias), gap_expo, all(s.ordering for s in done), hs, estimate, est_ci,
                    disc, tol, rve_size, predicted, tuple(notes), extrapolated)
