"""Shared test configuration: single-threaded PyTorch and a reproducible Hypothesis profile."""
import os

import torch
from hypothesis import HealthCheck, settings

torch.set_num_threads(1)

# A fixed-seed profile: the same examples on every machine, so CI failures reproduce locally.
settings.register_profile(
    "book",
    max_examples=int(os.environ.get("CNNBOOK_HYPOTHESIS_EXAMPLES", "300")),
    deadline=None,
    derandomize=os.environ.get("CNNBOOK_HYPOTHESIS_RANDOM") != "1",
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("book")
