"""Hypothesis profiles: `ci` (default; bounded, derandomized, fits the 10-minute budget on 2
cores) and `dev` (many more examples). Choose with HYPOTHESIS_PROFILE=dev."""
import os

# The NumPy reference's matmuls are small; BLAS threads only contend with pyconv's OpenMP
# threads and with each other. Set before numpy is first imported.
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=40, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev", max_examples=500, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
