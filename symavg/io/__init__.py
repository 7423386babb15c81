"""Model files and the restricted expression parser.

:func:`load_model` reads a slow-fast model from a TOML file into a
:class:`ModelSpec`; :func:`parse_expr` turns the text of one expression into
SymPy without ever executing it.
"""

from .modelfile import ModelSpec, load_model, loads_model
from .parse import parse_expr

__all__ = ["ModelSpec", "load_model", "loads_model", "parse_expr"]
