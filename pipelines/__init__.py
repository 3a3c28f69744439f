"""Dagster code location of calibra: assets, checks, jobs, sensors and schedules."""

import os

# One BLAS thread: the linear algebra here works on small matrices, and OpenBLAS's worker threads spin
# against polars' threads on a 2-core machine (an SVD of 300 × 400 took 2.6 s instead of 0.08 s under
# load). Must be set before numpy is first imported; models/ and tests set it the same way.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

# polars' allocator (jemalloc) keeps freed pages for 0.5 s and then 1 s more before it returns them. A step's
# frames are freed when it ends, and the next step reads its own at once: both were resident together and
# lifted the run's peak memory by a few hundred MB. A tenth of a second, straight back to the system.
# Must be set before polars is first imported (polars appends it to its own settings).
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:100,muzzy_decay_ms:0")
