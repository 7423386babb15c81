"""Random media and RVE studies."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import matplotlib
import numpy as np
import pytest

from symavg.errors import ModelError, SymavgError
from symavg.spatial import (
    BooleanModel,
    FVProblem,
    RandomCheckerboard,
    ThresholdedGaussian,
    hashin_shtrikman,
    rve_study,
)

matplotlib.use("Agg")

SQRT2 = float(np.sqrt(2.0))


@pytest.fixture(scope="module")
def checkerboard_study():
    return rve_study(RandomCheckerboard(1.0, 2.0, resolution=4), [2, 4, 8, 16], samples=24,
                     seed=1, tol=0.02, progress=False)


def test_random_checkerboard_sqrt_ab(checkerboard_study):
    """The 50/50 random checkerboard in 2-D has sigma* = sqrt(a b) by Keller-Dykhne
    duality (Keller, J. Math. Phys. 5 (1964) 548; Dykhne, Sov. Phys. JETP 32 (1971) 63;
    Torquato, Random Heterogeneous Materials (2002), Sec. 19.1). The periodic-BC
    estimate must agree within its 95% CI plus the measured pixel-discretisation error."""
    r = checkerboard_study
    half = (r.estimate_ci[1] - r.estimate_ci[0]) / 2
    assert r.discretisation_error is not None
    assert abs(r.estimate - SQRT2) <= half + r.discretisation_error
    # extrapolated in the pixel size: the discretisation bias (from below) is removed
    assert abs(r.estimate_extrapolated - SQRT2) <= half
    lo, hi = r.hashin_shtrikman
    assert lo <= SQRT2 <= hi
    assert r.within_hashin_shtrikman


def test_ordering_and_bc_bias(checkerboard_study):
    """Reuss <= N <= P <= D <= Voigt per sample (Huet 1990, Sab 1992); the BC gap shrinks."""
    r = checkerboard_study
    assert r.ordering_ok and all(s.ordering for s in r.samples)
    gaps = [g for _, g, _, _ in r.bc_bias]
    assert all(g > 0 for g in gaps)
    assert gaps[-1] < gaps[0]


def test_bc_gap_shrinks_like_one_over_L(checkerboard_study):
    """The gap between the affine-Dirichlet and uniform-flux apparent tensors is a
    boundary-layer effect of relative width O(1/L) (Yue & E, J. Comput. Phys. 222 (2007)
    556, Sec. 4; Bourgeat & Piatnitski, Ann. IHP Probab. Stat. 40 (2004) 153). Measured
    here: D - N = 6.4e-2, 4.7e-2, 2.8e-2, 1.5e-2 at L = 2, 4, 8, 16, local slope -0.91
    over the larger sizes (-0.93 at L = 32 for this medium)."""
    r = checkerboard_study
    beta, _ = r.bc_gap_exponent
    assert -1.25 < beta < -0.75
    # D above P above N in the mean at every size (paired, same samples)
    assert all(dn > 0 and dp > 0 and pn > 0 for _, dn, dp, pn in r.bc_bias)


def test_variance_exponent_near_minus_d(checkerboard_study):
    """Var A_L ~ L^-d for short-range correlated media (Gloria & Otto, Ann. Probab. 39
    (2011) 779): in 2-D the fitted exponent is close to -2 already at small sizes."""
    g, se = checkerboard_study.variance_exponent["periodic"]
    assert -2.4 < g < -1.6


def test_table_plot_rve_size(checkerboard_study):
    r = checkerboard_study
    text = r.table()
    assert "variance exponent" in text and "Hashin-Shtrikman" in text
    fig = r.plot()
    assert len(fig.axes) == 3  # means, variance decay, BC gap
    assert "BC gap" in text
    assert r.rve_size_predicted is not None and r.rve_size_predicted > 16
    assert r.rve_size is None  # no tested size is that large
    assert r.complete


def test_executor_gives_same_samples():
    m = RandomCheckerboard(1.0, 3.0, resolution=2)
    serial = rve_study(m, [2, 4], samples=4, seed=5, progress=False, resolution_check=False)
    with ThreadPoolExecutor(2) as pool:
        par = rve_study(m, [2, 4], samples=4, seed=5, executor=pool, progress=False,
                        resolution_check=False)
    for s1, s2 in zip(serial.samples, par.samples):
        for bc in s1.tensors:
            assert np.array_equal(s1.tensors[bc], s2.tensors[bc])


class _BreakingExecutor:
    """Runs tasks inline; ``submit`` breaks after ``ok`` calls and one task fails."""

    def __init__(self, ok: int, fail_at: int) -> None:
        self.ok, self.fail_at, self.calls = ok, fail_at, 0

    def submit(self, fn, *args):
        self.calls += 1
        if self.calls > self.ok:
            raise RuntimeError("executor shut down")
        fut: Future = Future()
        if self.calls == self.fail_at:
            fut.set_exception(MemoryError("worker died"))
        else:
            fut.set_result(fn(*args))
        return fut


def test_failing_executor_keeps_finished_samples():
    m = RandomCheckerboard(1.0, 3.0, resolution=2)
    r = rve_study(m, [2, 4], samples=4, seed=5, executor=_BreakingExecutor(6, 2),
                  progress=False, resolution_check=False)
    assert len(r.samples) == 5
    assert len(r.failures) == 3
    assert any("worker died" in f[2] for f in r.failures)
    assert any("not submitted" in f[2] for f in r.failures)
    assert not r.complete
    assert "failed" in r.table()


def test_dask_executor():
    """A dask.distributed client (optional extra ``symavg[distributed]``) runs the
    samples; the results are those of the serial study (same seeds)."""
    distributed = pytest.importorskip("distributed")
    m = RandomCheckerboard(1.0, 3.0, resolution=2)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None) as client:
        r = rve_study(m, [2, 4], samples=3, seed=5, executor=client, progress=False,
                      resolution_check=False)
    assert r.complete and len(r.samples) == 6
    serial = rve_study(m, [2, 4], samples=3, seed=5, progress=False, resolution_check=False)
    for s1, s2 in zip(serial.samples, r.samples):
        assert all(np.array_equal(s1.tensors[bc], s2.tensors[bc]) for bc in s1.tensors)


class _FailsAtFour(RandomCheckerboard):
    def sample(self, L, rng):
        if L == 4:
            raise MemoryError("worker ran out of memory")
        return super().sample(L, rng)


def test_dask_task_failures_are_reported_and_finished_samples_kept():
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None) as client:
        r = rve_study(_FailsAtFour(1.0, 3.0, resolution=2), [2, 4], samples=3, seed=5,
                      executor=client, progress=False, resolution_check=False)
    assert not r.complete
    assert [s.size for s in r.samples] == [2, 2, 2]
    assert sorted((L, i) for L, i, _ in r.failures) == [(4, 0), (4, 1), (4, 2)]
    assert all("out of memory" in err for _, _, err in r.failures)
    assert "3 sample(s) failed" in r.table()


def test_dask_worker_processes_and_cleanup():
    """Samples pickled to a separate worker process; when the cluster closes, no worker
    process is left behind (only multiprocessing's resource tracker, which exits with
    the interpreter)."""
    distributed = pytest.importorskip("distributed")
    psutil = pytest.importorskip("psutil")

    def workers() -> list:
        return [p for p in psutil.Process().children(recursive=True)
                if "resource_tracker" not in " ".join(p.cmdline())]

    before = {p.pid for p in workers()}
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        assert {p.pid for p in workers()} - before  # a worker process exists
        r = rve_study(RandomCheckerboard(1.0, 3.0, resolution=2), [2, 4], samples=2, seed=5,
                      executor=client, progress=False, resolution_check=False)
    assert r.complete and len(r.samples) == 4
    left = [p for p in workers() if p.pid not in before]
    gone, alive = psutil.wait_procs(left, timeout=10)
    assert not alive, f"worker processes left behind: {alive}"


def test_boolean_and_gaussian_media():
    rng = np.random.default_rng(0)
    bm = BooleanModel.from_fraction(1.0, 5.0, 0.3, radius=0.5, resolution=8)
    frac = np.mean([np.mean(bm.sample(12, rng) == 5.0) for _ in range(6)])
    assert frac == pytest.approx(0.3, abs=0.04)
    tg = ThresholdedGaussian(1.0, 5.0, correlation_length=0.5, level=0.5, resolution=4)
    frac = np.mean([np.mean(tg.sample(12, rng) == 5.0) for _ in range(6)])
    assert frac == pytest.approx(tg.fractions[1], abs=0.05)
    g = tg.field(8, np.random.default_rng(1))
    assert abs(np.mean(g)) < 0.3 and np.std(g) == pytest.approx(1.0, abs=0.3)
    b3 = BooleanModel(1.0, 2.0, radius=0.4, intensity=1.0, dim=3, resolution=4)
    assert b3.sample(2, rng).shape == (8, 8, 8)
    r = rve_study(bm, [2, 4], samples=4, seed=3, progress=False)
    assert r.ordering_ok
    lo, hi = r.hashin_shtrikman  # HS bounds for 30% inclusions of 5 in 1 (2-D)
    assert (lo, hi) == pytest.approx(hashin_shtrikman((1.0, 5.0), bm.fractions, 2))
    r = rve_study(tg, [2, 4], samples=3, seed=3, progress=False, resolution_check=False)
    assert r.ordering_ok and r.complete


def test_hashin_shtrikman_values():
    """Two-phase HS bounds in 2-D (Hashin & Shtrikman 1962): for (1, 4) at 50/50,
    lower = 1 + 0.5/(1/3 + 0.5/2) = 13/7, upper = 4 + 0.5/(-1/3 + 0.5/8) = 28/13."""
    lo, hi = hashin_shtrikman((1.0, 4.0), (0.5, 0.5), 2)
    assert lo == pytest.approx(13 / 7) and hi == pytest.approx(28 / 13)


def test_homogeneous_sample_all_bcs_exact():
    for bc in ("periodic", "dirichlet", "neumann"):
        T = FVProblem(np.full((6, 5, 4), 2.5), bc).apparent_tensor().tensor
        assert np.allclose(T, 2.5 * np.eye(3))


def test_laminate_sample_exact_bounds():
    """A layered sample (layers normal to e_1): periodic BC gives the exact laminate
    (harmonic across, arithmetic along); uniform flux is exact across the layers, affine
    Dirichlet along them (they attain the Reuss/Voigt bounds there)."""
    a = np.repeat(np.array([1.0, 3.0, 2.0, 5.0])[:, None], 6, axis=1)
    harm, arith = 1 / np.mean(1 / a[:, 0]), np.mean(a[:, 0])
    T = FVProblem(a, "periodic").apparent_tensor().tensor
    assert np.allclose(T, np.diag([harm, arith]))
    assert FVProblem(a, "neumann").apparent_tensor().tensor[0, 0] == pytest.approx(harm)
    assert FVProblem(a, "dirichlet").apparent_tensor().tensor[1, 1] == pytest.approx(arith)


def test_fft_preconditioned_cg_equals_sparse_direct_solve():
    """The FFT-preconditioned CG solves the same linear system as a sparse LU (the
    benchmark's reference), to solver tolerance, on a random 2-D and 3-D sample."""
    from symavg.spatial.fv import periodic_direct

    rng = np.random.default_rng(4)
    for shape in [(24, 20), (8, 6, 7)]:
        a = rng.choice([1.0, 10.0], size=shape) * rng.uniform(0.5, 1.5, size=shape)
        cg = FVProblem(a, "periodic").apparent_tensor(tol=1e-12).tensor
        assert np.allclose(cg, periodic_direct(a), rtol=0, atol=1e-10)


def test_three_dimensional_study_ordering():
    """3-D: the variational ordering holds per sample for all three BCs, and the
    estimate lies between the Reuss and Voigt averages of the phase values."""
    m = RandomCheckerboard(1.0, 4.0, dim=3, resolution=2)
    r = rve_study(m, [2, 3], samples=3, seed=2, progress=False, resolution_check=False)
    assert r.ordering_ok and r.complete
    assert 1 / (0.5 / 1.0 + 0.5 / 4.0) < r.estimate < 2.5


class _NeverSample(RandomCheckerboard):
    def sample(self, L, rng):  # a study that samples before validating is wrong
        raise AssertionError("sampled before the input was validated")


@pytest.mark.parametrize("bc", ["periodic", "dirichlet", "neumann"])
def test_sample_too_small_for_boundary_condition(bc):
    """One pixel across makes each apparent tensor degenerate: the affine-Dirichlet one
    is the column's Voigt average, the uniform-flux one its Reuss average, and a periodic
    bond joins a cell to itself. The error names the size, the BC and the fix, and is
    raised before any sample is drawn."""
    a = np.random.default_rng(0).uniform(1.0, 3.0, size=(1, 4))
    with pytest.raises(ModelError, match=rf"1 cell\(s\) in direction 0.*too small for the {bc}"
                                         r".*at least 2 cells"):
        FVProblem(a, bc)
    with pytest.raises(ModelError, match=rf"size L=1 .* 1 pixel\(s\).*{bc} boundary condition"
                                         r".*L >= 2.*finer resolution") as info:
        rve_study(_NeverSample(1.0, 2.0, resolution=1), [1, 2], samples=2, bc=bc,
                  progress=False)
    assert isinstance(info.value, SymavgError) and isinstance(info.value, ValueError)
    # two pixels across are enough, for every BC
    assert FVProblem(np.array([[1.0, 2.0], [3.0, 4.0]]), bc).apparent_tensor().tensor.shape \
        == (2, 2)


@pytest.mark.parametrize("kwargs,match", [
    ({"sizes": [2.5]}, "whole numbers"),
    ({"sizes": []}, "whole numbers"),
    ({"sizes": [2, 2]}, "repeat"),
    ({"sizes": ["two"]}, "whole numbers"),
    ({"samples": 1}, "samples must be an integer >= 2"),
    ({"tol": 1.5}, r"tol .* \(0, 1\)"),
    ({"executor": object()}, "no submit"),
])
def test_rve_study_bad_arguments(kwargs, match):
    args = {"sizes": [2], "samples": 2, **kwargs}
    with pytest.raises(ModelError, match=match):
        rve_study(_NeverSample(1.0, 2.0), args.pop("sizes"), progress=False, **args)


def test_bad_media_inputs():
    with pytest.raises(ModelError, match="positive"):
        RandomCheckerboard(-1.0, 2.0)
    with pytest.raises(ModelError, match="boundary condition"):
        rve_study(RandomCheckerboard(1.0, 2.0), [2], samples=2, bc="robin", progress=False)
    with pytest.raises(ModelError, match="positive"):
        FVProblem(np.array([[1.0, 0.0], [1.0, 1.0]]), "periodic")
