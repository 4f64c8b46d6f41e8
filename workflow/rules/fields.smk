# Coarse-grained fields and the head-to-head test of structural predictors (Hernández-García).


rule field_predictors:
    input:
        glass=out("sample", "glass.parquet"),
        bond=out("sample", "yield_bond.parquet"),
        frozen=out("sample", "yield_frozen.parquet"),
        snapshots=out("sample", "aqs_simple_shear_forward.snapshots"),
    output:
        out("sample", "field_predictors.parquet"),
    log:
        log("sample", "field_predictors"),
    benchmark:
        bench("sample", "field_predictors")
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        fields=keys("fields", "ell", "grid", "r_range", "window", "local_r"),
        activity=keys("activity", "threshold", "rcut"),
    script:
        "../scripts/field_predictors.py"


rule predictor_scores:
    input:
        lambda wc: sample_files(
            out("sample", "field_predictors.parquet"), samples_like(wc)
        ),
    output:
        out("tp", "predictor_scores.parquet"),
    log:
        log("tp", "predictor_scores"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        fields=keys("fields", "top_fraction", "n_boot"),
    script:
        "../scripts/predictor_scores.py"


rule figure_fields:
    input:
        lambda wc: sorted(
            set(sample_files(out("tp", "predictor_scores.parquet"), glass_samples()))
        ),
    output:
        png=report(
            figure("fields.png"),
            caption="../report/fields.rst",
            category="Figures",
        ),
        pdf=figure("fields.pdf"),
    log:
        log("top", "figure_fields"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/figure_fields.py"
