"""Pure-NumPy neural-network operations, named and shaped like ``torch.nn.functional``.

Every forward ``op`` has an ``op_backward`` twin that returns exactly what PyTorch's autograd
returns for the same call. Arrays are NCHW, ``float64`` by default (``float32`` accepted).
This module imports NumPy only.
"""
from __future__ import annotations

import numpy as np

# =============================================================================================
# Convolution, padding and pooling
# =============================================================================================


# =============================================================================================
# Dense layers, activations, normalisation, dropout and losses
# =============================================================================================
