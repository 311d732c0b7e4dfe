"""``hashing._jit``: numba's registries load without importing SciPy; SciPy still imports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from childsafe.content.image import luma_from_rgb as numpy_luma
from childsafe.hashing.pdq_core import luma_from_rgb as kernel_luma

SCRIPT = """
import sys
from childsafe.hashing import _jit
_jit.prepare()
assert "numba.np.arraymath" in sys.modules
assert not any(m == "scipy" or m.startswith("scipy.") for m in sys.modules), "scipy imported"
import numpy as np
from childsafe.hashing.pdq_core import pdq_from_luma
pdq_from_luma(np.add.outer(np.arange(80), np.arange(70)).astype(np.uint8))
assert "scipy" not in sys.modules, "a kernel call imported scipy"
import scipy.linalg
assert scipy.linalg.norm([3.0, 4.0]) == 5.0
print("ok")
"""


def test_prepare_skips_the_scipy_probe_and_scipy_still_imports() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_compiled_luma_equals_the_numpy_formula_for_every_colour() -> None:
    """The PDQ hasher's ``luma_fn`` must give exactly what ``decode_luma`` computes."""
    v = np.arange(1 << 24, dtype=np.uint32)
    rgb = np.stack([(v >> 16) & 255, (v >> 8) & 255, v & 255], axis=-1).astype(np.uint8)
    rgb = rgb.reshape(4096, 4096, 3)
    assert np.array_equal(kernel_luma(rgb), numpy_luma(rgb))
    rgba = np.concatenate([rgb[:64], np.full((64, 4096, 1), 7, np.uint8)], axis=2)
    assert np.array_equal(kernel_luma(rgba), numpy_luma(rgb[:64]))
