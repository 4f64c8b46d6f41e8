"""Every table schema of the project, in one place.

Each Parquet table that a stage writes carries the ``glass2epm`` metadata key
(see :mod:`glass2epm.core.io`); its schema, registered here, names the required
and optional columns with their units. The config schema is
``workflow/schemas/config.schema.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class SchemaError(ValueError):
    """A file does not have the expected glass2epm schema."""


@dataclass(frozen=True)
class Schema:
    name: str
    version: int
    columns: dict  # column name -> unit string ("" for dimensionless / index)
    optional: dict = field(default_factory=dict)
    needs_model: bool = False
    needs_box: bool = False
    description: str = ""


SCHEMAS: dict[str, Schema] = {}


def register(schema: Schema) -> Schema:
    SCHEMAS[schema.name] = schema
    return schema


CONFIGURATION = register(
    Schema(
        "configuration",
        1,
        {"x": "lambda", "y": "lambda", "size": "lambda"},
        optional={"z": "lambda"},
        needs_model=True,
        needs_box=True,
        description="one row per particle: Cartesian position and size λ_i",
    )
)


STRESS = "epsilon/lambda^d"  # stress in ε/λ^d (d the dimension)
STRESS_UNIT = "epsilon/lambda^2"  # the EPM is two-dimensional: ε/λ²


# --- analysis.bondstats ---

BOND_HISTOGRAMS = register(
    Schema(
        "bond_histograms",
        1,
        {"order": "", "center": "epsilon", "density": "1/epsilon", "density_err": "1/epsilon",
         "count": ""},
        description="log-binned P(|phi_n gamma|) pooled over samples of one T_p",
    )
)

BOND_PREFACTORS = register(
    Schema(
        "bond_prefactors",
        1,
        {"Tp": "epsilon/k_B", "A": "epsilon^(alpha-1)", "A_lo": "epsilon^(alpha-1)",
         "A_hi": "epsilon^(alpha-1)", "ratio": "", "ratio_lo": "", "ratio_hi": "", "n_bonds": ""},
        description="tail prefactor A_g of P(|phi_gamma|) with the exponent fixed at 7/2, and A_g/A_inf",
    )
)


# --- tables that feed figures (Figs. 3, 4, 5, 7, 8, 9) ---

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
    optional={"sample": "count"},
    description="steady-state stress samples: source 'epm' (size = L blocks) or 'particles' (size = N); "
                "sample = the realisation (EPM seed) or glass (particle seed) a value comes from, the "
                "unit the confidence intervals of P(sigma_s) resample",
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


# --- aqs.activity ---

D2MIN_ACTIVITY = register(
    Schema(
        "d2min_activity",
        1,
        {
            "x": "lambda",
            "y": "lambda",
            "activity": "count",
            "first_active_strain": "",
            "d2min_last": "lambda^2",
        },
        optional={"z": "lambda", "d2min_max": "lambda^2", "n_neighbors": "count"},
        needs_box=True,
        description=(
            "one row per particle: reference position (first snapshot), number of strain "
            "windows in which D²min > threshold ('activity'), end strain of the first such "
            "window (NaN if never active), D²min of the last window and the largest D²min "
            "over windows (λ², normalisation in extra.normalize)"
        ),
    )
)


# --- aqs.engine ---

AQS_SERIES = register(
    Schema(
        "aqs_series",
        1,
        {
            "strain": "",
            "sxx": STRESS,
            "syy": STRESS,
            "sxy": STRESS,
            "pressure": STRESS,
            "energy_per_particle": "epsilon",
            "force_evaluations": "count",
            "event": "bool",
        },
        optional={
            "step": "",
            "szz": STRESS,
            "sxz": STRESS,
            "syz": STRESS,
            "loaded_stress": STRESS,
            "factorizations": "count",
            "predictor": "",  # 1: linear-response start kept, 0: affine fallback
            "max_force": "epsilon/lambda",
            "stress_drop": "bool",  # raw criterion, before the irreversibility check
            "max_nonaffine": "lambda",  # max_i |x_i(n) − D(Δγ)·x_i(n−1)| over the step
        },
        needs_model=True,
        needs_box=True,
        description="AQS stress-strain series, one row per strain step (row 0: the start); "
        "σ is the virial stress (negative in compression), pressure = −Tr σ/d",
    )
)

AQS_EVENTS = register(
    Schema(
        "aqs_events",
        1,
        {
            "step": "",
            "strain": "",
            "dsigma": STRESS,
            "denergy": "epsilon",
            "n_displaced": "count",
        },
        optional={
            "max_displacement": "lambda",
            "stress_before": STRESS,
            "reversal_distance": "lambda",
            "stress_drop": "bool",  # False: found by the non-affine displacement criterion alone
        },
        needs_model=True,
        description="AQS plastic events: loaded-stress change Δσ_L over the step (signed), "
        "total energy change ΔU, particles with non-affine displacement above the threshold",
    )
)

# --- aqrd (random local forcing) ---

AQRD_FORCING = register(
    Schema(
        "aqrd_forcing",
        1,
        {"cx": "lambda", "cy": "lambda"},
        optional={"cz": "lambda"},
        needs_model=False,
        description="AQRD forcing field c_i per particle in file order (zero mean), the "
        "displacement per unit of the AQRD strain γ: x = x₀ + γc + u, ⟨c|u⟩ = 0",
    )
)

AQRD_CURVES = register(
    Schema(
        "aqrd_curves",
        1,
        {"forcing": "", "xi": "lambda", "strain": "", "stress": STRESS, "stress_err": STRESS,
         "rescaled_strain": "", "rescaled_stress": STRESS},
        optional={"n_samples": "count"},
        description="sample-averaged AQRD (and AQS, forcing 'shear') loaded-stress curves and "
        "their Eq. 36 rescaling γ√κ, Σ/√κ with κ = 𝔉/ℓ² measured on the pairs",
    )
)

AQRD_COLLAPSE = register(
    Schema(
        "aqrd_collapse",
        1,
        {"forcing": "", "xi": "lambda", "quantity": "", "value": "", "lo": "", "hi": "",
         "aqs": "", "aqs_lo": "", "aqs_hi": "", "relative": ""},
        optional={"kappa_F": "", "kappa_mu": ""},
        description="collapse of AQRD on AQS after the Eq. 36 rescaling: peak stress, peak "
        "strain, steady stress, event statistics with bootstrap 95 % intervals",
    )
)

AQRD_SINE = register(
    Schema(
        "aqrd_sine",
        1,
        {"N": "", "seed": "", "L": "lambda", "mode": "", "k": "1/lambda", "mu_c": STRESS, "mu_aqs": STRESS,
         "ratio": ""},
        description="sine-field AQRD modulus against the continuum: ratio = mu_c / (mu_AQS A^2 k^2 / 2), "
        "k = 2 pi mode / L, per instantaneously quenched glass (seed) and mode",
    )
)

AQS_STATISTICS = register(
    Schema(
        "aqs_statistics",
        1,
        {"seed": "", "peak_stress": "epsilon/lambda^d", "peak_strain": "",
         "steady_stress": "epsilon/lambda^d", "steady_std": "epsilon/lambda^d"},
        description="per-sample AQS summaries of one T_p; pooled P(sigma_s) in the metadata",
    )
)


# --- bands.detect ---

ACTIVITY = register(
    Schema(
        "activity",
        1,
        {"x": "lambda or block", "y": "lambda or block", "activity": "count"},
        description=(
            "one row per particle (x, y in λ) or EPM block (x, y in block units: see "
            "extra.length_unit): accumulated plastic activity (number of events ≥ 0); "
            "box side in the box metadata or extra.box_side"
        ),
    )
)


# --- bands.growth ---

ACTIVITY_SERIES = register(
    Schema(
        "activity_series",
        1,
        {"strain": "", "x": "lambda or block", "y": "lambda or block", "activity": "count"},
        description="accumulated plastic activity maps at several strains (long format)",
    )
)

BAND_PROFILES = register(
    Schema(
        "band_profiles",
        1,
        {"strain": "", "d": "lambda or block", "profile": "count"},
        description="activity profile across the band, centred on it, at several strains",
    )
)

BAND_WIDTHS = register(
    Schema(
        "band_widths",
        1,
        {"strain": "", "orientation": "", "position": "lambda or block", "width": "lambda or block",
         "width_scaled": "d or block", "n_bands": "", "contrast": ""},
        description="band orientation, position and width against strain",
    )
)


# --- epm.calibrate ---

EPM_CURVES = register(
    Schema(
        "epm_curves",
        1,
        {"strain": "", "stress_mean": "epsilon/lambda^d", "stress_std": "epsilon/lambda^d",
         "n": ""},
        description="EPM stress-strain curve averaged over realisations on a strain grid",
    )
)

EPM_SUMMARY = register(
    Schema(
        "epm_summary",
        1,
        {"realisation": "", "peak_stress": "epsilon/lambda^d", "peak_strain": "",
         "steady_stress": "epsilon/lambda^d", "steady_std": "epsilon/lambda^d", "failures": ""},
        description="per-realisation EPM summaries (one T_p, method, L)",
    )
)


# --- epm.lattice ---

THRESHOLDS = register(
    Schema(
        "thresholds",
        1,
        {"sigma_y": STRESS_UNIT},
        optional={"sigma_y_renewal": STRESS_UNIT, "x": "block", "y": "block"},
        description="local yield thresholds: P_init samples (sigma_y) and optional P_renewal samples",
    )
)

EPM_SERIES = register(
    Schema(
        "epm_series",
        1,
        {"strain": "", "stress": STRESS_UNIT, "avalanche_size": "", "rounds": ""},
        optional={"stress_before": STRESS_UNIT},
        description="one row per EPM loading step: strain at the trigger, mean stress after the "
        "avalanche (and before it), number of failures, number of synchronous rounds",
    )
)

EPM_ACTIVITY = register(
    Schema(
        "epm_activity",
        1,
        {"x": "block", "y": "block", "activity": ""},
        optional={"plastic_strain": "", "sigma": STRESS_UNIT, "threshold": STRESS_UNIT},
        description="per-block activity (number of failures) and accumulated plastic strain at the end of a run",
    )
)

EPM_SNAPSHOTS = register(
    Schema(
        "epm_snapshots",
        1,
        {"strain": "", "x": "block", "y": "block", "activity": ""},
        optional={"plastic_strain": ""},
        description="per-block activity at requested strains (long format, one row per block and strain)",
    )
)


# --- mechanics.expansion ---

BONDS = register(
    Schema(
        "bonds",
        1,
        {"i": "", "j": "", "r": "lambda", "phi_g": "epsilon", "phi_gg": "epsilon",
         "phi_ggg": "epsilon"},
        needs_model=True,
        needs_box=True,
        description="one row per interacting pair (x_ι = x_j − x_i): distance and the strain "
        "derivatives φ_γ, φ_γγ, φ_γγγ of its energy along the AQS path (Eq. 14 and higher orders); "
        "extra holds the deformation and its generator A",
    )
)

BOND_FIELD = register(
    Schema(
        "bond_field",
        1,
        {"x": "lambda", "y": "lambda", "phi_g_phi_gg": "epsilon^2"},
        optional={"z": "lambda"},
        needs_model=True,
        needs_box=True,
        description="one row per particle: position and Σ over its bonds of φ_γ·φ_γγ (Fig. 2)",
    )
)


# --- prepare.onset ---

ONSET = register(
    Schema(
        "onset",
        1,
        {"preset": "", "Tp": "epsilon/k_B", "seed": "", "N": "", "e_IS": "epsilon",
         "pressure": "epsilon/lambda^d", "shear_modulus": "epsilon/lambda^d"},
        description="inherent-state energy per particle against parent temperature",
    )
)


# --- prepare.swapmc ---

SWAPMC_SERIES = register(
    Schema(
        "swapmc_series",
        1,
        {
            "sweep": "sweeps",
            "phase": "",  # 0 = step-size tuning, 1 = production
            "energy_per_particle": "epsilon",
            "acc_disp": "",
            "acc_swap": "",
            "msd": "lambda^2",
            "fs": "",
            "msd_mid": "lambda^2",
            "fs_mid": "",
            "step": "lambda",
        },
        needs_model=True,
        needs_box=True,
        description="SWAP MC time series: one row per record; acceptance rates over the "
        "interval since the previous record; msd and F_s(k=2π/<λ>) relative to the "
        "start of production (msd_mid, fs_mid: to the middle of production), with the "
        "centre-of-mass drift removed (NaN where undefined)",
    )
)


# --- yieldstress.maps ---

YIELD_MAP = register(
    Schema(
        "yield_map",
        1,
        {"x": "lambda", "y": "lambda", "sigma_y": STRESS, "sigma_y_backward": STRESS},
        optional={"z": "lambda", "residual": STRESS},
        needs_model=True,
        needs_box=True,
        description="one row per particle: position, lowest forward yield stress σ_Y and lowest "
        "backward |σ_Y^B| over the cavities whose free region contains it (NaN: none), lowest residual "
        "strength σ_Y − σ₀ (same rule); extra holds "
        "method (bond|frozen), R, spacing, geometry, component, d and the fractions without value",
    )
)

YIELD_SITES = register(
    Schema(
        "yield_sites",
        1,
        {"site": "", "x": "lambda", "y": "lambda", "sigma0": STRESS, "mu0": STRESS, "c2": STRESS,
         "c3": STRESS, "sigma_y": STRESS, "gamma_y": "", "sigma_y_backward": STRESS,
         "gamma_y_backward": "", "discarded": ""},
        optional={"z": "lambda", "n_free": "", "steps": "", "steps_backward": "", "order": ""},
        needs_model=True,
        needs_box=True,
        description="one row per cavity: site particle and position, cavity stress σ₀, local "
        "modulus μ₀ = dσ/dγ, c2 = d²σ/dγ², c3 = d³σ/dγ³ (bond method; NaN for frozen), forward and "
        "backward yield stress and strain; discarded bit mask (1 forward, 2 backward, 4 not "
        "positive definite / minimisation failure)",
    )
)

YIELD_BLOCKS = register(
    Schema(
        "yield_blocks",
        1,
        {"bx": "", "by": "", "x": "lambda", "y": "lambda", "sigma_y": STRESS,
         "sigma_y_backward": STRESS, "n_particles": ""},
        optional={"bz": "", "z": "lambda", "n_particles_backward": "", "residual": STRESS},
        needs_model=True,
        needs_box=True,
        description="one row per block of the coarse-grained map (ξ = 5d): block indices, centre, "
        "mean of the per-particle σ_Y, |σ_Y^B| (and residual strength σ_Y − σ₀) of its particles that "
        "have a value, and their number",
    )
)



# --- thermal (Baron & Biroli): units of the model itself, stress σ_c, time τ, temperature K σ_c^a ---

THERMAL_MEANFIELD = register(
    Schema(
        "thermal_meanfield",
        1,
        {"T": "K sigma_c^a", "alpha": "", "a": "", "activity": "1/tau", "mean_abs_sigma": "sigma_c",
         "error_estimate": "", "activity_no_activation": "1/tau", "activity_activated_law": "1/tau",
         "activity_high_T": "1/tau", "xi_over_sqrt_m": "1/sqrt(m)"},
        description="stationary mean-field solution per T (full rate, Eq. 3), the same solver with activation "
        "switched off (Eq. 10), the low-T law of ERRATA, 1 − T_onset/T, and ξ/√m from the on-shell slope; "
        "extra holds sigma_bar, E_bar, T_c, T_onset (exact and linearised)",
    )
)

THERMAL_GILLESPIE = register(
    Schema(
        "thermal_gillespie",
        1,
        {"T": "K sigma_c^a", "N": "", "activity": "1/tau", "activity_err": "1/tau",
         "mean_abs_sigma": "sigma_c", "mean_abs_sigma_err": "sigma_c", "activity_solver": "1/tau",
         "mean_abs_sigma_solver": "sigma_c"},
        description="App. E Gillespie simulation of the mean-field dynamics against the stationary solver "
        "(errors: batch means over 50 blocks)",
    )
)

THERMAL_RUNS = register(
    Schema(
        "thermal_runs",
        1,
        {"T": "K sigma_c^a", "L": "block", "seed": "", "activity": "1/tau", "mean_abs_sigma": "sigma_c",
         "tau_alpha": "tau", "xi": "block", "chi4_max": "", "alpha_lattice": "", "m_lattice": "block^2"},
        # relaxations_per_s: wall-clock speed, only in tables written before it moved to the log
        optional={"kicks": "", "events": "", "acceptance": "", "t_chi4_max": "tau", "mean_sq_drop": "sigma_c^2",
                  "converged": "", "relaxations_per_s": "1/s"},
        description="one row per thermal-EPM lattice run: activity Γ, ⟨|σ|⟩, τ_α (persistence 1/e), "
        "ξ (Ornstein–Zernike fit of S₄(q) at τ_α), max χ₄, the lattice's own α and m (Eq. A5)",
    )
)

THERMAL_PERSISTENCE = register(
    Schema(
        "thermal_persistence",
        1,
        {"t": "tau", "persistence": "", "chi4": ""},
        description="persistence p(t) (mean over time origins) and χ₄(t) = N Var(p_o(t)) of one lattice run",
    )
)

THERMAL_SERIES = register(
    Schema(
        "thermal_series",
        1,
        {"t": "tau", "activity": "1/tau"},
        description="activity Γ(t) of one lattice run: relaxations per block per τ in bins of τ_est/4 from the "
        "end of equilibration",
    )
)

THERMAL_BLOCKS = register(
    Schema(
        "thermal_blocks",
        1,
        {"x": "block", "y": "block", "relaxations": "", "persistent_fraction": ""},
        description="per-block relaxation count over the run and fraction of time origins after which the "
        "block had not relaxed by τ_α",
    )
)

THERMAL_BRIDGE = register(
    Schema(
        "thermal_bridge",
        1,
        {"T": "epsilon/k_B", "seed": "", "tau_alpha": "tau", "activity": "1/tau", "xi": "block", "chi4_max": "",
         "mean_abs_sigma": "epsilon/lambda^d", "converged": ""},
        description="thermal-EPM runs built from the particle yield-map blocks of one T_p (particle units: "
        "stress ε/λ², T ε/k_B; time in the EPM's attempt time τ); extra holds the block statistics, μ, "
        "the block area and the barrier prefactor scale",
    )
)


# --- fields (Hernández-García): coarse-grained density and stress on a periodic grid ---

FIELDS = register(
    Schema(
        "fields",
        1,
        {"x": "lambda", "y": "lambda", "rho": "lambda^-d", "sxx": STRESS, "syy": STRESS, "sxy": STRESS},
        optional={"z": "lambda", "szz": STRESS, "sxz": STRESS, "syz": STRESS},
        needs_model=True,
        needs_box=True,
        description="Gaussian-coarse-grained density ρ_ℓ and Irving–Kirkwood/Hardy bond stress σ_ℓ (exact bond "
        "integrals; same sign as properties: negative for repulsion) on the n^d grid x = h·g/n, row k = "
        "(g_x·n + g_y)[·n + g_z]; extra holds ell and grid",
    )
)

FIELD_PREDICTORS = register(
    Schema(
        "field_predictors",
        1,
        {"particle": "", "flux": "epsilon/lambda^d", "grad_rho": "lambda^-3", "dev_stress": STRESS, "roughness": "", "weak_bond": STRESS,
         "weak_frozen": STRESS, "d2min": "lambda^2"},
        optional={"nonaffine": "lambda"},
        description="per particle of one glass: structural predictors of plasticity (larger = more plastic-prone: "
        "Π_ℓ per unit strain of an elastic step, |∇ρ_ℓ|, deviatoric σ_ℓ, minus the local regularity exponent ξ₂, "
        "minus σ_Y bond and frozen) and the D²min of its next plastic AQS window; extra holds ell, grid, the "
        "window strains, ξ_q and the energy balance of the first AQS snapshot window",
    )
)

PREDICTOR_SCORES = register(
    Schema(
        "predictor_scores",
        1,
        {"Tp": "epsilon/k_B", "predictor": "", "target": "", "spearman": "", "spearman_lo": "", "spearman_hi": "", "auc": "",
         "auc_lo": "", "auc_hi": "", "n": ""},
        description="per T_p, predictor and target (d2min: the next plastic window's D²min; nonaffine: its "
        "non-affine displacement): Spearman ρ and ROC-AUC for the target's top fraction, with 95 % bootstrap "
        "CIs (particles resampled within glasses)",
    )
)


# --- qlm (Ji et al.) ---

MODES = register(
    Schema(
        "modes",
        1,
        {"mode": "", "omega2": "epsilon/(m lambda^2)", "participation": ""},
        description="the lowest non-zero vibrational modes of one configuration (qlm.modes): ω² (unit masses) "
        "and e = 1/(N Σ_j |Ψ_j|⁴), N all particles; translations excluded, rattlers left out",
    )
)

MODE_VECTORS = register(
    Schema(
        "mode_vectors",
        1,
        {"particle": ""},
        description="eigenvectors of the modes table, one row per particle in file order: columns m<k>_x, "
        "m<k>_y[, m<k>_z] for mode k (normalised over all particles; zero on rattlers)",
    )
)

QLM_SAMPLES = register(
    Schema(
        "qlm_samples",
        1,
        {"Tp": "epsilon/k_B", "N": "", "seed": "", "strain": "", "gamma_min": "", "gamma_min_error": "",
         "omega_min": "epsilon^(1/2)/(m^(1/2) lambda)", "e_min": ""},
        optional={"shear_modulus": STRESS, "omega_plane_wave": "epsilon^(1/2)/(m^(1/2) lambda)", "trials": ""},
        description="one row per (glass, sampled strain): γ_min to the next instability (App. F), the lowest "
        "non-zero frequency ω_min and its participation; extra holds the γ_min and AQS parameters",
    )
)

QLM_MODES = register(
    Schema(
        "qlm_modes",
        1,
        {"Tp": "epsilon/k_B", "N": "", "seed": "", "strain": "", "omega": "epsilon^(1/2)/(m^(1/2) lambda)",
         "participation": ""},
        description="the lowest modes of every (glass, sampled strain) of the qlm stage, for D_L(ω)",
    )
)

QLM_EXPONENTS = register(
    Schema(
        "qlm_exponents",
        1,
        {"Tp": "epsilon/k_B", "strain": "", "theta": "", "theta_lo": "", "theta_hi": "", "alpha_fss": "",
         "alpha_fss_lo": "", "alpha_fss_hi": "", "alpha_direct": "", "alpha_direct_lo": "", "alpha_direct_hi": "",
         "alpha_ec_low": "", "alpha_ec_high": "", "alpha_predicted": ""},
        optional={"n_modes_direct": ""},
        description="per preparation T_p and strain: θ from ⟨γ_min⟩ ∝ N^(−1/(1+θ)), α from ⟨ω_min⟩ ∝ "
        "N^(−1/(1+α)) and from the participation-filtered D_L(ω) at the largest N (with e_c ∓ 20 %), 95 % "
        "bootstrap CIs, and Eq. (9)'s α = min(4, 3 + 4θ)",
    )
)

QLM_MESO_DENSITY = register(
    Schema(
        "qlm_meso_density",
        1,
        {"omega": "", "passive": "", "active": ""},
        description="D(ω), ω = √λ in the model's units (χ = C = 1), of the mesoscopic (λ, κ) model's largest "
        "lattice, per class (passive Φ ≤ 0, active Φ > 0), normalised over all blocks",
    )
)

QLM_EPM_EXTREMES = register(
    Schema(
        "qlm_epm_extremes",
        1,
        {"L": "", "seed": "", "strain": "", "x_min": STRESS_UNIT},
        description="the calibrated EPM's smallest distance to threshold min_i(σ_th,i − σ_i) per (L, seed, strain); "
        "extra holds θ(γ) from ⟨x_min⟩ ∝ (L²)^(−1/(1+θ)) with 95 % bootstrap CIs",
    )
)
