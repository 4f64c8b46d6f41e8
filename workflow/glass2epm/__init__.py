"""glass2epm: from a particle glass to a calibrated elasto-plastic model.

Implements D. Richard, "Connecting microscopic and mesoscopic mechanics in model
structural glasses" (see README). Units throughout: energy ε, length λ (the
smallest particle size), mass m; stress in ε/λ^d.
"""

import hashlib as _hashlib
import os as _os
import pathlib as _pathlib

__version__ = "0.1.0"


def _numba_cache_dir() -> str:
    """A numba cache directory keyed by the hash of the whole package source.

    numba's on-disk cache tracks each file's own timestamp only: a kernel that
    inlines a function from another module (``pair_size``, ``min_image_2d``,
    ``phi_and_dphi_u``...) would keep the old compiled version after that module
    changed. Keying the directory by the source of every module makes any change
    recompile everything, so cached code always matches the source.
    """
    src = _pathlib.Path(__file__).resolve().parent
    h = _hashlib.sha1()
    for p in sorted(src.rglob("*.py")):
        h.update(p.relative_to(src).as_posix().encode())
        h.update(p.read_bytes())
    base = _os.environ.get("GLASS2EPM_NUMBA_CACHE_BASE") or _os.environ.get("NUMBA_CACHE_DIR") \
        or str(src / "__pycache__" / "numba")
    _os.environ["GLASS2EPM_NUMBA_CACHE_BASE"] = base
    return _os.path.join(base, f"src-{h.hexdigest()[:12]}")


_os.environ["NUMBA_CACHE_DIR"] = _numba_cache_dir()
