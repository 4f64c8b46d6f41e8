"""Rule `bond_statistics`: P(|φ_nγ|) pooled over samples, tail exponents against Eq. (23)."""

from glass2epm.core import io
from glass2epm.analysis.bondstats import distributions
from glass2epm.core.schemas import BOND_HISTOGRAMS
from glass2epm.mechanics.expansion import read_bonds
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    tables = [read_bonds(p) for p in snakemake.input]
    hist, fits = distributions(tables)
    for n, f in fits.items():
        log.info("order %d: alpha = %.3f [%.3f, %.3f] (theory %.3f), x_min = %.3g, n_tail = %d",
                 n, f["alpha"], f["ci"][0], f["ci"][1], f["theory_alpha"], f["xmin"], f["n_tail"])
    Tp = float(snakemake.wildcards.Tp)
    io.write_table(snakemake.output.histograms, BOND_HISTOGRAMS, hist, extra={"Tp": Tp, "fits": fits})
    io.write_json(snakemake.output.fits, {"Tp": Tp, "samples": len(tables), "fits": fits})
