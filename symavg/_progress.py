"""One progress bar per long call, covering all of its work.

A public call that can take more than a few seconds (``sa.simulate``, ``sa.verify``,
``sa.rve_study``, ``sa.ssa``, ``sa.time_averages``, ``sa.green_kubo``,
``sa.ldp.mean_exit_time`` and the chaos module's ``trajectories``) is wrapped by
:func:`one_bar`. The outermost wrapped call owns the only bar;
calls made inside it (the simulations of ``verify``) draw no bar of their own and advance the
outer one with :func:`advance`, so ``verify`` shows one bar from its first simulation to its
last, and ``progress=False`` silences everything inside it.

Whether a bar is shown, with ``progress=None`` (the default): only in an interactive session
(standard error is a terminal, or a Jupyter kernel) and never under CI (the environment
variable ``CI`` set to anything but ``""``, ``"0"`` or ``"false"``); and then only after one
second (``tqdm(delay=1)``), so short calls print nothing. ``progress=True`` shows it in any
case, ``progress=False`` never.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import sys
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]"


class _Bar:
    """The bar of the outermost call (``tqdm`` or nothing when it is silenced)."""

    def __init__(self, bar: Any | None) -> None:
        self.bar = bar
        self.scale = 1.0

    def advance(self, n: float) -> None:
        if self.bar is not None:
            self.bar.update(n * self.scale)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


_CURRENT: ContextVar[_Bar | None] = ContextVar("symavg_progress", default=None)


def in_ci() -> bool:
    """True when the environment variable ``CI`` is set (to anything but 0/false/empty)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def interactive() -> bool:
    """True in a terminal (standard error is a TTY) or a Jupyter kernel."""
    try:
        if sys.stderr is not None and sys.stderr.isatty():
            return True
    except (AttributeError, ValueError):
        pass
    ipython = sys.modules.get("IPython")
    if ipython is not None:
        shell = getattr(ipython, "get_ipython", lambda: None)()
        return shell is not None and "IPKernelApp" in getattr(shell, "config", {})
    return False


def shown(progress: bool | None) -> bool:
    """Whether a call with this ``progress`` argument shows its bar."""
    if progress is not None:
        return bool(progress)
    return interactive() and not in_ci()


def advance(n: float = 1.0) -> None:
    """Advance the bar of the outermost running call by ``n`` units (no-op without one)."""
    bar = _CURRENT.get()
    if bar is not None:
        bar.advance(n)


@contextlib.contextmanager
def share(fraction: float) -> Iterator[None]:
    """Within the block, the advances count ``fraction`` of their units: a call made of
    several nested calls that each advance one unit (the burn-in and the main run of a
    flow) gives each its share of the one unit it owns."""
    bar = _CURRENT.get()
    if bar is None:
        yield
        return
    old = bar.scale
    bar.scale = old * fraction
    try:
        yield
    finally:
        bar.scale = old


def one_bar(desc: str, total: Callable[[inspect.BoundArguments], float],
            unit: str) -> Callable[[F], F]:
    """Decorate a public call so that it owns one bar of ``total(arguments)`` units, read
    from its ``progress`` argument (see the module docstring); nested calls share it."""

    def wrap(fn: F) -> F:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            if _CURRENT.get() is not None:          # inside another call: its bar counts
                return fn(*args, **kwargs)
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            progress = bound.arguments.get("progress")
            tq = None
            if shown(progress):
                from tqdm.auto import tqdm

                try:
                    n: float | None = float(total(bound))
                except (TypeError, ValueError, KeyError):   # bad input: the call says so
                    n = None
                tq = tqdm(total=n, desc=desc, unit=unit, leave=False,
                          bar_format=BAR_FORMAT, delay=0 if progress else 1.0)
            bar = _Bar(tq)
            token = _CURRENT.set(bar)
            try:
                return fn(*args, **kwargs)
            finally:
                _CURRENT.reset(token)
                bar.close()

        return call  # type: ignore[return-value]

    return wrap
