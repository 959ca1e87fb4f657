"""Cython glue for the convolution kernels (filled in by the conv work)."""
