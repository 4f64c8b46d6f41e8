"""Rule `band_profiles`: band orientation, position, width and the centred profile at every strain,
for the particle samples and for each EPM lattice of one T_p (replicas averaged by strain)."""

from glass2epm.bands.tasks import band_profiles
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    out = snakemake.output
    band_profiles(snakemake.input.particles, out.particles_widths, out.particles_profiles, label="particles")
    for L, pw, pp in zip(snakemake.params.lattices, out.epm_widths, out.epm_profiles):
        paths = [p for p in snakemake.input.epm if f"epm_bands_L{L}_r" in p]
        band_profiles(paths, pw, pp, label=f"epm L={L}")
