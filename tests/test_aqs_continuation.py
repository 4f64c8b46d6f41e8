"""The AQS continuation engine (issue 17): predictor, corrector, reused ordering, Newton,
and the event criteria, each checked by an independent route.

* the polynomial predictor is exact for polynomials of its order (by construction of
  the weights, checked on random polynomials);
* a factorisation with a reused CHOLMOD ordering solves the same system as a fresh one
  (against a dense solve), also when the active set changed; a restored ordering gives
  the bitwise same factor; the pair keys of a Hessian are the pairs of the force
  field's own pair table; an ordering is recomputed once more than its drift fraction
  of pairs are new, and the fill of a recomputed (particle-graph) ordering is no
  larger than that of a stale one;
* Newton returns a perturbed inherent state to the minimum FIRE found, with chord steps
  on its factor (``reuse``) to the same minimum with fewer factorisations;
* the shared reference glass sheared to γ = 0.15 gives the events and the path of the
  engine before this issue (tests/data/aqs_reference_N1024.json, computed with the old
  linear-response + chord + FIRE code): same steps, same stress drops, stress and
  energy to 1e-10 relative;
* the non-affine displacement criterion finds irreversible events without a stress drop.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from glass2epm.aqs.engine import run_aqs
from glass2epm.aqs.stepper import _extrapolation
from glass2epm.core.potential import ForceField
from glass2epm.mechanics.hessian import HessianSolver, Ordering, hessian, new_pairs, pair_keys
from glass2epm.mechanics.minimize import newton

OLD = Path(__file__).parent / "data" / "aqs_reference_N1024.json"


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_extrapolation_is_exact_for_polynomials_of_its_order(k):
    rng = np.random.default_rng(k)
    coef = rng.standard_normal(k + 1)
    p = np.polynomial.Polynomial(coef)
    t = np.arange(k + 1, dtype=float)  # x_{n−k}, …, x_n at t = 0..k
    w = _extrapolation(k)
    pred = sum(wj * p(t[k - j]) for j, wj in enumerate(w))
    assert pred == pytest.approx(p(k + 1.0), rel=1e-12, abs=1e-12)
    assert sum(w) == pytest.approx(1.0)  # affine invariance: lattice shifts pass through


def test_reused_ordering_solves_the_same_system(small_glass):
    n, d = small_glass.N, small_glass.dim
    H = hessian(small_glass)
    rng = np.random.default_rng(0)
    b = rng.standard_normal((n, d))
    b -= b.mean(axis=0)
    order = Ordering()
    fresh = HessianSolver(H, n, d, ordering=order)  # computes and records an ordering
    assert order.order is not None and order.uses == 0
    saved = order.state()
    reused = HessianSolver(H, n, d, ordering=order)
    assert order.uses == 1
    u1, u2 = fresh.solve(b), reused.solve(b)
    # dense route on the reduced matrix (pinned particle removed)
    Hd = H.toarray()[np.ix_(fresh.keep_dofs, fresh.keep_dofs)]
    bb = b.reshape(-1)[fresh.keep_dofs]
    ud = np.zeros(n * d)
    ud[fresh.keep_dofs] = np.linalg.solve(Hd, bb)
    ud = ud.reshape(n, d)
    ud -= ud.mean(axis=0)
    scale = np.abs(ud).max()
    assert np.abs(u1 - ud).max() < 1e-9 * scale
    assert np.abs(u2 - ud).max() < 1e-9 * scale
    # another active set (a particle made a rattler): the full-dof order still applies
    act = np.ones(n, dtype=bool)
    act[int(np.argmin(np.diff(H.indptr).reshape(n, d)[:, 0]))] = False
    other = HessianSolver(H, n, d, active=act, ordering=order)
    assert other.solver.given is not None and other.solver.given.size == other.keep_dofs.size
    # a restored ordering gives the bitwise same factor (checkpoints rely on it)
    again = Ordering()
    again.restore(saved)
    np.testing.assert_array_equal(HessianSolver(H, n, d, ordering=again).solve(b), u2)


def test_pair_keys_and_ordering_drift(small_glass):
    n, d = small_glass.N, small_glass.dim
    H = hessian(small_glass)
    keys = pair_keys(H, n, d)
    ii, jj, *_ = ForceField(small_glass.model).pairs(small_glass.x, small_glass.sizes, small_glass.box)
    want = np.unique(np.minimum(ii, jj) * n + np.maximum(ii, jj))
    np.testing.assert_array_equal(keys, want)  # the Hessian's block pattern is the pair table
    assert new_pairs(keys, keys) == 0 and new_pairs(keys[::2], keys[1::2]) == keys[::2].size
    order = Ordering(drift=0.01)
    HessianSolver(H, n, d, ordering=order)
    first = order.order.copy()
    # a Hessian with a few new pairs (below 1 %) reuses the ordering; with more, a new one
    few = max(1, int(0.005 * keys.size))
    rng = np.random.default_rng(1)

    def with_new_pairs(m):
        i = rng.choice(n, m, replace=False)
        j = (i + n // 2) % n  # far apart in index (and, for a random glass, in space)
        rows = np.concatenate([i * d, j * d]); cols = np.concatenate([j * d, i * d])
        import scipy.sparse as sp
        extra = sp.csc_matrix((np.full(2 * m, -1e-3), (rows, cols)), shape=H.shape)
        diag = sp.csc_matrix((np.full(2 * m, 1e-3), (rows, rows)), shape=H.shape)
        diag2 = sp.csc_matrix((np.full(2 * m, 1e-3), (cols, cols)), shape=H.shape)
        return (H + extra + 0.5 * (diag + diag2)).tocsc()

    HessianSolver(with_new_pairs(few), n, d, ordering=order)
    assert order.uses == 1 and np.array_equal(order.order, first)
    drifted = with_new_pairs(4 * few + 3)
    renewed = HessianSolver(drifted, n, d, ordering=order)
    assert order.uses == 0 and not np.array_equal(order.order, first)
    stale = Ordering(drift=np.inf)
    stale.restore({"order": first, "uses": np.array(0)})
    old = HessianSolver(drifted, n, d, ordering=stale)
    assert renewed.solver._f.L().nnz < old.solver._f.L().nnz  # the point of reordering


def test_newton_reuse_reaches_the_same_minimum_with_fewer_factorisations(small_glass):
    rng = np.random.default_rng(6)
    x0 = small_glass.x + 1e-3 * rng.standard_normal(small_glass.x.shape)
    ff = ForceField(small_glass.model)
    plain = newton(ff, x0, small_glass.sizes, small_glass.box, 1e-11, 20)
    chord = newton(ff, x0, small_glass.sizes, small_glass.box, 1e-11, 20, reuse=True)
    assert plain.converged and chord.converged and chord.fmax < 1e-11
    assert np.abs(chord.x - plain.x).max() < 1e-9
    assert chord.steps < plain.steps  # factorisations


def test_newton_returns_to_the_minimum(small_glass):
    rng = np.random.default_rng(5)
    x0 = small_glass.x + 2e-3 * rng.standard_normal(small_glass.x.shape)
    ff = ForceField(small_glass.model)
    nr = newton(ff, x0, small_glass.sizes, small_glass.box, 1e-10, 20)
    assert nr.converged and nr.fmax < 1e-10
    u = small_glass.box.minimum_image(nr.x - small_glass.x)
    assert np.abs(u - u.mean(axis=0)).max() < 1e-7  # the same minimum, up to a translation
    # the basin guard: a move larger than max_move ends the polish unconverged
    nr2 = newton(ff, x0, small_glass.sizes, small_glass.box, 1e-10, 20, max_move=1e-6)
    assert not nr2.converged


def test_reference_events_and_path_unchanged(reference_conf):
    """The shared snapshot to γ = 0.15 in steps of 1e-4: the events and path of the engine
    before issue 17 (same steps, same stress drops; stress and energy to 1e-10)."""
    old = json.loads(OLD.read_text())
    r = run_aqs(reference_conf, 1e-4, 0.15, snapshot_every=0)
    s, e = r.series, r.events
    assert r.complete and len(s["strain"]) == 1501
    np.testing.assert_array_equal(e["step"], old["event_steps"])
    np.testing.assert_allclose(e["dsigma"], old["event_dsigma"], rtol=1e-8, atol=0)
    assert np.all(e["stress_drop"])  # every reference event shows a stress drop
    k = np.array(old["series_steps"])
    for col in ("sxy", "sxx", "syy", "energy_per_particle"):
        want = np.array(old[col])
        assert np.abs(s[col][k] - want).max() < 1e-10 * np.abs(want).max(), col
    # the engine mostly continues the branch: few fallbacks, few factorisations
    assert (s["predictor"][1:] == 0).sum() <= len(e["step"]) + 2
    assert s["factorizations"][1:].mean() < 0.15


def test_displacement_criterion_finds_events_without_stress_drop(small_glass):
    """With the stress criterion off (a huge threshold), the non-affine displacement
    criterion alone finds the irreversible steps; with both off there are none."""
    both = run_aqs(small_glass, 1e-3, 0.1, snapshot_every=0)
    assert both.events["step"].size >= 2
    disp = run_aqs(small_glass, 1e-3, 0.1, snapshot_every=0, event_threshold=1e9, event_displacement=0.1)
    np.testing.assert_array_equal(disp.events["step"], both.events["step"])
    assert not disp.events["stress_drop"].any()
    assert np.all(disp.events["reversal_distance"] > 1e-3)
    assert np.all(disp.series["max_nonaffine"][disp.events["step"]] > 0.1)
    none = run_aqs(small_glass, 1e-3, 0.1, snapshot_every=0, event_threshold=1e9, event_displacement=0.0)
    assert none.events["step"].size == 0


def test_aqs_path_does_not_depend_on_threads():
    """N ≥ PARALLEL_MIN_N (the threaded force kernel and FIRE update, fixed blocks): an
    instantly quenched glass prepared and sheared with 1 and with 2 numba threads gives
    bitwise the same glass, series and events (README "Runs are deterministic")."""
    import numba

    from glass2epm.core.box import Box
    from glass2epm.core.io import Configuration
    from glass2epm.core.model import Model
    from glass2epm.core.potential import PARALLEL_MIN_N
    from glass2epm.mechanics.minimize import minimize

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one numba thread: nothing to compare")
    m = Model.from_preset("lerner-poly2d")
    n = PARALLEL_MIN_N
    rng = np.random.default_rng(5)
    L = m.box_side(n)
    raw = Configuration(rng.random((n, 2)) * L, m.sizes(n, rng=rng), Box.square(L), m)
    runs = []
    for threads in (1, 2):
        glass, _ = minimize(raw, threads=threads)
        r = run_aqs(glass, 1e-3, 0.03, snapshot_every=0, threads=threads)
        runs.append((glass.x, r))
    (x1, r1), (x2, r2) = runs
    assert np.array_equal(x1, x2)
    assert r1.events["step"].size >= 1  # the path crosses plastic events (FIRE)
    for col in ("loaded_stress", "energy_per_particle", "max_force", "force_evaluations", "event"):
        assert np.array_equal(np.asarray(r1.series[col]), np.asarray(r2.series[col])), col
    assert np.array_equal(r1.events["step"], r2.events["step"])
