"""Rule `epm_calibrate`: the single fit parameter ε_pl, from σ_s of the T_p = 0.7 particles."""

from dataclasses import asdict

from glass2epm.epm import lattice
from glass2epm.core import io
from glass2epm.epm.calibrate import calibrate
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    p = snakemake.params.epm
    values, _, _ = lattice.read_thresholds(snakemake.input.thresholds)
    mu = float(io.read_meta(snakemake.input.thresholds)["extra"]["modulus"])
    target = float(io.read_meta(snakemake.input.particles)["extra"]["pooled"]["mean"])
    log.info("target sigma_s = %.5f (particles, T_p = %s), mu = %.4f", target, p["renewal_Tp"], mu)
    cal = calibrate(values, values, L=p["calibration_L"], modulus=mu, target=target, strain_max=p["strain"],
                    steady_from=p["steady_from"], seeds=tuple(range(p["calibration_seeds"])),
                    bracket=tuple(p["eps_pl_bracket"]), onsite=p["onsite"])
    log.info("eps_pl = %.5f [%.5f, %.5f]", cal.eps_pl, cal.eps_pl_low, cal.eps_pl_high)
    io.write_json(snakemake.output[0], {**asdict(cal), "modulus": mu, "L": p["calibration_L"],
                                        "renewal_Tp": p["renewal_Tp"], "method": "bond"})
