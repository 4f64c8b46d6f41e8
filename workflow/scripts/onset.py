"""Rule `onset`: tabulate e_IS(T_p) over the onset samples of every preset."""

import json

from glass2epm.core import io
from glass2epm.prepare.onset import MEASURED_ONSET, onset_interval
from glass2epm.core.schemas import ONSET
from glass2epm.core.runtime import rule_context

with rule_context(snakemake) as log:
    rows = {k: [] for k in ONSET.columns}
    for path in snakemake.input:
        p = json.load(open(path))
        if p.get("Tp") is None:
            raise ValueError(f"{path}: properties without a parent temperature (not a SWAP MC glass)")
        rows["preset"].append(p["preset"])
        rows["Tp"].append(float(p["Tp"]))
        rows["seed"].append(int(p["seed"]))
        rows["N"].append(p["N"])
        rows["e_IS"].append(p["energy_per_particle"])
        rows["pressure"].append(p["pressure"])
        rows["shear_modulus"].append(p["shear_modulus"])
    fits = {}
    for preset in sorted(set(rows["preset"])):
        sel = [i for i, q in enumerate(rows["preset"]) if q == preset]
        if len({rows["Tp"][i] for i in sel}) >= 3:
            fits[preset] = onset_interval([rows["Tp"][i] for i in sel], [rows["e_IS"][i] for i in sel])
            log.info("onset %s: %s", preset, fits[preset])
            stored = MEASURED_ONSET.get(preset)
            if stored is not None:
                lo, hi = fits[preset]["T_onset_ci"]
                if not lo <= stored["T_onset"] <= hi:
                    log.warning("onset %s: the stored T_onset = %g (glasses.Tp_units: onset) lies outside "
                                "this run's interval [%g, %g]", preset, stored["T_onset"], lo, hi)
    io.write_table(snakemake.output[0], ONSET, rows, extra={"onset_fits": fits})
