# glass2epm: particle glass -> bond micromechanics -> local yield stress -> calibrated EPM.
# Thin on purpose: config and its validation, the rule files, and the targets.
import os
import sys

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config", "config.yaml")


# User config files are laid over the defaults with the semantics of
# glass2epm.core.config: sections merge key by key, values, lists and free maps
# (strain_by_N, sweeps_by_Tp, onset.Tp) are replaced whole; bad keys get one short error.
sys.path.insert(0, os.path.join(workflow.basedir, "workflow"))
from glass2epm.core.config import assemble, load_yaml

_SCHEMA = os.path.join(workflow.basedir, "workflow", "schemas", "config.schema.yaml")
_cfg = assemble(
    load_yaml(os.path.join(workflow.basedir, "config", "config.yaml")),
    [load_yaml(f) for f in workflow.overwrite_configfiles]
    + [dict(workflow.config_settings.config or {})],
    load_yaml(_SCHEMA),
)
config.clear()
config.update(_cfg)
validate(config, _SCHEMA)  # fills in the schema's defaults


include: "workflow/rules/common.smk"
include: "workflow/rules/prepare.smk"
include: "workflow/rules/bonds.smk"
include: "workflow/rules/aqs.smk"
include: "workflow/rules/yield.smk"
include: "workflow/rules/epm.smk"
include: "workflow/rules/bands.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/thermal.smk"
include: "workflow/rules/fields.smk"
include: "workflow/rules/aqrd.smk"
include: "workflow/rules/qlm.smk"


rule all:
    default_target: True
    input:
        all_targets(),
