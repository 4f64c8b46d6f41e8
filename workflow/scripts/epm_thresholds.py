"""Rule `epm_thresholds`: P(σ_Y, T_p) of one yield-map method, pooled block values, and μ(T_p)."""

import json

import numpy as np

from glass2epm.epm import lattice
from glass2epm.epm.calibrate import pooled_block_thresholds
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    wc = snakemake.wildcards
    values = pooled_block_thresholds(snakemake.input.blocks, residual=snakemake.params.threshold == "residual")
    mu = float(np.mean([json.load(open(p))["shear_modulus"] for p in snakemake.input.properties]))
    log.info("T_p %s %s: %d block thresholds, mean %.4f, mu %.4f", wc.Tp, wc.method, values.size,
             values.mean(), mu)
    lattice.write_thresholds(snakemake.output[0], values,
                         extra={"Tp": float(wc.Tp), "method": wc.method, "modulus": mu,
                                "threshold": snakemake.params.threshold,
                                "samples": len(snakemake.input.blocks)})
