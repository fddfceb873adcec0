"""fieldkit's benchmark suite: ``python -m bench`` (see bench/README.md).

Every figure is measured beside its baselines in the same run, interleaved, and reported as
a median and as a ratio to those baselines: the machine is shared, so absolute numbers move
from run to run while ratios hold. Nothing here is imported by fieldkit itself.
"""
