"""Shared package of the Prakerja registration backend: domain, adapters and HTTP glue."""

import gc as _gc
import os as _os

# In a Lambda execution environment, no cyclic garbage collection while the function initialises:
# what its imports build lives as long as the environment, and each collection during init
# rescans it to free almost nothing (a few hundred objects out of ~100k). `runtime.settle()`,
# called at the end of every function's init, moves all of it to the collector's permanent
# generation and turns collection back on (the sequence Python's `gc.freeze` docs describe).
if _os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    _gc.disable()
