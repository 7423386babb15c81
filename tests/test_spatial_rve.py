"""Random media and RVE studies."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import matplotlib
import numpy as np
import pytest

from symavg.errors import ModelError
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
    assert len(fig.axes) == 2
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
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2) as client:
        r = rve_study(RandomCheckerboard(1.0, 3.0, resolution=2), [2, 4], samples=3, seed=5,
                      executor=client, progress=False, resolution_check=False)
    assert r.complete and len(r.samples) == 6


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


def test_bad_media_inputs():
    with pytest.raises(ModelError, match="positive"):
        RandomCheckerboard(-1.0, 2.0)
    with pytest.raises(ModelError, match="boundary condition"):
        rve_study(RandomCheckerboard(1.0, 2.0), [2], samples=2, bc="robin", progress=False)
    with pytest.raises(ModelError, match="positive"):
        FVProblem(np.array([[1.0, 0.0], [1.0, 1.0]]), "periodic")
