"""Rule `aqrd_collapse`: Eq. 36 rescaling of the AQRD runs of one T_p onto its AQS runs
(:func:`glass2epm.aqrd.tasks.collapse_task`)."""

import re
from pathlib import Path

from glass2epm.aqrd.tasks import collapse_task
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    p, i, o = snakemake.params.aqrd, snakemake.input, snakemake.output
    runs = {"shear": [(s, None) for s in i.aqs]}
    for s in i.aqrd:
        xi = re.search(r"aqrd_xi([0-9.]+)\.parquet$", s).group(1)
        runs.setdefault(f"xi{xi}", []).append((s, str(Path(s).with_suffix(".json"))))
    collapse_task(runs, o.curves, o.table, o.summary, dx=p["dx"], steady_from=p["steady_from"],
                  peak_window=p["peak_window"], log=log)
