"""Dagster code location of calibra: assets, checks, jobs, sensors and schedules."""

import os

# One BLAS thread: the linear algebra here works on small matrices, and OpenBLAS's worker threads spin
# against polars' threads on a 2-core machine (an SVD of 300 × 400 took 2.6 s instead of 0.08 s under
# load). Must be set before numpy is first imported; models/ and tests set it the same way.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
