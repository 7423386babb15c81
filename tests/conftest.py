import os

# One BLAS/OpenMP thread per test process, set before NumPy loads: the suite runs with
# pytest-xdist on 2 cores, and OpenBLAS threads of two workers (plus other jobs) contend.
# Dense 576 x 576 eigvals (the tensor-grid Hamiltonian's convergence check) took 9x longer
# in two concurrent processes with the default threads than with one thread each
# (benchmarks/README.md, "Test-suite hot spots"). An explicit setting is kept.
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
