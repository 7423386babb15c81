"""The exceptions symavg raises on purpose.

Every error raised deliberately by symavg derives from :class:`SymavgError`.
Errors caused by the user's input (a malformed declaration, a fast process
without an invariant probability, a failed centering condition) also derive
from :class:`ValueError`, so ``except ValueError`` keeps working in user code.
Each message names the offending symbol or term and says what to do.
"""

from __future__ import annotations


class SymavgError(Exception):
    """Base class of every error symavg raises on purpose.

    Parameters
    ----------
    message : str
        What went wrong, naming the culprit, and how to fix it.

    Examples
    --------
    >>> import symavg as sa
    >>> issubclass(sa.ModelError, sa.SymavgError), issubclass(sa.UnsolvedError, ValueError)
    (True, False)
    """


class ModelError(SymavgError, ValueError):
    """A declaration is malformed: wrong shapes, unknown symbols, numbers where
    symbols are required, an asymmetric diffusion matrix, a bad rate matrix.

    Parameters
    ----------
    message : str
        What went wrong, naming the culprit, and how to fix it.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x = sp.Symbol("x", real=True)
    >>> try:
    ...     sa.SDE([x], [1, 2])
    ... except sa.ModelError as exc:
    ...     print(str(exc).split(":")[0])
    drift has 2 entries but state has 1 variables [x]
    """


class ScaleSeparationError(SymavgError, ValueError):
    """The generator's expansion in ``eps`` does not have the structure of a
    supported regime (averaging ``eps^-1 L0 + L1`` or homogenization
    ``eps^-2 L0 + eps^-1 L1 + L2``), or the leading operator ``L0`` acts on a
    variable that was declared slow.

    Parameters
    ----------
    message : str
        What went wrong, naming the culprit, and how to fix it.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x, y = sp.symbols("x y", real=True)
    >>> try:                      # nothing moves on a fast scale
    ...     sa.reduce(sa.SDE([x, y], [-x, -y], noise=[[1, 0], [0, 1]]))
    ... except sa.ScaleSeparationError as exc:
    ...     print(str(exc).split(":")[0])
    no term of the generator has a negative power of epsilon
    """


class NoInvariantMeasureError(SymavgError, ValueError):
    """The fast process, with the slow variables frozen, has no invariant
    probability measure (its speed measure is not normalisable, its drift
    matrix is not stable, ...).

    Parameters
    ----------
    message : str
        What went wrong, naming the culprit, and how to fix it.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> y = sp.Symbol("y", real=True)
    >>> try:                      # an unstable fast process: no invariant probability
    ...     sa.invariant_measure(sa.Generator([y], [y], [[2]]), [y])
    ... except sa.NoInvariantMeasureError:
    ...     print("no invariant measure")
    no invariant measure
    """


class CenteringError(SymavgError, ValueError):
    """The right-hand side of a Poisson equation ``-L0 Phi = h`` does not
    average to zero under the invariant measure of ``L0``: the slow variable
    moves on a faster time scale than the one assumed.

    Parameters
    ----------
    message : str
        What went wrong, naming the culprit, and how to fix it.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x, y = sp.symbols("x y", real=True)
    >>> eps = sa.epsilon
    >>> m = sa.SDE([x, y], [(1 + y) / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    >>> try:                      # <1 + y> = 1 is not zero: x is faster than assumed
    ...     sa.reduce(m, fast=[y])
    ... except sa.CenteringError:
    ...     print("not centred")
    not centred
    """


class UnsolvedError(SymavgError):
    """No registered strategy could solve a step in closed form and no
    numeric fallback applies (for example, parameter values were not given).

    Parameters
    ----------
    message : str
        What went wrong, naming the culprit, and how to fix it.

    Examples
    --------
    >>> import symavg as sa
    >>> raise sa.UnsolvedError("no strategy solved the cell problem")
    Traceback (most recent call last):
    ...
    symavg.errors.UnsolvedError: no strategy solved the cell problem
    """


class CheckFailedError(SymavgError):
    """A closed-form answer did not satisfy its equation when substituted
    back. This is a bug in a strategy; please report it with the model.

    Parameters
    ----------
    message : str
        What went wrong, naming the culprit, and how to fix it.

    Examples
    --------
    >>> import symavg as sa
    >>> isinstance(sa.CheckFailedError("residual 1/2"), sa.SymavgError)
    True
    """


class SimulationError(SymavgError):
    """A simulation blew up (NaN or overflow) or was asked for something it
    cannot do (missing parameter values, a step that is far too coarse).

    Parameters
    ----------
    message : str
        What went wrong, naming the culprit, and how to fix it.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x = sp.Symbol("x", real=True)
    >>> k = sp.Symbol("k", positive=True)
    >>> try:                      # the value of k is missing
    ...     sa.simulate(sa.SDE([x], [-k * x], noise=[[1]]), {x: 0.0}, T=1.0, paths=10)
    ... except sa.SimulationError as exc:
    ...     print("k" in str(exc))
    True
    """


class ParseError(SymavgError, ValueError):
    """A model file or an expression in it is malformed or not allowed.

    Parameters
    ----------
    message : str
        What went wrong, naming the culprit, and how to fix it.

    Examples
    --------
    >>> import symavg as sa
    >>> try:
    ...     sa.parse_expr("__import__('os')", {})
    ... except sa.ParseError:
    ...     print("refused")
    refused
    """


class ErgodicityError(SymavgError, ValueError):
    """Time averages of a deterministic system from several initial conditions
    disagree beyond their error bars: on the simulated time the system is not
    ergodic (several attractors, a long transient, or an orbit that collapsed
    onto a fixed point or a periodic orbit).

    Parameters
    ----------
    message : str
        Which averages disagreed, by how much, and what to try (longer runs, other
        initial conditions).

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> y = sp.Symbol("y", real=True)
    >>> bistable = sa.DeterministicFlow([y], [y - y**3])   # two attractors, y = +-1
    >>> try:
    ...     sa.time_averages(bistable, [y], n_samples=2000, dt=0.01, paths=4,
    ...                      y0=[[-0.5], [0.5], [-0.7], [0.7]])
    ... except sa.ErgodicityError:
    ...     print("not ergodic")
    not ergodic
    """
