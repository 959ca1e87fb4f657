# What the Cython glue modules (_conv, _pool, _gemm) share: status -> exception, buffer checks.
cdef inline int check_status(int status, str what) except -1:
    """Turn a kernel's status into the matching Python exception (call with the GIL held)."""
    if status == 0:
        return 0
    if status == 1:
        raise MemoryError(f"{what}: could not allocate the kernel's workspace")
    if status == 2:
        raise ValueError(f"{what}: an index is out of range for the input plane")
    raise ValueError(f"{what}: the kernel rejected its arguments (status {status})")


cdef inline int check_len(Py_ssize_t actual, Py_ssize_t expected, str name) except -1:
    """The glue's own check: a buffer holds what the geometry implies (the kernels cannot)."""
    if actual != expected:
        raise ValueError(f"{name}: expected {expected} elements for this geometry, got {actual}")
    return 0
