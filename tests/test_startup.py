"""``import symavg`` loads the error classes only (issue 13, item 5).

The declarations and ``epsilon`` (SymPy), the derivation engine, the model-file parser,
the numeric layer (NumPy, SciPy, numba) and plotting are imported on first use through
the package's ``__getattr__`` (PEP 562). Checked in a fresh interpreter by the modules
present, not by a clock (the times are in ``benchmarks/README.md``, "Start-up").
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

CODE = textwrap.dedent("""
    import sys
    import symavg
    heavy = ["sympy", "symavg.models", "numpy", "scipy", "numba", "matplotlib", "dask",
             "symavg.derive", "symavg.numeric", "symavg.io", "symavg.spatial", "symavg.ldp"]
    print(",".join(m for m in heavy if m in sys.modules) or "none")
    import symavg as sa
    missing = [n for n in sa.__all__ if not hasattr(sa, n)]
    print(",".join(missing) or "none")
    print(sa.reduce.__module__, sa.load_model.__module__, sa.ReactionNetwork.__module__)
    print("symavg.derive" in sys.modules, "numba" in sys.modules)
""")


def test_import_symavg_loads_no_heavy_module_and_every_public_name_resolves() -> None:
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert lines[0] == "none", lines[0]
    assert lines[1] == "none"          # every name of __all__ is reachable
    assert lines[2].split() == ["symavg.derive.engine", "symavg.io.modelfile",
                                "symavg.models.network"]
    # resolving every public name imported the engine, but the numeric layer needs
    # numba only when a simulation compiles
    assert lines[3].split()[0] == "True"
