"""Rule `epm_bands`: EPM runs (bond-micromechanics thresholds) recording block activity maps
at the band-analysis strains, one activity series per realisation."""

import json

from glass2epm.epm import lattice
from glass2epm.core import io
from glass2epm.bands.growth import from_epm_snapshots
from glass2epm.core.schemas import ACTIVITY_SERIES
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    b, p, wc = snakemake.params.bands, snakemake.params.epm, snakemake.wildcards
    init, _, _ = lattice.read_thresholds(snakemake.input.init)
    ren, _, _ = lattice.read_thresholds(snakemake.input.renewal)
    mu = float(io.read_meta(snakemake.input.init)["extra"]["modulus"])
    mu_ren = float(io.read_meta(snakemake.input.renewal)["extra"]["modulus"])
    eps = float(json.load(open(snakemake.input.calibration))["eps_pl"])
    strain = float(b["epm_strain"])
    stops = sorted({g for g in b["epm_strains"] + [b["size_strain"], snakemake.params.map_strain] if g <= strain})
    R = int(b["realisations"])
    jobs = [(L, r) for L in snakemake.params.lattices for r in range(R)]
    for (L, r), path in zip(jobs, snakemake.output):
        model = lattice.EPM.from_tables(L, init, ren, seed=1000 + r, eps_pl=eps, modulus=mu, renewal_modulus=mu_ren,
                                    onsite=p["onsite"])
        # lattices used only for the size scaling stop at the size-scaling strain
        g_end = strain if L in b["epm_L"] else max(b["size_strain"], snakemake.params.map_strain)
        run = model.run(g_end, snapshots=[g for g in stops if g <= g_end])
        log.info("L=%d realisation %d: %d failures in %.1f s", L, r, run.failures, run.wall_s)
        io.write_table(path, ACTIVITY_SERIES, from_epm_snapshots(run.snapshots),
                       extra={"Tp": float(wc.Tp), "box_side": float(L), "length_unit": "block", "scale": 1.0,
                              "source": "epm", "L": L, "realisation": r, "eps_pl": eps})
