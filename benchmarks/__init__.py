"""aslrec's benchmarks: scripts that measure the package and write ``benchmarks/RESULTS.md``.

A package so that its parts (cached cells, row definitions, the test-stream generator) are
imported by name, by each other and by the tests, rather than through ``sys.path``. Run a
benchmark from the repository root as a module: ``python -m benchmarks.compare_models``;
``python -m benchmarks.report`` regenerates every cached number of RESULTS.md without training.
"""
