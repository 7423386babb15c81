"""Progress bars: one bar per long call covering all of its work (verify's simulations
included), silenced by progress=False, quiet under CI and outside a terminal by default."""

from __future__ import annotations

import pytest
import sympy as sp
import tqdm.auto

import symavg as sa
from symavg import _progress

eps = sa.epsilon
x, y = sp.symbols("x y", real=True)


class Recorder:
    """Stands for tqdm: records every bar made and how far it got."""

    bars: list[Recorder] = []

    def __init__(self, total=None, desc="", unit="", leave=False, bar_format=None, delay=0):
        self.total, self.desc, self.unit, self.delay, self.n = total, desc, unit, delay, 0.0
        self.closed = False
        Recorder.bars.append(self)

    def update(self, n=1):
        self.n += n

    def close(self):
        self.closed = True


@pytest.fixture
def bars(monkeypatch):
    Recorder.bars = []
    monkeypatch.setattr(tqdm.auto, "tqdm", Recorder)
    return Recorder.bars


def _pair():
    full = sa.SDE([x, y], [y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    return full, sa.reduce(full, [y])


def _verify(progress):
    full, red = _pair()
    return sa.verify(full, red, x0={x: 0.0}, T=0.2, eps_values=[0.2, 0.1], observables=[x**2],
                     paths=600, seed=0, progress=progress, chunk_size=200)


def test_verify_shows_one_bar_over_all_its_simulations(bars):
    _verify(True)
    assert len(bars) == 1, [b.desc for b in bars]
    (bar,) = bars
    # the full model at 2 eps, the reduced model, the half-step run of check_dt
    assert bar.desc == "verify" and bar.total == 4
    assert bar.n == pytest.approx(4) and bar.closed


def test_progress_false_silences_the_inner_bars_too(bars):
    _verify(False)
    assert bars == []


def test_default_is_quiet_under_ci_and_outside_a_terminal(bars, monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(_progress, "interactive", lambda: True)
    _verify(None)
    assert bars == []
    monkeypatch.delenv("CI")
    monkeypatch.setattr(_progress, "interactive", lambda: False)
    _verify(None)
    assert bars == []
    # interactive and not CI: one bar, shown only after a second (short calls print nothing)
    monkeypatch.setattr(_progress, "interactive", lambda: True)
    _verify(None)
    assert len(bars) == 1 and bars[0].delay == 1.0


def test_ci_variable_values():
    for value, quiet in (("true", True), ("1", True), ("", False), ("0", False),
                         ("false", False)):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("CI", value)
            assert _progress.in_ci() is quiet, value


def test_simulate_alone_has_its_own_bar(bars):
    full, _ = _pair()
    sa.simulate(full, {x: 0.0}, T=0.1, eps=0.2, paths=600, seed=0, chunk_size=200,
                progress=True)
    assert len(bars) == 1 and bars[0].desc == "simulate"
    assert bars[0].n == pytest.approx(1)


def test_rve_study_one_bar_over_the_samples(bars):
    medium = sa.RandomCheckerboard(1.0, 4.0, p=0.5, dim=2, resolution=2)
    sa.rve_study(medium, sizes=[2, 4], samples=3, bc=("periodic",), seed=0, progress=True,
                 resolution_check=False)
    assert len(bars) == 1 and bars[0].total == 6 and bars[0].n == 6


def test_a_failed_call_leaves_no_bar_behind(bars):
    full, red = _pair()
    with pytest.raises(sa.SymavgError):
        sa.verify(full, red, x0={}, T=0.2, eps_values=[0.1], paths=100, progress=True)
    assert all(b.closed for b in bars)
    assert _progress._CURRENT.get() is None


# ----------------------------------------------------------------- SSA and chaos (item 6)
def _network():
    k1, k2, k3 = sp.symbols("k1 k2 k3", positive=True)
    net = sa.ReactionNetwork(["S1 -> S2", "S2 -> S1", "S2 -> 0"], [k1 / eps, k2 / eps, k3])
    return net, {k1: 1.0, k2: 1.0, k3: 1.0}


def test_ssa_advances_one_bar_over_its_chunks(bars):
    net, params = _network()
    S1, S2 = net.species
    sa.ssa(net, {S1: 20, S2: 0}, T=0.2, eps=0.1, params=params, paths=600, chunk_size=200,
           seed=0, progress=True)
    (bar,) = bars
    assert bar.desc == "ssa" and bar.total == 1 and bar.n == pytest.approx(1) and bar.closed
    sa.ssa(net, {S1: 20, S2: 0}, T=0.2, eps=0.1, params=params, paths=200, seed=0,
           progress=False)
    assert len(bars) == 1


def test_verify_of_a_network_counts_every_ssa_run(bars):
    net, params = _network()
    S1, S2 = net.species
    sa.verify(net, net.reduce(), {S1: 20, S2: 0}, T=0.2, eps_values=[0.1, 0.05],
              params=params, paths=400, seed=1, chunk_size=200, progress=True)
    (bar,) = bars
    # the full network at two eps and the reduced one: no dt-check for exact simulation
    assert bar.desc == "verify" and bar.total == 3 and bar.n == pytest.approx(3)


def test_chaos_trajectories_and_time_averages_advance_one_bar(bars):
    from symavg.numeric.chaos import trajectories

    z = sp.Symbol("z", real=True)
    doubling = sa.DeterministicMap([z], [sp.Mod(2 * z, 1)])
    trajectories(doubling, [z], n_samples=200, paths=3, seed=1, progress=True)
    sa.time_averages(doubling, [z], n_samples=2000, paths=4, progress=True)
    assert [b.desc for b in bars] == ["trajectories", "time averages"]
    assert all(b.total == 1 and b.n == pytest.approx(1) and b.closed for b in bars)


def test_simulating_a_flow_shares_one_bar_between_burn_in_and_run(bars):
    """The fast Lorenz variables start on their attractor (a burn-in run), then the full
    flow runs: one bar of one unit for both."""
    y1, y2, y3 = sp.symbols("y1 y2 y3", real=True)
    flow = sa.DeterministicFlow(
        [x, y1, y2, y3],
        [y2 / eps, 10 * (y2 - y1) / eps**2, (y1 * (28 - y3) - y2) / eps**2,
         (y1 * y2 - sp.Rational(8, 3) * y3) / eps**2])
    sa.simulate(flow, {x: 0.0}, T=0.01, eps=0.5, paths=4, seed=0, progress=True)
    (bar,) = bars
    assert bar.desc == "simulate" and bar.n == pytest.approx(1)


def test_mean_exit_time_advances_one_bar_over_its_chunks(bars):
    """A two-state PDMP (drift -x in state 0, 1 - x in state 1, rates 1/eps): the exit
    time from (0.2, 0.8) from x0 = 0.5, four chunks of paths on one bar."""
    chain = sa.MarkovChain({(0, 1): 1 / eps, (1, 0): 1 / eps})
    pdmp = sa.SwitchingSDE([x], chain, drift={0: -x, 1: 1 - x})
    est = sa.ldp.mean_exit_time(pdmp, {x: 0.5}, lower={x: 0.2}, upper={x: 0.8}, eps=0.2,
                                paths=400, chunk_size=100, seed=0, backend="numpy",
                                progress=True)
    (bar,) = bars
    assert bar.desc == "mean_exit_time" and bar.n == pytest.approx(1) and bar.closed
    assert est.mean > 0
    sa.ldp.mean_exit_time(pdmp, {x: 0.5}, lower={x: 0.2}, upper={x: 0.8}, eps=0.2,
                          paths=100, seed=0, backend="numpy", progress=False)
    assert len(bars) == 1


def test_tail_probability_advances_one_bar_to_the_end(bars):
    """Importance sampling of the telegraph process (the doctest of
    additive_tail_probability): one bar, advanced by the paths that reached T."""
    from symavg.numeric.rare_events import additive_tail_probability

    ch = sa.MarkovChain({("-", "+"): 1 / eps, ("+", "-"): 1 / eps})
    tel = sa.SwitchingSDE([x], ch, drift={"-": -1, "+": 1})
    additive_tail_probability(tel, 0.6, 1.0, 0.1, tilt=0.5, paths=500, seed=1, progress=True)
    (bar,) = bars
    assert bar.desc == "additive_tail_probability" and bar.n == pytest.approx(1)
    assert bar.closed
