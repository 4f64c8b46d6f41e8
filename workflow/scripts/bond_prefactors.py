"""Rule `bond_prefactors`: tail prefactor A_g(T_p) of P(|φ_γ|) and A_g/A_∞ (Fig. 1c)."""

import numpy as np

from glass2epm.core import io
from glass2epm.analysis.bondstats import pooled, prefactors
from glass2epm.core.schemas import BOND_PREFACTORS
from glass2epm.mechanics.expansion import read_bonds
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    pools = {}
    for path in snakemake.input:
        t = read_bonds(path)
        Tp = float(t.meta["extra"]["Tp"])
        pools.setdefault(Tp, []).append(pooled([t], 1))
    pools = {T: np.concatenate(v) for T, v in pools.items()}
    cols, info = prefactors(pools)
    log.info("prefactors %s; %s", cols, info)
    io.write_table(snakemake.output[0], BOND_PREFACTORS, cols, extra=info)
