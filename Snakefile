# glass2epm: particle glass -> bond micromechanics -> local yield stress -> calibrated EPM.
# Thin on purpose: config and its validation, the rule files, and the targets.
import os

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config", "config.yaml")


validate(
    config, os.path.join(workflow.basedir, "workflow", "schemas", "config.schema.yaml")
)


include: "workflow/rules/common.smk"
include: "workflow/rules/prepare.smk"
include: "workflow/rules/bonds.smk"
include: "workflow/rules/aqs.smk"
include: "workflow/rules/yield.smk"
include: "workflow/rules/epm.smk"
include: "workflow/rules/bands.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        all_targets(),
