"""Rule `bond_fields`: bond coefficients φ_γ, φ_γγ, φ_γγγ, the Fig. 2 field, system expansions."""

from glass2epm.core import io
from glass2epm.mechanics.expansion import Expansion, write_bond_field, write_bonds
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    conf = io.read_configuration(snakemake.input[0])
    coeffs = {}
    for deformation in ("simple_shear", "dilation"):
        ex = Expansion(conf, deformation=deformation, order=3, threads=snakemake.threads)
        coeffs[deformation] = {obs: ex.coefficients(obs) for obs in ("energy", "sxy", "pressure")}
        if deformation == snakemake.params.deformation:
            write_bonds(snakemake.output.bonds, ex, provenance={"rule": "bond_fields"})
            write_bond_field(snakemake.output.field, ex, provenance={"rule": "bond_fields"})
    log.info("coefficients: %s", coeffs)
    io.write_json(snakemake.output.coefficients, {"Tp": conf.Tp, "seed": conf.seed, "N": conf.N, **coeffs})
