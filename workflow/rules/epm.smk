# The calibrated scalar FFT elasto-plastic model (Sec. V A, Fig. 5) and its shear bands.


wildcard_constraints:
    method=r"bond|frozen",
    L=r"\d+",


rule epm_thresholds:
    input:
        blocks=lambda wc: sample_files(
            out("sample", f"yield_{wc.method}.blocks.parquet"), samples_like(wc)
        ),
        properties=lambda wc: sample_files(
            out("sample", "properties.json"), samples_like(wc)
        ),
    output:
        out("tp", "epm_thresholds_{method}.parquet"),
    log:
        log("tp", "epm_thresholds_{method}"),
    benchmark:
        bench("tp", "epm_thresholds_{method}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        threshold=config["epm"]["threshold"],
    script:
        "../scripts/epm_thresholds.py"


rule epm_calibrate:
    input:
        thresholds=lambda wc: out("tp", "epm_thresholds_bond.parquet").format(
            **wc, Tp=tp_str(abs_tp(config["epm"]["renewal_Tp"]))
        ),
        particles=lambda wc: out("tp", "aqs_statistics.parquet").format(
            **wc, Tp=tp_str(abs_tp(config["epm"]["renewal_Tp"]))
        ),
    output:
        out("n", "epm_calibration.json"),
    log:
        log("n", "epm_calibrate"),
    benchmark:
        bench("n", "epm_calibrate")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        epm=keys(
            "epm",
            "renewal_Tp",
            "calibration_L",
            "calibration_seeds",
            "strain",
            "steady_from",
            "eps_pl_bracket",
            "onsite",
        ),
    script:
        "../scripts/epm_calibrate.py"


rule epm_run:
    input:
        init=out("tp", "epm_thresholds_{method}.parquet"),
        renewal=lambda wc: out("tp", "epm_thresholds_{method}.parquet").format(
            **{**wc, "Tp": tp_str(abs_tp(config["epm"]["renewal_Tp"]))}
        ),
        calibration=out("n", "epm_calibration.json"),
    output:
        curves=out("tp", "epm_{method}_L{L}.curves.parquet"),
        summary=out("tp", "epm_{method}_L{L}.summary.parquet"),
        steady=out("tp", "epm_{method}_L{L}.steady.parquet"),
        example=out("tp", "epm_{method}_L{L}.example.parquet"),
    log:
        log("tp", "epm_{method}_L{L}"),
    benchmark:
        bench("tp", "epm_{method}_L{L}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=lambda wc, attempt: 30 * attempt,
    params:
        epm=keys(
            "epm", "strain", "realisations", "onsite", "steady_from", "peak_window"
        ),
        peak_strain_max=aqs_strain,
    script:
        "../scripts/epm_run.py"


rule epm_compare:
    input:
        particles=lambda wc: sorted(
            set(sample_files(out("tp", "aqs_statistics.parquet"), samples_like(wc)))
        ),
        summaries=lambda wc: sorted(
            {
                f
                for m in config["epm"]["methods"]
                for L in epm_lattices(wc.N)
                for f in sample_files(
                    out("tp", f"epm_{m}_L{L}.summary.parquet"), samples_like(wc)
                )
            }
        ),
    output:
        out("n", "epm_compare.parquet"),
    log:
        log("n", "epm_compare"),
    benchmark:
        bench("n", "epm_compare")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        lattice=lambda wc: compare_lattice(wc.N),
    script:
        "../scripts/epm_compare.py"
