"""Cython glue for the pooling kernels (filled in by the pool work)."""
