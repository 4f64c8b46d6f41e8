# Bond micromechanics (Sec. II-III, Appendix B-C): strain expansions per glass,
# pooled bond statistics per T_p, tail prefactors across T_p.


rule bond_fields:
    input:
        out("sample", "glass.parquet"),
    output:
        bonds=out("sample", "bonds.parquet"),
        field=out("sample", "bond_field.parquet"),
        coefficients=out("sample", "expansion.json"),
    log:
        log("sample", "bond_fields"),
    benchmark:
        bench("sample", "bond_fields")
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=lambda wc, attempt: mem_for(wc, attempt, per_particle_kb=20),
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        deformation=config["bonds"]["deformation"],
    script:
        "../scripts/bond_fields.py"


rule bond_statistics:
    input:
        lambda wc: sample_files(out("sample", "bonds.parquet"), samples_like(wc)),
    output:
        histograms=out("tp", "bond_histograms.parquet"),
        fits=out("tp", "bond_tails.json"),
    log:
        log("tp", "bond_statistics"),
    benchmark:
        bench("tp", "bond_statistics")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/bond_statistics.py"


rule bond_prefactors:
    input:
        lambda wc: sample_files(out("sample", "bonds.parquet"), samples_like(wc)),
    output:
        out("n", "bond_prefactors.parquet"),
    log:
        log("n", "bond_prefactors"),
    benchmark:
        bench("n", "bond_prefactors")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/bond_prefactors.py"


rule expansion_check:
    input:
        lambda wc: sample_files(
            out("sample", "glass.parquet"), [fig_glass(fig_tps()[0])]
        ),
    output:
        out("top", "expansion_check.parquet"),
    log:
        log("top", "expansion_check"),
    benchmark:
        bench("top", "expansion_check")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 20 * attempt,
    params:
        strain=config["bonds"]["check_strain"],
        step=config["bonds"]["check_step"],
    script:
        "../scripts/expansion_check.py"
