# Figures: read the stages' Parquet outputs, never recompute physics.


rule figure_onset:
    input:
        out("top", "onset.parquet"),
    output:
        png=figure("onset.png"),
        pdf=figure("onset.pdf"),
    log:
        log("top", "figure_onset"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/figure_onset.py"


rule figure_1:
    input:
        histograms=lambda wc: sorted(
            set(sample_files(out("tp", "bond_histograms.parquet"), fig_samples()))
        ),
        prefactors=lambda wc: sample_files(
            out("n", "bond_prefactors.parquet"), fig_samples()[:1]
        ),
    output:
        png=figure("fig1.png"),
        pdf=figure("fig1.pdf"),
    log:
        log("top", "figure_1"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/figure_1.py"


rule figure_2:
    input:
        lambda wc: sample_files(
            out("sample", "bond_field.parquet"), [fig_glass(fig_tps()[-1])]
        ),
    output:
        png=figure("fig2.png"),
        pdf=figure("fig2.pdf"),
    log:
        log("top", "figure_2"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    script:
        "../scripts/figure_2.py"
