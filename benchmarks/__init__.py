"""Bundle Console benchmarks: printed figures measured against same-run baselines.

Run ``python -m benchmarks`` (``--quick`` for a smoke run, ``--only NAME`` for
one figure, ``--json PATH`` to keep the numbers). Nothing here asserts on a
time: the machine is shared and noisy, so every compared pair is measured
interleaved in the same run and reported as median / min / max plus a paired
ratio. Goals are printed next to the figures for the reader to judge.
"""
