# Figures: read the stages' Parquet outputs, never recompute physics.


rule figure_onset:
    input:
        RESULTS + "/onset/onset.parquet",
    output:
        png=FIGURES + "/onset.png",
        pdf=FIGURES + "/onset.pdf",
    log:
        RESULTS + "/logs/figure_onset.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/figure_onset.py"
