# Quasi-localised modes and the pseudogap (Ji et al.): modes and γ_min of glasses of several N,
# θ(γ) and α(γ) by finite-size scaling, and the mesoscopic (λ, κ) model on the EPM lattice.


rule qlm_sample:
    input:
        glass=out("sample", "glass.parquet"),
    output:
        samples=out("sample", "qlm.samples.parquet"),
        modes=out("sample", "qlm.modes.parquet"),
    log:
        log("sample", "qlm_sample"),
    benchmark:
        bench("sample", "qlm_sample")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        qlm=keys("qlm", "strains", "aqs_step", "modes", "gamma_min"),
    script:
        "../scripts/qlm_sample.py"


rule qlm_exponents:
    input:
        samples=sample_files(out("sample", "qlm.samples.parquet"), qlm_samples()),
        modes=sample_files(out("sample", "qlm.modes.parquet"), qlm_samples()),
    output:
        out("top", "qlm/exponents.parquet"),
    log:
        log("top", "qlm_exponents"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        qlm=keys("qlm", "e_c", "omega_c", "n_boot"),
    script:
        "../scripts/qlm_exponents.py"


rule qlm_epm:
    input:
        init=out("tp", "epm_thresholds_bond.parquet"),
        renewal=lambda wc: out("tp", "epm_thresholds_bond.parquet").format(
            **{**wc, "Tp": tp_str(abs_tp(config["epm"]["renewal_Tp"]))}
        ),
        calibration=out("n", "epm_calibration.json"),
    output:
        out("tp", "qlm_epm_extremes.parquet"),
    log:
        log("tp", "qlm_epm"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        qlm=keys("qlm", "epm_L", "strains", "epm_realisations", "n_boot"),
        epm=keys("epm", "onsite"),
    script:
        "../scripts/qlm_epm.py"


rule qlm_meso:
    output:
        json=out("top", "qlm/meso.json"),
        density=out("top", "qlm/meso_density.parquet"),
    log:
        log("top", "qlm_meso"),
    benchmark:
        bench("top", "qlm_meso")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        qlm=keys(
            "qlm",
            "meso_L",
            "meso_steps",
            "meso_coupling",
            "meso_omega_range",
            "meso_x_range",
            "n_boot",
        ),
    script:
        "../scripts/qlm_meso.py"


rule figure_qlm:
    input:
        exponents=out("top", "qlm/exponents.parquet"),
        samples=sample_files(out("sample", "qlm.samples.parquet"), qlm_samples()),
        meso=out("top", "qlm/meso.json"),
        density=out("top", "qlm/meso_density.parquet"),
        epm=qlm_epm_files(),
    output:
        png=report(
            figure("qlm.png"),
            caption="../report/qlm.rst",
            category="Figures",
        ),
        pdf=figure("qlm.pdf"),
        notes=figure("qlm.notes.txt"),
    log:
        log("top", "figure_qlm"),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/figure_qlm.py"
