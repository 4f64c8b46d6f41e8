# Shear bands (Sec. V B, Figs. 6, 7, 9, Appendix D): EPM band runs, profiles, growth, size scaling.


rule epm_bands:
    input:
        init=out("tp", "epm_thresholds_bond.parquet"),
        renewal=lambda wc: out("tp", "epm_thresholds_bond.parquet").format(
            **{**wc, "Tp": tp_str(abs_tp(config["epm"]["renewal_Tp"]))}
        ),
        calibration=out("n", "epm_calibration.json"),
    output:
        [
            out("tp", f"epm_bands_L{L}_r{r}.activity.parquet")
            for L in band_lattices()
            for r in range(config["bands"]["realisations"])
        ],
    log:
        log("tp", "epm_bands"),
    benchmark:
        bench("tp", "epm_bands")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=lambda wc, attempt: 60 * attempt,
    params:
        bands=keys(
            "bands",
            "epm_L",
            "epm_strain",
            "epm_strains",
            "size_strain",
            "realisations",
        ),
        epm=keys("epm", "onsite"),
        map_strain=config["activity"]["map_strain"],
        lattices=band_lattices(),
    script:
        "../scripts/epm_bands.py"


rule band_profiles:
    input:
        particles=lambda wc: sample_files(
            out("sample", "particles.activity.parquet"), samples_like(wc)
        ),
        epm=[
            out("tp", f"epm_bands_L{L}_r{r}.activity.parquet")
            for L in band_lattices()
            for r in range(config["bands"]["realisations"])
        ],
    output:
        particles_widths=out("tp", "particles.band_widths.parquet"),
        particles_profiles=out("tp", "particles.band_profiles.parquet"),
        epm_widths=[out("tp", f"epm_L{L}.band_widths.parquet") for L in band_lattices()],
        epm_profiles=[
            out("tp", f"epm_L{L}.band_profiles.parquet") for L in band_lattices()
        ],
    log:
        log("tp", "band_profiles"),
    benchmark:
        bench("tp", "band_profiles")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        lattices=band_lattices(),
    script:
        "../scripts/band_profiles.py"


rule band_growth:
    input:
        particles=out("tp", "particles.band_widths.parquet"),
        epm=[
            out("tp", f"epm_L{L}.band_widths.parquet")
            for L in config["bands"]["epm_L"]
        ],
    output:
        out("tp", "band_growth.json"),
    log:
        log("tp", "band_growth"),
    benchmark:
        bench("tp", "band_growth")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/band_growth.py"


rule band_size_scaling:
    input:
        [out("tp", f"epm_L{L}.band_widths.parquet") for L in config["bands"]["size_L"]],
    output:
        out("tp", "band_size.parquet"),
    log:
        log("tp", "band_size_scaling"),
    benchmark:
        bench("tp", "band_size_scaling")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        strain=config["bands"]["size_strain"],
    script:
        "../scripts/band_size_scaling.py"


rule plasticity_maps:
    input:
        particles=lambda wc: sample_files(
            out("sample", "particles.activity.parquet"), samples_like(wc)
        ),
        epm=out("tp", f"epm_bands_L{max(config['bands']['epm_L'])}_r0.activity.parquet"),
    output:
        out("tp", "plasticity_maps.json"),
    log:
        log("tp", "plasticity_maps"),
    benchmark:
        bench("tp", "plasticity_maps")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        map_strain=config["activity"]["map_strain"],
    script:
        "../scripts/plasticity_maps.py"
