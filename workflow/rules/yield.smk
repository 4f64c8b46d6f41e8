# Local yield-stress maps (Sec. IV): bond micromechanics in a cavity and the frozen matrix.


rule yield_map_bond:
    input:
        out("sample", "glass.parquet"),
    output:
        map=out("sample", "yield_bond.parquet"),
        sites=out("sample", "yield_bond.sites.parquet"),
        blocks=out("sample", "yield_bond.blocks.parquet"),
    log:
        log("sample", "yield_map_bond"),
    benchmark:
        bench("sample", "yield_map_bond")
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=lambda wc, attempt: mem_for(wc, attempt, per_particle_kb=20),
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        y=keys("yield", "radius", "spacing", "block", "geometry", "component"),
    script:
        "../scripts/yield_map_bond.py"


rule yield_map_frozen_chunk:
    input:
        out("sample", "glass.parquet"),
    output:
        out("sample", "yield_frozen_chunks/chunk{k}.sites.parquet"),
    log:
        log("sample", "yield_map_frozen_chunk{k}"),
    benchmark:
        bench("sample", "yield_map_frozen_chunk{k}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: mem_for(wc, attempt, per_particle_kb=20),
        runtime=lambda wc, attempt: frozen_runtime(wc) * attempt,
    params:
        y=keys(
            "yield",
            "radius",
            "spacing",
            "geometry",
            "component",
            "frozen_chunks",
            "frozen_step",
            "frozen_max_strain",
        ),
    script:
        "../scripts/yield_map_frozen_chunk.py"


rule yield_map_frozen:
    input:
        glass=out("sample", "glass.parquet"),
        chunks=lambda wc: [
            out("sample", f"yield_frozen_chunks/chunk{k}.sites.parquet").format(**wc)
            for k in range(config["yield"]["frozen_chunks"])
        ],
    output:
        map=out("sample", "yield_frozen.parquet"),
        sites=out("sample", "yield_frozen.sites.parquet"),
        blocks=out("sample", "yield_frozen.blocks.parquet"),
    log:
        log("sample", "yield_map_frozen"),
    benchmark:
        bench("sample", "yield_map_frozen")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: mem_for(wc, attempt, per_particle_kb=20),
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        y=keys("yield", "block"),
    script:
        "../scripts/yield_map_frozen.py"


rule yield_compare:
    input:
        bond=lambda wc: sample_files(
            out("sample", "yield_bond.blocks.parquet"), samples_like(wc)
        ),
        frozen=lambda wc: sample_files(
            out("sample", "yield_frozen.blocks.parquet"), samples_like(wc)
        ),
    output:
        out("n", "yield_compare.parquet"),
    log:
        log("n", "yield_compare"),
    benchmark:
        bench("n", "yield_compare")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/yield_compare.py"


rule yield_example:
    input:
        lambda wc: sample_files(
            out("sample", "glass.parquet"), [fig_glass(fig_tps()[-1])]
        ),
    output:
        particles=out("top", "cavity_example.particles.parquet"),
        bonds=out("top", "cavity_example.bonds.parquet"),
        curves=out("top", "cavity_example.curves.parquet"),
    log:
        log("top", "yield_example"),
    benchmark:
        bench("top", "yield_example")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        y=keys(
            "yield",
            "radius",
            "spacing",
            "geometry",
            "component",
            "frozen_step",
            "frozen_max_strain",
        ),
    script:
        "../scripts/yield_example.py"
