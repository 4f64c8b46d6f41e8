# Figures: read the stages' Parquet outputs, never recompute physics.


rule figure_onset:
    input:
        out("top", "onset.parquet"),
    output:
        png=report(
            figure("onset.png"),
            caption="../report/onset.rst",
            category="Figures",
        ),
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
        png=report(
            figure("fig1.png"),
            caption="../report/fig1.rst",
            category="Figures",
        ),
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
        png=report(
            figure("fig2.png"),
            caption="../report/fig2.rst",
            category="Figures",
        ),
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


rule steady_samples:
    input:
        particles=lambda wc: sample_files(
            out("sample", "aqs_simple_shear_forward.parquet"), steady_samples_glasses()
        ),
        epm=lambda wc: steady_samples_epm(),
    output:
        out("top", "steady_samples.parquet"),
    log:
        log("top", "steady_samples"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        steady_from=config["aqs"]["steady_from"],
    script:
        "../scripts/steady_samples.py"


rule figure_3:
    input:
        particles=out("top", "cavity_example.particles.parquet"),
        bonds=out("top", "cavity_example.bonds.parquet"),
        curves=out("top", "cavity_example.curves.parquet"),
    output:
        png=report(
            figure("fig3.png"),
            caption="../report/fig3.rst",
            category="Figures",
        ),
        pdf=figure("fig3.pdf"),
    log:
        log("top", "figure_3"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/figure_3.py"


rule figure_4:
    input:
        unpack(fig4_inputs),
    output:
        png=report(
            figure("fig4.png"),
            caption="../report/fig4.rst",
            category="Figures",
        ),
        pdf=figure("fig4.pdf"),
    log:
        log("top", "figure_4"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../scripts/figure_4.py"


rule figure_5:
    input:
        unpack(fig5_inputs),
    output:
        png=report(
            figure("fig5.png"),
            caption="../report/fig5.rst",
            category="Figures",
        ),
        pdf=figure("fig5.pdf"),
    log:
        log("top", "figure_5"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../scripts/figure_5.py"


rule figure_6:
    input:
        unpack(fig6_inputs),
    output:
        png=report(
            figure("fig6.png"),
            caption="../report/fig6.rst",
            category="Figures",
        ),
        pdf=figure("fig6.pdf"),
    log:
        log("top", "figure_6"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        map_strain=config["activity"]["map_strain"],
    script:
        "../scripts/figure_6.py"


rule figure_7:
    input:
        unpack(fig7_inputs),
    output:
        png=report(
            figure("fig7.png"),
            caption="../report/fig7.rst",
            category="Figures",
        ),
        pdf=figure("fig7.pdf"),
    log:
        log("top", "figure_7"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../scripts/figure_7.py"


rule figure_8:
    input:
        out("top", "expansion_check.parquet"),
    output:
        png=report(
            figure("fig8.png"),
            caption="../report/fig8.rst",
            category="Figures",
        ),
        pdf=figure("fig8.pdf"),
    log:
        log("top", "figure_8"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/figure_8.py"


rule figure_9:
    input:
        unpack(fig9_inputs),
    output:
        png=report(
            figure("fig9.png"),
            caption="../report/fig9.rst",
            category="Figures",
        ),
        pdf=figure("fig9.pdf"),
    log:
        log("top", "figure_9"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/figure_9.py"


rule summary:
    input:
        unpack(summary_inputs),
    output:
        table=report(
            out("top", "report/comparison.tsv"),
            caption="../report/comparison.rst",
            category="Key numbers",
        ),
        numbers=out("top", "report/numbers.json"),
    log:
        log("top", "summary"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        tp_scale=lambda wc: dict(
            Tp=sorted({float(s["Tp"]) for s in glass_samples()}),
            units=config["glasses"]["Tp_units"],
            T_onset=config["glasses"]["T_onset"],
            preset=PRESET,
        ),
    script:
        "../scripts/summary.py"


rule paper_scale:
    input:
        unpack(paper_scale_inputs),
    output:
        table=report(
            out("top", "report/paper_scale_N{sizes}.tsv"),
            caption="../report/paper_scale.rst",
            category="Paper-scale comparison",
        ),
        numbers=out("top", "report/paper_scale_N{sizes}.json"),
    log:
        log("top", "paper_scale_N{sizes}"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        sizes=lambda wc: paper_scale_specs(wc.sizes),
        renewal_Tp=lambda wc: tp_str(abs_tp(config["epm"]["renewal_Tp"])),
        steady_from=config["aqs"]["steady_from"],
    script:
        "../scripts/paper_scale.py"


rule figure_paper_scale:
    input:
        table=out("top", "report/paper_scale_N{sizes}.tsv"),
        numbers=out("top", "report/paper_scale_N{sizes}.json"),
    output:
        png=report(
            figure("paper_scale_N{sizes}.png"),
            caption="../report/paper_scale.rst",
            category="Paper-scale comparison",
        ),
        pdf=figure("paper_scale_N{sizes}.pdf"),
        page=out("top", "report/paper_scale_N{sizes}.html"),
    log:
        log("top", "figure_paper_scale_N{sizes}"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        caption=lambda wc: paper_scale_caption(wc.sizes),
    script:
        "../scripts/figure_paper_scale.py"


rule report_index:
    input:
        table=out("top", "report/comparison.tsv"),
        scale=lambda wc: paper_scale_default(),
        figures=[figure(png) for png, _ in FIGURE_CAPTIONS],
    output:
        out("top", "report/index.html"),
    log:
        log("top", "report_index"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        captions=lambda wc: rendered_captions(),
    script:
        "../scripts/report_index.py"
