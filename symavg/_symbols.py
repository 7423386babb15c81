"""The default scale parameter."""

from __future__ import annotations

import sympy as sp

#: The default scale-separation parameter, a positive SymPy symbol.
epsilon = sp.Symbol("epsilon", positive=True)
