import os
from pathlib import Path

import numpy as np
import pytest

# One numba cache for the whole suite. Importing the package sets NUMBA_CACHE_DIR (a
# directory keyed by the package source, under NUMBA_CACHE_DIR or the package's
# __pycache__) and GLASS2EPM_NUMBA_CACHE_BASE in os.environ before any test runs, so every
# subprocess the tests start (Snakemake jobs, SLURM jobs, CLI calls) inherits the same base
# and loads the kernels earlier tests compiled instead of compiling its own.
import glass2epm  # noqa: E402,F401

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REFERENCE = SHARED / "data" / "lerner-swap2d-N1024.dat"


@pytest.fixture(scope="session")
def reference_path():
    if not REFERENCE.exists():
        pytest.skip(f"reference configuration not found at {REFERENCE}")
    return REFERENCE


@pytest.fixture(scope="session")
def reference_conf(reference_path):
    from glass2epm.core.io import read_lerner

    return read_lerner(reference_path)


@pytest.fixture(scope="session")
def small_glass():
    """A minimised random 2D glass, N = 256, lerner-poly2d (instant quench)."""
    from glass2epm.core.box import Box
    from glass2epm.core.io import Configuration
    from glass2epm.mechanics.minimize import minimize
    from glass2epm.core.model import Model

    m = Model.from_preset("lerner-poly2d")
    n = 256
    rng = np.random.default_rng(7)
    L = m.box_side(n)
    conf = Configuration(rng.random((n, 2)) * L, m.sizes(n), Box.square(L), m, seed=7)
    out, _ = minimize(conf)
    return out
