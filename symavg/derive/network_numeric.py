r"""The conditional stationary law of a general fast subnetwork, from its master equation.

When the fast subnetwork has no closed-form conditional law (rank > 1 and not
monomolecular: a fast dimerization with a fast isomerization, binding with several
conserved totals, ...), its law is computed numerically. The fast reactions conserve
:math:`y_f = W_f n_f` (the rows of the slow map that touch fast species, required
semi-positive), so the fast master equation splits into one block per level set
:math:`\{n_f \ge 0 : W_f n_f = y_f\}`. On a box of slow values
:math:`lo \le y_f \le hi` every level set is enumerated, the generator :math:`Q` of
the fast reactions (at :math:`\epsilon = 1`; the law does not depend on the common
factor :math:`\epsilon^{p}`) is assembled on all of them at once, and one sparse
solve gives every conditional law :math:`\pi(\cdot\mid y_f)`:

.. math:: \pi Q = 0 \text{ on the closed class of each level set},\qquad
          \sum_{n_f:\,W_f n_f = y_f}\pi(n_f\mid y_f) = 1 .

Slow propensities are polynomials in the fast species (mass action); each monomial
:math:`m(n_f)` gives a table :math:`E_m(y_f) = \mathbb E_{\pi(\cdot\mid y_f)} m`, and the
reduced propensity is :math:`\bar a_r(y) = \sum_m c_{r,m}(y)\,E_m(y_f)` with the
coefficients in the species no fast reaction changes (Cao, Gillespie & Petzold,
J. Chem. Phys. 122:014116, 2005, eq. 8, with the averages from the fast master
equation as in their Sec. III). The reduced network keeps :math:`E_m` as functions
(:class:`FastAverage`), tabulated by the SSA at the parameter values it is run with.

**Checks.** Per level set the residual :math:`\max|\pi Q|` (relative to the largest
rate) and the normalisation; exactly one closed communicating class per level set
(else the law is not unique: :class:`~symavg.errors.NoInvariantMeasureError`). A fast
species that no semi-positive conserved quantity bounds (e.g. fast ``0 <-> C``) is
truncated at ``truncation[C]``; reactions leaving the box are turned back
(reflecting), and the truncation error is measured by redoing the tables with the
box doubled (the finite state projection idea of Munsky & Khammash, J. Chem. Phys.
124:044104, 2006): the largest relative change of a table must stay below
``tol``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import sympy as sp

from ..errors import ModelError, NoInvariantMeasureError, SimulationError, UnsolvedError

__all__ = ["FastAverage", "FastTable", "NumericFastLaw"]

MAX_STATES = 4_000_000


class FastAverage(sp.Function):
    r""":math:`E_m(y_f) = \mathbb E_{\pi(\cdot\mid y_f)}\,m(n_f)`, the conditional mean of an
    observable of the fast species, tabulated numerically (:class:`NumericFastLaw`).

    A subclass per observable is made by :meth:`NumericFastLaw.average`; at integer
    arguments it evaluates to ``0`` when the observable vanishes on every fast state of the
    level set (so a reduced propensity vanishes when the slow reactant is missing), and
    stays unevaluated otherwise. It is nonnegative (the observables are products of counts).
    """

    law: ClassVar[Any] = None
    observable: ClassVar[sp.Expr] = sp.S.Zero

    @classmethod
    def eval(cls, *args: sp.Expr) -> sp.Expr | None:
        if cls.law is None:
            return None
        fixed = {k: int(a) for k, a in enumerate(args) if getattr(a, "is_Integer", False)}
        if not fixed:
            return None
        if any(v < 0 for v in fixed.values()):
            return sp.S.Zero
        if cls.law.vanishes(cls.observable, fixed):
            return sp.S.Zero
        return None

    def _eval_is_nonnegative(self) -> bool:
        return True

    def _eval_is_real(self) -> bool:
        return True


@dataclass
class FastTable:
    r"""Conditional means on a box of slow values.

    Attributes
    ----------
    lo, hi : tuple of int
        The box :math:`lo \le y_f \le hi` (one entry per coupled slow variable).
    values : dict {observable: ndarray}
        :math:`E_m(y_f)` of shape ``hi - lo + 1``; NaN where the level set is empty.
    residual : float
        :math:`\max|\pi Q|/\max|Q_{ii}|` over all level sets.
    truncation_error : float
        Largest relative change of a table when the truncation box is doubled (0 when no
        species is truncated).
    n_states : int
        Fast states solved for.
    leak : float
        Largest stationary rate of the reactions cut by the truncation, relative to the
        total rate out of the states (0 without truncation).
    """

    lo: tuple[int, ...]
    hi: tuple[int, ...]
    values: dict[sp.Expr, np.ndarray]
    residual: float
    truncation_error: float
    n_states: int
    leak: float = 0.0


@dataclass(frozen=True, eq=False)
class NumericFastLaw:
    r"""The fast master equation of a network, split by the conserved totals :math:`y_f`.

    Attributes
    ----------
    fast : tuple of Symbol
        The fast species :math:`n_f`, then the catalysts: species no fast reaction changes
        but a fast propensity depends on (each its own conserved total).
    coupled : tuple of Symbol
        The slow variables :math:`y_f = W_f n_f` that involve fast species, then the
        catalysts.
    weights : ndarray, shape (len(coupled), len(fast))
        :math:`W_f`, nonnegative integers.
    nu : ndarray, shape (fast reactions, len(fast))
        Changes of the fast species by each fast reaction.
    propensities : tuple of Expr
        The fast propensities with :math:`\epsilon = 1`.
    parameters : tuple of Symbol
        Symbols the fast propensities need values for.
    truncation : dict {Symbol: int}
        Caps of the fast species no conserved quantity bounds.
    power : Rational
        The power of eps of the fast propensities (the gap scales as :math:`\epsilon^{p}`).
    """

    fast: tuple[sp.Symbol, ...]
    coupled: tuple[sp.Symbol, ...]
    weights: np.ndarray
    nu: np.ndarray
    propensities: tuple[sp.Expr, ...]
    parameters: tuple[sp.Symbol, ...]
    truncation: Mapping[sp.Symbol, int]
    power: sp.Rational
    eps: sp.Symbol
    texts: tuple[str, ...] = ()
    tol: float = 1e-6

    # ---------------------------------------------------------------- build
    @classmethod
    def build(cls, net: Any, fs: Any, truncation: Mapping | None = None,
              tol: float = 1e-6) -> NumericFastLaw:
        """From a network and its :class:`~symavg.derive.network.FastSubnetwork`."""
        species = list(net.species)
        fast = list(fs.fast_species)
        rows = [(w, y) for w, y in zip(fs.weights, fs.slow)
                if any(w[species.index(s)] != 0 for s in fast)]
        Wf = np.array([[int(w[species.index(s)]) for s in fast] for w, _ in rows],
                      dtype=np.int64).reshape(len(rows), len(fast))
        if np.any(Wf < 0):
            bad = [str(c) for (w, y), c in zip(rows, fs.conserved) if any(
                int(w[species.index(s)]) < 0 for s in fast)]
            raise UnsolvedError(
                f"the fast subnetwork conserves {bad}, which has negative weights: the level "
                "sets are not finite and the numeric conditional law is not implemented for "
                "them. Declare the network so that its fast conserved totals are sums of counts")
        bounded = [bool(np.any(Wf[:, k] > 0)) for k in range(len(fast))]
        caps: dict[sp.Symbol, int] = {}
        names = {s.name: s for s in species}
        for k, v in dict(truncation or {}).items():
            s = names.get(k) if isinstance(k, str) else k
            if s not in fast:
                raise ModelError(f"truncation names {k}, which is not a fast species {fast}")
            if int(v) != v or v < 1:
                raise ModelError(f"truncation[{k}] = {v} must be a positive integer")
            caps[s] = int(v)
        free = [s for s, b in zip(fast, bounded) if not b]
        extra = [s for s in caps if s not in free]
        if extra:
            raise ModelError(f"truncation caps {extra}, which a conserved total of the fast "
                             "subnetwork already bounds: truncate only "
                             f"{[str(s) for s in free] or 'nothing here'}")
        missing = [s for s in free if s not in caps]
        if missing:
            raise ModelError(
                f"no conserved total of the fast subnetwork bounds {missing}: pass "
                f"truncation={{{', '.join(f'{s.name!r}: max count' for s in missing)}}} "
                "(the truncation error is checked by doubling it)")
        others = set(species) - set(fast)
        props, texts = [], []
        for r in fs.indices:
            props.append(sp.sympify(net.propensities[r]).subs(net.eps, 1))
            texts.append(net.reactions[r].text)
        # catalysts: species no fast reaction changes but a fast propensity uses; each is its
        # own conserved total, an extra coordinate of the level sets (weight row e_X)
        used = set().union(*(a.free_symbols & others for a in props))
        cats = [s for s in species if s in used]
        coupled = [y for _, y in rows]
        for x in cats:
            match = [y for y, c in zip(fs.slow, fs.conserved) if c == x]
            if not match:  # pragma: no cover - a species no fast reaction changes is slow
                raise UnsolvedError(f"the catalyst {x} is not a slow variable")
            coupled.append(match[0])
        F, K = len(fast), len(rows)
        W = np.zeros((K + len(cats), F + len(cats)), dtype=np.int64)
        W[:K, :F] = Wf
        for k in range(len(cats)):
            W[K + k, F + k] = 1
        N = net.stoichiometry
        nu = np.array([[int(N[species.index(s), r]) for s in fast] + [0] * len(cats)
                       for r in fs.indices], dtype=np.int64)
        params = tuple(sorted(set().union(*(a.free_symbols for a in props)) - set(species),
                              key=lambda s: s.name))
        return cls(tuple(fast) + tuple(cats), tuple(coupled), W, nu, tuple(props), params,
                   caps, fs.power, net.eps, tuple(texts), tol)

    # ------------------------------------------------------------ averages
    def average(self, observable: sp.Expr, name: str) -> type:
        """A :class:`FastAverage` subclass for ``observable`` (an expression of the fast
        species and parameters)."""
        return type(name, (FastAverage,), {"law": self, "observable": sp.sympify(observable),
                                           "nargs": len(self.coupled)})

    def vanishes(self, observable: sp.Expr, fixed: Mapping[int, int]) -> bool:
        r"""True when ``observable`` is 0 on every fast state whose totals :math:`y_k` are the
        given ``fixed = {k: value}`` (the other totals arbitrary). Exact: a fast species
        with weight :math:`W_{ki} > y_k` is 0 on that level set; when every total is fixed
        and small, the level set is also enumerated."""
        zero = {s: 0 for i, s in enumerate(self.fast)
                if any(self.weights[k, i] > v for k, v in fixed.items())}
        if sp.sympify(observable).subs(zero) == 0:
            return True
        if len(fixed) < len(self.coupled) or sum(fixed.values()) > 40 or \
                any(s in self.truncation for s in observable.free_symbols):
            return False
        y = tuple(fixed[k] for k in range(len(self.coupled)))
        states = self._enumerate(y, y, dict(self.truncation))
        if len(states) == 0:
            return True
        f = sp.lambdify(self.fast, observable, "numpy")
        vals = np.broadcast_to(np.asarray(f(*states.T.astype(float)), dtype=float),
                               (len(states),))
        return bool(np.all(vals == 0))

    # ----------------------------------------------------------- numerics
    def _enumerate(self, lo: tuple[int, ...], hi: tuple[int, ...],
                   caps: Mapping[sp.Symbol, int]) -> np.ndarray:
        """Every :math:`n_f \\ge 0` with :math:`lo \\le W_f n_f \\le hi` and the caps."""
        W = self.weights
        K = W.shape[0]
        hi_a = np.array(hi, dtype=np.int64)
        P = np.zeros((1, 0), dtype=np.int64)
        S = np.zeros((1, K), dtype=np.int64)
        for k, s in enumerate(self.fast):
            pos = W[:, k] > 0
            if np.any(pos):
                bound = np.min((hi_a[pos][None, :] - S[:, pos]) // W[pos, k][None, :], axis=1)
            else:
                bound = np.full(len(P), caps[s], dtype=np.int64)
            bound = np.maximum(bound, -1)
            lens = bound + 1
            total = int(lens.sum())
            if total > MAX_STATES:
                raise SimulationError(
                    f"the fast master equation on the slow box {lo}..{hi} has more than "
                    f"{MAX_STATES} states: lower the table range (table_size=) or the truncation")
            rep = np.repeat(np.arange(len(P)), lens)
            starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
            counts = np.arange(total) - np.repeat(starts, lens)
            P = np.column_stack([P[rep], counts])
            S = S[rep] + counts[:, None] * W[:, k][None, :]
        keep = np.all(S >= np.array(lo, dtype=np.int64)[None, :], axis=1)
        return P[keep]

    def _solve(self, params: Mapping, lo: tuple[int, ...], hi: tuple[int, ...],
               caps: Mapping[sp.Symbol, int], observables: Sequence[sp.Expr]
               ) -> tuple[dict, float, int, float]:
        import scipy.sparse as sps
        from scipy.sparse.csgraph import connected_components
        from scipy.sparse.linalg import spsolve

        states = self._enumerate(lo, hi, caps)
        M = len(states)
        K = self.weights.shape[0]
        shape = tuple(int(h - lo_ + 1) for lo_, h in zip(lo, hi))
        if M == 0:
            return ({o: np.full(shape, np.nan) for o in observables}, 0.0, 0, 0.0)
        radix = states.max(axis=0) + 2
        strides = np.array([int(np.prod(radix[k + 1:])) for k in range(len(radix))],
                           dtype=np.int64)
        codes = states @ strides
        order = np.argsort(codes)
        sorted_codes = codes[order]
        f = sp.lambdify(self.fast + self.parameters, list(self.propensities), "numpy")
        pv = [float(params[p]) for p in self.parameters]
        a = np.array([np.broadcast_to(np.asarray(v, dtype=float), (M,)) for v in
                      f(*states.T.astype(float), *pv)]).reshape(len(self.propensities), M)
        cap_vec = np.array([caps.get(s, np.iinfo(np.int64).max) for s in self.fast])
        rows, cols, data = [], [], []
        exit_rate = np.zeros(M)
        for r in range(len(self.propensities)):
            live = a[r] > 0
            tgt = states + self.nu[r]
            if np.any(live & np.any(tgt < 0, axis=1)):
                bad = states[np.nonzero(live & np.any(tgt < 0, axis=1))[0][0]]
                raise ModelError(f"fast reaction {self.texts[r]!r} has a positive propensity "
                                 f"at {dict(zip(self.fast, bad))}, where a count goes negative")
            out = np.any(tgt > cap_vec, axis=1)
            exit_rate += np.where(live & out, a[r], 0.0)
            ok = live & ~out
            pos = np.searchsorted(sorted_codes, tgt[ok] @ strides)
            pos = np.minimum(pos, M - 1)
            found = sorted_codes[pos] == tgt[ok] @ strides
            if not np.all(found):  # pragma: no cover - the totals are conserved
                raise SimulationError("a fast reaction left its level set")
            rows.append(np.nonzero(ok)[0])
            cols.append(order[pos])
            data.append(a[r][ok])
        R = np.concatenate(rows)
        C = np.concatenate(cols)
        D = np.concatenate(data)
        Q = sps.csr_matrix((D, (R, C)), shape=(M, M))
        out_rate = np.asarray(Q.sum(axis=1)).ravel()
        # level sets and their closed communicating classes
        y = states @ self.weights.T if K else np.zeros((M, 0), dtype=np.int64)
        _, block = np.unique(y, axis=0, return_inverse=True)
        block = np.asarray(block).ravel()
        n_scc, scc = connected_components(Q, directed=True, connection="strong")
        open_ = np.zeros(n_scc, dtype=bool)
        cross = scc[R] != scc[C]
        open_[scc[R[cross]]] = True
        scc_block = np.zeros(n_scc, dtype=np.int64)
        scc_block[scc] = block
        closed = np.nonzero(~open_)[0]
        per_block = np.bincount(scc_block[closed], minlength=block.max() + 1)
        if np.any(per_block != 1):
            b = int(np.nonzero(per_block != 1)[0][0])
            yb = y[np.nonzero(block == b)[0][0]]
            raise NoInvariantMeasureError(
                f"the fast chain has {int(per_block[b])} closed classes on the level set "
                f"{dict(zip(self.coupled, map(int, yb)))}: its stationary law is not unique "
                "(an irreversible fast reaction, or a propensity that vanishes); make the fast "
                "reactions reversible or treat the irreversible one as slow")
        mask = ~open_[scc]
        idx = np.nonzero(mask)[0]
        new = -np.ones(M, dtype=np.int64)
        new[idx] = np.arange(len(idx))
        Qc = Q[idx][:, idx].tocoo()
        m = len(idx)
        cls_of = scc[idx]
        first = np.full(n_scc, m, dtype=np.int64)
        np.minimum.at(first, cls_of, np.arange(m))
        pivot = np.zeros(m, dtype=bool)
        pivot[first[closed]] = True
        diag = -out_rate[idx]
        # A = Q_c^T with each class's pivot row replaced by pi_pivot = 1 (sparse: no dense
        # normalisation rows); the classes are normalised afterwards
        ar, ac, av = Qc.col, Qc.row, Qc.data
        keep = ~pivot[ar]
        dr = np.arange(m)
        dkeep = ~pivot[dr]
        piv = np.nonzero(pivot)[0]
        A = sps.csc_matrix((np.concatenate([av[keep], diag[dkeep], np.ones(len(piv))]),
                            (np.concatenate([ar[keep], dr[dkeep], piv]),
                             np.concatenate([ac[keep], dr[dkeep], piv]))), shape=(m, m))
        b = np.zeros(m)
        b[pivot] = 1.0
        pi = spsolve(A, b)
        pi = pi / np.bincount(cls_of, weights=pi, minlength=n_scc)[cls_of]
        scale = max(float(np.max(np.abs(diag))), 1e-300)
        res = np.abs(Qc.T @ pi + diag * pi)
        residual = float(res.max() / scale) if m else 0.0
        if np.any(pi < -1e-9):
            raise SimulationError("the numeric fast law has negative probabilities "
                                  f"({pi.min():.3g}): the fast chain is ill-conditioned")
        pi = np.maximum(pi, 0.0)
        full_pi = np.zeros(M)
        full_pi[idx] = pi
        nb = block.max() + 1
        mass = np.bincount(block, weights=full_pi, minlength=nb)
        leak = float(np.max(np.bincount(block, weights=full_pi * exit_rate, minlength=nb)
                            / np.maximum(np.bincount(block, weights=full_pi * out_rate,
                                                     minlength=nb), 1e-300)))
        yb = np.zeros((nb, K), dtype=np.int64)
        yb[block] = y
        where = tuple((yb[:, k] - lo[k]) for k in range(K))
        tables = {}
        for o in observables:
            g = sp.lambdify(self.fast + self.parameters, o, "numpy")
            vals = np.broadcast_to(np.asarray(g(*states.T.astype(float), *pv), dtype=float),
                                   (M,))
            e = np.bincount(block, weights=full_pi * vals, minlength=nb) / mass
            t = np.full(shape, np.nan)
            if K:
                t[where] = e
            else:                           # no conserved total: one (truncated) level set
                t[()] = e[0]
            tables[o] = t
        return tables, residual, M, leak

    def table(self, params: Mapping, lo: Sequence[int], hi: Sequence[int],
              observables: Sequence[sp.Expr]) -> FastTable:
        r"""The conditional means of ``observables`` on the box ``lo <= y_f <= hi``.

        ``params`` maps the symbols in :attr:`parameters` to numbers. Raises
        :class:`~symavg.errors.SimulationError` when the residual exceeds ``1e-8`` or the
        truncation error (box doubled) exceeds ``tol``.
        """
        missing = [p for p in self.parameters if p not in params]
        if missing:
            raise SimulationError(f"the fast subnetwork's conditional law needs values for "
                                  f"{missing}: pass params={{symbol: value}}")
        lo_t, hi_t = tuple(int(v) for v in lo), tuple(int(v) for v in hi)
        obs = [sp.sympify(o) for o in observables]
        tables, residual, M, leak = self._solve(params, lo_t, hi_t, dict(self.truncation), obs)
        trunc_err = 0.0
        if self.truncation:
            big = {s: 2 * c for s, c in self.truncation.items()}
            t2, _, _, _ = self._solve(params, lo_t, hi_t, big, obs)
            for o in obs:
                a, b = tables[o], t2[o]
                ok = np.isfinite(a) & np.isfinite(b)
                if np.any(ok):
                    d = np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-300)
                    trunc_err = max(trunc_err, float(d.max()))
            if trunc_err > self.tol:
                raise SimulationError(
                    f"the truncation {dict(self.truncation)} of the fast master equation "
                    f"changes the conditional means by {trunc_err:.3g} (relative) when doubled, "
                    f"more than tol = {self.tol}: raise truncation=")
        if residual > 1e-8:
            raise SimulationError(f"the numeric fast law solves pi Q = 0 only to {residual:.3g}"
                                  " (relative): the fast chain is ill-conditioned")
        return FastTable(lo_t, hi_t, tables, residual, trunc_err, M, leak)

    def gap(self, params: Mapping, y: Sequence[int]) -> float:
        r"""The spectral gap of the fast chain on the level set :math:`W_f n_f = y` (at
        :math:`\epsilon = 1`: multiply by :math:`\epsilon^{p}`), from the dense generator."""
        states = self._enumerate(tuple(y), tuple(y), dict(self.truncation))
        M = len(states)
        if M == 0:
            raise ModelError(f"no fast state has the totals {dict(zip(self.coupled, y))}")
        if M > 3000:
            raise UnsolvedError(f"the level set has {M} fast states: too many for the dense "
                                "eigenvalues of the gap")
        index = {tuple(s): k for k, s in enumerate(states.tolist())}
        f = sp.lambdify(self.fast + self.parameters, list(self.propensities), "numpy")
        pv = [float(params[p]) for p in self.parameters]
        Q = np.zeros((M, M))
        for k, s in enumerate(states.tolist()):
            a = f(*[float(v) for v in s], *pv)
            for r, ar in enumerate(a):
                t = tuple(int(v) for v in np.array(s) + self.nu[r])
                if ar > 0 and t in index:
                    Q[k, index[t]] += ar
                    Q[k, k] -= ar
        ev = np.sort(-np.linalg.eigvals(Q).real)
        return float(ev[1]) if M > 1 else float("inf")
