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
