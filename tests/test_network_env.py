"""The exact simulator of a network driven by an OU environment: inputs and the exact OU
moments it draws from (the statistical checks are in tests/test_network_mc.py)."""

import doctest
import math

import numpy as np
import pytest
import sympy as sp

import symavg as sa
import symavg.numeric.ssa_env as ssa_env

eta = sp.Symbol("eta", real=True)
lam, mu, c, d = sp.symbols("lambda mu c d", positive=True)


def birth_death():
    """One network (one compiled kernel) for every test here and the docstring example."""
    return sa.ReactionNetwork(["0 -> X", "X -> 0"], [lam + c * eta, mu + d * eta])


def test_refuses_what_it_cannot_simulate_exactly():
    env = sa.SDE([eta], [-4 * eta], noise=[sp.sqrt(8)])
    net = sa.ReactionNetwork(["0 -> X", "X -> 0"], [sp.Integer(50), 1 + eta**2])
    with pytest.raises(sa.ModelError, match="not affine"):
        sa.ssa(net, {"X": 5}, 1.0, paths=10, environment=env)
    ok = birth_death()
    with pytest.raises(sa.ModelError, match="not -theta"):
        sa.ssa(ok, {"X": 5}, 1.0, paths=10, environment=sa.SDE([eta], [1 - eta], noise=[1]))
    with pytest.raises(sa.ModelError, match="only the exact method"):
        sa.ssa(ok, {"X": 5}, 1.0, paths=10, environment=env, method="tau-leap")
    # a rate that the Gaussian environment drives negative: the jump process is undefined
    with pytest.raises(sa.SimulationError, match="became negative"):
        sa.ssa(ok, {"X": 5}, 2.0, paths=50, seed=1, environment=env,
               params={lam: 5.0, c: 20.0, mu: 1.0, d: 0.1})


def test_exact_ou_moments_against_the_integrated_covariance():
    """The Gaussian moments of (eta(h), I(h) = int_0^h eta) given eta(0) = 0, against the
    double integral of the OU covariance Cov(eta(u), eta(v)) = sigma^2/(2 theta)
    (e^{-theta|u-v|} - e^{-theta(u+v)}) (Gardiner, Handbook of Stochastic Methods, 2004,
    Sec. 3.8.4) done by SymPy; h = 0.004 exercises the small-h series branch."""
    u, v = sp.symbols("u v", positive=True)
    th, sg = sp.Rational(3), sp.Rational(17, 10)
    cov = sg**2 / (2 * th) * (sp.exp(-th * (v - u)) - sp.exp(-th * (u + v)))   # u < v
    net = birth_death()
    src = ssa_env._source(net, eta, tuple(p for p in net.parameters if p != eta))
    mod = ssa_env.load_source(src, "ssaou")
    for h in (sp.Rational(1, 250), sp.Rational(3, 10), sp.Integer(2)):
        e, a1, s00, s01, s11 = mod.moments(float(h), float(th), float(sg))
        var_i = 2 * sp.integrate(sp.integrate(cov, (u, 0, v)), (v, 0, h))
        cov_ei = sp.integrate(cov.subs(v, h), (u, 0, h))
        assert e == pytest.approx(math.exp(-3 * float(h)), rel=1e-14)
        assert a1 == pytest.approx(float((1 - sp.exp(-th * h)) / th), rel=1e-12)
        assert s00 == pytest.approx(float(cov.subs({u: h, v: h})), rel=1e-12)
        assert s01 == pytest.approx(float(cov_ei), rel=1e-10)
        assert s11 == pytest.approx(float(var_i), rel=1e-9)


def test_reproducible_and_the_environment_is_saved():
    env = sa.SDE([eta], [-4 * eta], noise=[sp.sqrt(8)])
    net = birth_death()
    p = {lam: 20.0, c: 1.0, mu: 1.0, d: 0.1}
    a = sa.ssa(net, {"X": 5, "eta": 0.5}, 1.0, paths=64, seed=4, environment=env,
               saveat=[0.0, 0.5, 1.0], params=p)
    b = sa.ssa(net, {"X": 5, "eta": 0.5}, 1.0, paths=64, seed=4, environment=env,
               saveat=[0.0, 0.5, 1.0], params=p)
    assert np.array_equal(a.values, b.values) and a.state[-1] == eta
    X, = net.species
    assert np.all(a[eta][0] == 0.5) and np.all(a[X][0] == 5)
    # chunks are picklable tasks (a dask client works) and the executor does not matter
    import pickle
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        threaded = sa.ssa(net, {"X": 5, "eta": 0.5}, 1.0, paths=64, seed=4,
                          environment=env, saveat=[0.0, 0.5, 1.0], params=p, executor=pool,
                          chunk_size=16)
    serial = sa.ssa(net, {"X": 5, "eta": 0.5}, 1.0, paths=64, seed=4, environment=env,
                    saveat=[0.0, 0.5, 1.0], params=p, chunk_size=16)
    assert np.array_equal(threaded.values, serial.values)
    task = ssa_env._Task("src", np.zeros((1, 1), dtype=np.int64), np.zeros(1), np.zeros(1),
                         np.zeros(1), np.zeros((1, 1), dtype=np.int64), 1.0, 1.0, 1e-3,
                         np.random.SeedSequence(1), 10)
    assert pickle.loads(pickle.dumps(task)).source == "src"


def test_docstring_examples_run():
    res = doctest.testmod(ssa_env, optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted > 0
