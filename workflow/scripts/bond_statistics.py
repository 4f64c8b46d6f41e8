"""Rule `bond_statistics`: P(|φ_nγ|) pooled over samples, tail exponents against Eq. (23)."""

from glass2epm.analysis.bondstats import bond_statistics
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    bond_statistics(list(snakemake.input), float(snakemake.wildcards.Tp), snakemake.output.histograms,
                    snakemake.output.fits)
