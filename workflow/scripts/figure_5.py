"""Rule `figure_5`: particle vs EPM stress-strain, P(σ_s) for two sizes, σ(γ) for three T_p."""

from glass2epm.plotting.fig5 import plot_fig5
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    i = snakemake.input
    curves = {}
    for k, v in i.items():
        if k.startswith("curve_particles_"):
            curves[("particles", float(k.rsplit("_", 1)[1]))] = list(v) if not isinstance(v, str) else [v]
        elif k.startswith("curve_epm_"):
            _, _, method, tp = k.split("_", 3)
            curves[(f"epm_{method}", float(tp))] = v
    particles = list(i.particles_ren) if not isinstance(i.particles_ren, str) else [i.particles_ren]
    log.info("%s", plot_fig5(particles, i.example, i.steady, curves, i.compare, snakemake.output.png,
                             snakemake.output.pdf))
