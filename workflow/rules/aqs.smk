# Athermal quasistatic shear (Sec. V, Appendix C) and D2min activity (Figs. 6, 7, 9).


wildcard_constraints:
    geometry=r"simple_shear|pure_shear",
    direction=r"forward|backward",


rule aqs:
    input:
        out("sample", "glass.parquet"),
    output:
        series=out("sample", "aqs_{geometry}_{direction}.parquet"),
        events=out("sample", "aqs_{geometry}_{direction}.events.parquet"),
        snapshots=directory(out("sample", "aqs_{geometry}_{direction}.snapshots")),
        summary=out("sample", "aqs_{geometry}_{direction}.json"),
    log:
        log("sample", "aqs_{geometry}_{direction}"),
    benchmark:
        bench("sample", "aqs_{geometry}_{direction}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: mem_for(wc, attempt, per_particle_kb=40),
        runtime=aqs_runtime,
    params:
        aqs=keys(
            "aqs",
            "step",
            "snapshot_every",
            "event_threshold",
            "displacement_threshold",
            "event_displacement",
            "steady_from",
        ),
        strain=aqs_strain,
        checkpoint=out("sample", "aqs_{geometry}_{direction}.checkpoint.npz"),
    script:
        "../scripts/aqs.py"


rule activity:
    input:
        out("sample", "aqs_simple_shear_forward.snapshots"),
    output:
        activity=out("sample", "activity.parquet"),
        series=out("sample", "particles.activity.parquet"),
    log:
        log("sample", "activity"),
    benchmark:
        bench("sample", "activity")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: mem_for(wc, attempt, per_particle_kb=20),
        runtime=lambda wc, attempt: 20 * attempt,
    params:
        activity=keys("activity", "rcut", "threshold", "map_strain"),
        strains=sorted(
            set(
                config["bands"]["particle_strains"]
                + [config["activity"]["map_strain"]]
            )
        ),
    script:
        "../scripts/activity.py"


rule aqs_statistics:
    input:
        lambda wc: sample_files(
            out("sample", "aqs_simple_shear_forward.parquet"), samples_like(wc)
        ),
    output:
        out("tp", "aqs_statistics.parquet"),
    log:
        log("tp", "aqs_statistics"),
    benchmark:
        bench("tp", "aqs_statistics")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        steady_from=config["aqs"]["steady_from"],
        peak_window=config["epm"]["peak_window"],
    script:
        "../scripts/aqs_statistics.py"
