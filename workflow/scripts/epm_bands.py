"""Rule `epm_bands`: EPM runs (bond-micromechanics thresholds) recording block activity maps
at the band-analysis strains, one activity series per realisation
(:func:`glass2epm.epm.task.bands_stage`)."""

from glass2epm.core.runtime import rule_context
from glass2epm.epm.task import bands_stage

with rule_context(snakemake) as log:
    b, p = snakemake.params.bands, snakemake.params.epm
    bands_stage(snakemake.input.init, snakemake.input.renewal, snakemake.input.calibration, snakemake.output,
                Tp=float(snakemake.wildcards.Tp), lattices=snakemake.params.lattices, epm_L=b["epm_L"],
                strain=b["epm_strain"], strains=b["epm_strains"], size_strain=b["size_strain"],
                map_strain=snakemake.params.map_strain, realisations=b["realisations"], onsite=p["onsite"],
                log=log)
