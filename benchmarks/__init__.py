"""hyperscout's benchmarks, one folder per family, run from the repository root.

Every script runs as a module: ``python -m benchmarks.<family>.<script> ...`` (for example
``python -m benchmarks.sample_efficiency.run --quick``). ``harness/`` holds what the families
share; no family imports another.
"""
