"""calibra's scale benchmark (issue 8): `python -m benchmarks.run` or `make bench`; see docs/benchmark.md.

Nothing here is part of the product: the pandas and fairlearn references only exist to be measured against.
"""
