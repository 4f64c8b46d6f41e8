"""Schemas of the tables that exist only to feed figures (Figs. 3, 4, 5, 7, 8, 9).

Each is written by a workflow rule from the stages' outputs and read by the
figure modules in :mod:`glass2epm.plotting`. Stresses in ε/λ^d, lengths in λ
(or blocks where stated), strains dimensionless.
"""

from __future__ import annotations

from glass2epm.core.io import Schema, register

# Fig. 3: one cavity.
CAVITY_PARTICLES = register(Schema(
    "cavity_particles", 1,
    {"x": "lambda", "y": "lambda", "size": "lambda", "free": "", "ux": "lambda", "uy": "lambda"},
    description="one cavity: positions relative to the site (minimum image), free flag, "
                "non-affine velocity xdot of free particles (zero for frozen ones)",
))
CAVITY_BONDS = register(Schema(
    "cavity_bonds", 1,
    {"i": "", "j": "", "weight": ""},
    description="bonds of one cavity (indices into cavity_particles) with their cavity-stress weights",
))
CAVITY_CURVES = register(Schema(
    "cavity_curves", 1,
    {"strain": "", "stress": "epsilon/lambda^d", "kind": "", "direction": ""},
    description="cavity stress against strain: kind 'expansion' (cubic of Eqs. 16-18) or 'frozen' "
                "(explicit frozen-matrix AQS), direction 'forward' or 'backward'; the extra metadata "
                "holds sigma0, mu0, sigma_y_forward, sigma_y_backward",
))

# Fig. 4: yield-stress statistics against T_p.
YIELD_COMPARE = register(Schema(
    "yield_compare", 1,
    {"Tp": "epsilon/k_B", "method": "", "mean": "epsilon/lambda^d", "mean_lo": "epsilon/lambda^d",
     "mean_hi": "epsilon/lambda^d", "variance": "(epsilon/lambda^d)^2", "variance_lo": "(epsilon/lambda^d)^2",
     "variance_hi": "(epsilon/lambda^d)^2", "n_blocks": "", "discarded_fraction": "",
     "unassigned_fraction": ""},
    description="block-coarse-grained sigma_Y statistics per T_p and method (bond|frozen)",
))

# Fig. 5: EPM against particles.
EPM_STEADY = register(Schema(
    "epm_steady", 1,
    {"source": "", "size": "", "stress": "epsilon/lambda^d"},
    description="steady-state stress samples: source 'epm' (size = L blocks) or 'particles' (size = N)",
))
EPM_COMPARE = register(Schema(
    "epm_compare", 2,
    {"Tp": "epsilon/k_B", "source": "", "size": "", "peak_stress": "epsilon/lambda^d",
     "peak_err": "epsilon/lambda^d", "peak_strain": "", "sample_peak_stress": "epsilon/lambda^d",
     "steady_stress": "epsilon/lambda^d", "steady_err": "epsilon/lambda^d"},
    description="peak (yield) and steady-state stress per T_p for source particles | epm_bond | "
                "epm_frozen; size = N (particles) or L (EPM lattice); peak_stress = maximum of the "
                "sample-averaged curve smoothed over extra.peak_window (bootstrap error over samples), "
                "sample_peak_stress = mean of the per-sample maxima (biased upwards by noise)",
))

# Fig. 8: expansions against explicit AQS (Appendix C).
EXPANSION_CHECK = register(Schema(
    "expansion_check", 1,
    {"geometry": "", "strain": "", "sxy": "epsilon/lambda^d", "pressure": "epsilon/lambda^d"},
    description="explicit AQS sxy and pressure against strain for simple shear and dilation; the "
                "metadata (extra.coefficients[geometry][observable]) holds c0..c3 of the expansion",
))

# Fig. 9: band width against system size.
BAND_SIZE = register(Schema(
    "band_size", 1,
    {"source": "", "size": "", "box": "lambda or block", "strain": "", "width": "d or block",
     "width_err": "d or block"},
    description="band width at fixed strain against box size: source 'epm' (box in blocks) or "
                "'particles' (box in units of d)",
))
