"""Rule `bond_prefactors`: tail prefactor A_g(T_p) of P(|φ_γ|) and A_g/A_∞ (Fig. 1c)."""

from glass2epm.analysis.bondstats import bond_prefactors
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    bond_prefactors(list(snakemake.input), snakemake.output[0])
