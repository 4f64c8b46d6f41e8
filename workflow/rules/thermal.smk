# The thermal elasto-plastic model and its mean-field theory (Baron & Biroli).


wildcard_constraints:
    Tth=r"[0-9]+(\.[0-9]+)?",
    Lth=r"\d+",


rule thermal_meanfield:
    output:
        out("top", "thermal/meanfield.parquet"),
    log:
        log("top", "thermal_meanfield"),
    benchmark:
        bench("top", "thermal_meanfield")
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        thermal=keys("thermal", "alpha", "a", "meanfield_T"),
    script:
        "../scripts/thermal_meanfield.py"


rule thermal_gillespie:
    output:
        out("top", "thermal/gillespie.parquet"),
    log:
        log("top", "thermal_gillespie"),
    benchmark:
        bench("top", "thermal_gillespie")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=20,
    params:
        thermal=keys(
            "thermal", "alpha", "a", "gillespie_T", "gillespie_N", "gillespie_events"
        ),
    script:
        "../scripts/thermal_gillespie.py"


rule thermal_lattice:
    output:
        runs=out("top", "thermal/lattice_L{Lth}_T{Tth}.runs.parquet"),
        persistence=out("top", "thermal/lattice_L{Lth}_T{Tth}.persistence.parquet"),
        blocks=out("top", "thermal/lattice_L{Lth}_T{Tth}.blocks.parquet"),
        series=out("top", "thermal/lattice_L{Lth}_T{Tth}.series.parquet"),
    log:
        log("top", "thermal_lattice_L{Lth}_T{Tth}"),
    benchmark:
        bench("top", "thermal_lattice_L{Lth}_T{Tth}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        thermal=keys(
            "thermal",
            "alpha",
            "a",
            "seeds",
            "kicks",
            "equil_events_per_site",
            "n_origins",
            "max_events_per_site",
        ),
    script:
        "../scripts/thermal_lattice.py"


rule thermal_collect:
    input:
        thermal_run_files("runs"),
    output:
        out("top", "thermal/runs.parquet"),
    log:
        log("top", "thermal_collect"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/thermal_collect.py"


rule figure_thermal:
    input:
        meanfield=out("top", "thermal/meanfield.parquet"),
        gillespie=out("top", "thermal/gillespie.parquet"),
        runs=out("top", "thermal/runs.parquet"),
        persistence=thermal_run_files("persistence"),
    output:
        png=report(
            figure("thermal.png"),
            caption="../report/thermal.rst",
            category="Figures",
        ),
        pdf=figure("thermal.pdf"),
        fits=out("top", "thermal/fits.json"),
    log:
        log("top", "figure_thermal"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/figure_thermal.py"


rule thermal_liquid:
    input:
        lambda wc: sample_files(
            out("sample", "liquid.parquet"), bridge_samples(float(wc.Tth))
        ),
    output:
        out("top", "thermal/liquid_T{Tth}.json"),
    log:
        log("top", "thermal_liquid_T{Tth}"),
    benchmark:
        bench("top", "thermal_liquid_T{Tth}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        thermal=keys("thermal", "bridge_sweeps"),
    script:
        "../scripts/thermal_liquid.py"


rule thermal_bridge_epm:
    input:
        blocks=lambda wc: sample_files(
            out("sample", "yield_bond.blocks.parquet"), bridge_samples(float(wc.Tth))
        ),
        properties=lambda wc: sample_files(
            out("sample", "properties.json"), bridge_samples(float(wc.Tth))
        ),
    output:
        out("top", "thermal/bridge_epm_T{Tth}.parquet"),
    log:
        log("top", "thermal_bridge_epm_T{Tth}"),
    benchmark:
        bench("top", "thermal_bridge_epm_T{Tth}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        thermal=keys(
            "thermal",
            "a",
            "bridge_L",
            "bridge_seeds",
            "bridge_volume_fraction",
            "equil_events_per_site",
            "n_origins",
            "max_events_per_site",
        ),
    script:
        "../scripts/thermal_bridge_epm.py"


rule figure_thermal_bridge:
    input:
        liquid=[
            out("top", f"thermal/liquid_T{thermal_T_str(T)}.json")
            for T in config["thermal"]["bridge_T"]
        ],
        epm=[
            out("top", f"thermal/bridge_epm_T{thermal_T_str(T)}.parquet")
            for T in config["thermal"]["bridge_T"]
        ],
    output:
        png=report(
            figure("thermal_bridge.png"),
            caption="../report/thermal_bridge.rst",
            category="Figures",
        ),
        pdf=figure("thermal_bridge.pdf"),
        summary=out("top", "thermal/bridge.json"),
    log:
        log("top", "figure_thermal_bridge"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/figure_thermal_bridge.py"
