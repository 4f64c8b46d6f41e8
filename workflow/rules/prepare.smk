# Glass preparation (paper Sec. II A, Appendix A): SWAP MC at T_p -> minimisation -> properties.


rule swap_mc:
    output:
        liquid=SAMPLE + "/liquid.parquet",
        series=SAMPLE + "/swapmc.parquet",
    params:
        sweeps=swap_sweeps,
        tune_sweeps=config["swap_mc"]["tune_sweeps"],
        p_swap=config["swap_mc"]["p_swap"],
        check=config["swap_mc"]["check_equilibration"],
        tau_fraction=config["swap_mc"]["tau_fraction"],
        sizes=config["glasses"]["sizes"],
    log:
        LOGS + "/swap_mc.log",
    benchmark:
        BENCH + "/swap_mc.tsv"
    threads: 1
    resources:
        mem_mb=mem_for,
        runtime=swap_runtime,
    script:
        "../scripts/swap_mc.py"


rule minimize:
    input:
        SAMPLE + "/liquid.parquet",
    output:
        glass=SAMPLE + "/glass.parquet",
        summary=SAMPLE + "/minimize.json",
    params:
        ftol=config["minimize"]["ftol"],
    log:
        LOGS + "/minimize.log",
    benchmark:
        BENCH + "/minimize.tsv"
    threads: 2
    resources:
        mem_mb=lambda wc, attempt: mem_for(wc, attempt, per_particle_kb=8),
        runtime=lambda wc, attempt: 10 * attempt,
    script:
        "../scripts/minimize.py"


rule properties:
    input:
        SAMPLE + "/glass.parquet",
    output:
        SAMPLE + "/properties.json",
    log:
        LOGS + "/properties.log",
    benchmark:
        BENCH + "/properties.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: mem_for(wc, attempt, per_particle_kb=8),
        runtime=lambda wc, attempt: 10 * attempt,
    script:
        "../scripts/properties.py"


rule onset:
    input:
        sample_files(SAMPLE + "/properties.json", onset_samples()),
    output:
        RESULTS + "/onset/onset.parquet",
    log:
        RESULTS + "/logs/onset.log",
    benchmark:
        RESULTS + "/benchmarks/onset.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/onset.py"
