# Glass preparation (paper Sec. II A, Appendix A): SWAP MC at T_p -> minimisation -> properties.


rule swap_mc:
    output:
        liquid=out("sample", "liquid.parquet"),
        series=out("sample", "swapmc.parquet"),
    log:
        log("sample", "swap_mc"),
    benchmark:
        bench("sample", "swap_mc")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_for,
        runtime=swap_runtime,
    params:
        sweeps=swap_sweeps,
        tune_sweeps=config["swap_mc"]["tune_sweeps"],
        p_swap=config["swap_mc"]["p_swap"],
        check=config["swap_mc"]["check_equilibration"],
        tau_fraction=config["swap_mc"]["tau_fraction"],
        sizes=config["glasses"]["sizes"],
        checkpoint=out("sample", "swap_mc.checkpoint.npz"),
    script:
        "../scripts/swap_mc.py"


rule minimize:
    input:
        out("sample", "liquid.parquet"),
    output:
        glass=out("sample", "glass.parquet"),
        summary=out("sample", "minimize.json"),
    log:
        log("sample", "minimize"),
    benchmark:
        bench("sample", "minimize")
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=lambda wc, attempt: mem_for(wc, attempt, per_particle_kb=8),
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        ftol=config["minimize"]["ftol"],
    script:
        "../scripts/minimize.py"


rule properties:
    input:
        out("sample", "glass.parquet"),
    output:
        out("sample", "properties.json"),
    log:
        log("sample", "properties"),
    benchmark:
        bench("sample", "properties")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: mem_for(wc, attempt, per_particle_kb=8),
        runtime=lambda wc, attempt: 10 * attempt,
    script:
        "../scripts/properties.py"


rule onset:
    input:
        sample_files(out("sample", "properties.json"), onset_samples()),
    output:
        out("top", "onset.parquet"),
    log:
        log("top", "onset"),
    benchmark:
        bench("top", "onset")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/onset.py"
