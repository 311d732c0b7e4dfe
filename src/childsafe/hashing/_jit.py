"""Cheap numba start-up for worker processes: load numba's registries without SciPy.

Why: the first call of any ``@njit`` function in a process, even one served from the on-disk
cache, makes numba import all its implementation registries. One of them,
``numba.np.arraymath``, probes for BLAS by importing ``scipy.linalg`` at import time, which
costs ~0.3-0.4 s per process (SciPy's array-API shims, then LAPACK/BLAS wrappers): about a
third of a scan worker's start-up, for a probe none of our kernels needs. Their only use of
the result is to pick a BLAS-backed inner product over a plain loop for ``np.dot``-like calls
on 1-D arrays; no childsafe kernel makes such a call (PDQ, the popcount scans and the hex
parsers are explicit loops), so results are identical either way.

:func:`prepare` imports ``numba.np.arraymath`` once with ``scipy`` hidden, then un-hides it:
a later ``import scipy`` anywhere in the process works as usual. It does nothing when SciPy
or ``arraymath`` is already imported (the probe already ran, or SciPy is already paid for).
"""

from __future__ import annotations

import sys
import threading

_LOCK = threading.Lock()


def prepare() -> None:
    """Import numba's array registries without the SciPy BLAS probe (idempotent)."""
    if "numba.np.arraymath" in sys.modules or "scipy" in sys.modules:
        return
    with _LOCK:
        if "numba.np.arraymath" in sys.modules or "scipy" in sys.modules:
            return
        before = set(sys.modules)
        sys.modules["scipy"] = None  # type: ignore[assignment]  # makes `import scipy` fail
        try:
            import numba.np.arraymath  # noqa: F401
        finally:
            if sys.modules.get("scipy", 0) is None:
                del sys.modules["scipy"]
            # A failed `import scipy.x` may leave half-registered submodules: drop them so a
            # later real import starts clean.
            for name in set(sys.modules) - before:
                if name.startswith("scipy.") and sys.modules.get(name) is None:
                    del sys.modules[name]
