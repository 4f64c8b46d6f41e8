"""Rule `summary`: the key numbers of this run against the paper's (report table)."""

from glass2epm.core import io
from glass2epm.core.runtime import rule_context
from glass2epm.analysis.summary import comparison, write_tsv

with rule_context(snakemake) as log:
    i = snakemake.input
    pick = lambda prefix: {float(k.split("_", 1)[1]): v for k, v in i.items() if k.startswith(prefix)}  # noqa: E731
    rows, numbers = comparison(i.calibration, pick("tails_"), i.yield_compare, pick("growth_"), pick("size_"),
                               i.epm_compare, steady=i.steady)
    for r in rows:
        log.info("%s | %s | %s", *r)
    write_tsv(snakemake.output.table, rows)
    io.write_json(snakemake.output.numbers, numbers)
