"""Rule `yield_compare`: P(σ_Y) mean and variance per T_p, bond micromechanics vs frozen matrix."""

from glass2epm.core import io
from glass2epm.core.schemas import YIELD_COMPARE
from glass2epm.core.runtime import rule_context
from glass2epm.yieldstress.compare import compare

with rule_context(snakemake) as log:
    groups = {}
    for method in ("bond", "frozen"):
        for p in snakemake.input[method]:
            Tp = float(io.read_meta(p)["extra"]["Tp"])
            groups.setdefault((method, Tp), []).append(p)
    cols = compare(groups)
    for row in zip(cols["Tp"], cols["method"], cols["mean"], cols["variance"]):
        log.info("T_p %.2f %s: mean %.4f variance %.4f", *row)
    io.write_table(snakemake.output[0], YIELD_COMPARE, cols)
