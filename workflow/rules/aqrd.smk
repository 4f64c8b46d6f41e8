# Random local forcing (AQRD, agoritsas-global-shear-vs-random-forcing): runs per glass and ξ,
# the Eq. 36 collapse on AQS per T_p, and its figure.


wildcard_constraints:
    xi=r"[0-9.]+",


rule aqrd:
    input:
        out("sample", "glass.parquet"),
    output:
        series=out("sample", "aqrd_xi{xi}.parquet"),
        events=out("sample", "aqrd_xi{xi}.events.parquet"),
        forcing=out("sample", "aqrd_xi{xi}.forcing.parquet"),
        summary=out("sample", "aqrd_xi{xi}.json"),
    log:
        log("sample", "aqrd_xi{xi}"),
    benchmark:
        bench("sample", "aqrd_xi{xi}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        aqrd=keys("aqrd", "step", "strain", "amplitude", "ell", "steady_from"),
        aqs=keys(
            "aqs",
            "step",
            "event_threshold",
            "displacement_threshold",
            "event_displacement",
        ),
    script:
        "../scripts/aqrd_run.py"


rule aqrd_collapse:
    input:
        aqrd=lambda wc: [
            f
            for x in config["aqrd"]["xi"]
            for f in sample_files(
                out("sample", f"aqrd_xi{x:g}.parquet"), samples_like(wc)
            )
        ],
        aqs=lambda wc: sample_files(
            out("sample", "aqs_simple_shear_forward.parquet"), samples_like(wc)
        ),
    output:
        curves=out("tp", "aqrd_curves.parquet"),
        table=out("tp", "aqrd_collapse.parquet"),
        summary=out("tp", "aqrd.json"),
    log:
        log("tp", "aqrd_collapse"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        aqrd=keys("aqrd", "dx", "steady_from", "peak_window"),
    script:
        "../scripts/aqrd_collapse.py"


rule aqrd_sine:
    output:
        out("top", "aqrd/sine_scan.parquet"),
    log:
        log("top", "aqrd_sine"),
    benchmark:
        bench("top", "aqrd_sine")
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        model=keys("model", "preset", "dim"),
        aqrd=keys("aqrd", "amplitude", "sine_N", "sine_seeds", "sine_modes"),
    script:
        "../scripts/aqrd_sine.py"


rule figure_aqrd:
    input:
        runs=lambda wc: sorted(
            set(sample_files(out("tp", "aqrd.json"), glass_samples()))
        ),
        sine=out("top", "aqrd/sine_scan.parquet"),
    output:
        png=report(
            figure("aqrd.png"),
            caption="../report/aqrd.rst",
            category="Figures",
        ),
        pdf=figure("aqrd.pdf"),
    log:
        log("top", "figure_aqrd"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/figure_aqrd.py"
