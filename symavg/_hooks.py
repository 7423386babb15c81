"""Operations on declarations that the upper layers provide.

``models/`` is the bottom layer: it imports neither ``derive/`` nor
``numeric/``. The convenience methods of the declarations
(``model.simulate(...)``, ``red.lambdify()``, ``red.to_python()``) call the
implementation registered here under a name; the top-level package
(``symavg/__init__.py``), which sits above every layer, registers them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import SymavgError

_PROVIDERS: dict[str, Callable[..., Any]] = {}


def provide(name: str, fn: Callable[..., Any]) -> None:
    """Register ``fn`` as the implementation of the operation ``name``."""
    _PROVIDERS[name] = fn


def call(name: str, *args: Any, **kwargs: Any) -> Any:
    """Call the implementation registered for ``name``."""
    fn = _PROVIDERS.get(name)
    if fn is None:  # pragma: no cover - symavg/__init__ registers every name
        raise SymavgError(f"no implementation of {name!r} is registered: import symavg first")
    return fn(*args, **kwargs)
