"""Rule `steady_samples`: steady-state stress samples of particles (per N) and EPM (per L) at
T_p = 0.7, for P(σ_s) (Fig. 5b)."""

import numpy as np

from glass2epm.core import io
from glass2epm.aqs.engine import read_series
from glass2epm.core.schemas import EPM_STEADY
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    g0 = snakemake.params.steady_from
    src, size, stress, sample = [], [], [], []
    for i, p in enumerate(snakemake.input.particles):
        t = read_series(p)
        g = np.asarray(t["strain"], float)
        s = np.asarray(t["sxy"], float)[g - g[0] >= g0]
        N = int(round(np.linalg.det(np.array(t.meta["box"]["h"])) * t.meta["model"]["density"]))
        src += ["particles"] * len(s)
        size += [N] * len(s)
        stress += list(s)
        sample += [t.meta["seed"] if t.meta.get("seed") is not None else i] * len(s)
    for p in snakemake.input.epm:
        t = io.read_table(p, EPM_STEADY)
        src += list(t["source"])
        size += list(t["size"])
        stress += list(t["stress"])
        if "sample" not in t.columns:
            raise ValueError(f"{p}: no 'sample' column (written before it existed): rerun its epm_run job")
        sample += list(t["sample"])
    log.info("%d samples", len(stress))
    io.write_table(snakemake.output[0], EPM_STEADY,
                   {"source": np.asarray(src), "size": np.asarray(size, float), "stress": np.asarray(stress),
                    "sample": np.asarray(sample, dtype=np.int64)})
