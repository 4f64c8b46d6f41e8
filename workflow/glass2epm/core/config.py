"""The workflow's configuration: how user config files combine with the defaults, and
short errors for bad keys.

Semantics (the README's "Configuration" section):

* ``config/config.yaml`` holds the defaults; each ``--configfile`` (and ``--config
  KEY=VALUE``) is laid over it in order.
* **Sections merge key by key** (an object whose keys the schema names: ``aqs``,
  ``yield``, ...): a user file sets only the keys it names.
* **Values, lists and free maps are replaced whole** (a free map is an object whose
  keys are the user's: ``aqs.strain_by_N``, ``swap_mc.sweeps_by_Tp``, ``onset.Tp``):
  ``strain_by_N: {}`` clears the default's entries, and ``onset: {Tp: {richard2023:
  [...]}}`` runs that preset only.
* Keys of free maps may be written unquoted: ``strain_by_N: {10000: 0.5}`` and
  ``sweeps_by_Tp: {0.4: 200000}`` become ``"10000"`` and ``"0.40"``.
* An unknown key or a wrong type is one short error naming the key, the problem and
  the nearest valid key; T_p values must be written with at most two decimals, the
  form they take in result paths (``Tp0.40``), so that two samples cannot share one.
"""

from __future__ import annotations

import copy
import difflib

import yaml


class ConfigError(ValueError):
    """A configuration that cannot be used: the message names the key."""


def load_yaml(path) -> dict:
    with open(path) as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must be a mapping of keys, got {type(data).__name__}")
    return data


def _is_section(schema) -> bool:
    return isinstance(schema, dict) and "properties" in schema


def _is_free_map(schema) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "object" and "properties" not in schema


def lay_over(base: dict, user: dict, schema: dict) -> dict:
    """``user`` laid over ``base``: sections merge key by key, everything else is replaced."""
    out = copy.deepcopy(base)
    props = schema.get("properties", {}) if isinstance(schema, dict) else {}
    for key, value in user.items():
        sub = props.get(key)
        if _is_section(sub) and isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = lay_over(out[key], value, sub)
        else:
            out[key] = copy.deepcopy(value)
    return out


def tp_key(value, where: str) -> str:
    """T_p as written in paths and map keys ("0.40"); refuses more than two decimals."""
    try:
        t = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: T_p must be a number, got {value!r}") from None
    s = f"{t:.2f}"
    if abs(float(s) - t) > 1e-12:
        raise ConfigError(f"{where}: T_p = {value!r} has more than two decimals; result paths hold T_p with "
                          f"two (Tp{s}), so two samples could share one: use at most two decimals")
    return s


def normalise_keys(cfg: dict, schema: dict, path: str = "") -> dict:
    """Free-map keys as strings (T_p-keyed maps with two decimals), recursively."""
    props = schema.get("properties", {}) if isinstance(schema, dict) else {}
    for key, value in list(cfg.items()):
        sub = props.get(key)
        where = f"{path}{key}"
        if _is_section(sub) and isinstance(value, dict):
            normalise_keys(value, sub, where + ".")
        elif _is_free_map(sub) and isinstance(value, dict):
            if key.endswith("_by_Tp"):
                cfg[key] = {tp_key(k, f"{where}.{k}"): v for k, v in value.items()}
            else:
                cfg[key] = {str(k): v for k, v in value.items()}
    return cfg


def check_tps(cfg: dict) -> None:
    """Every T_p of the sweep and the onset stage fits the two-decimal path form."""
    for t in (cfg.get("glasses") or {}).get("Tp") or []:
        tp_key(t, "glasses.Tp")
    for preset, tps in ((cfg.get("onset") or {}).get("Tp") or {}).items():
        for t in tps or []:
            tp_key(t, f"onset.Tp.{preset}")


def _nearest(word, choices) -> str:
    near = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.5)
    return f"; did you mean {near[0]!r}?" if near else f"; valid keys: {', '.join(sorted(map(str, choices)))}"


def check_schema(cfg: dict, schema: dict) -> None:
    """Validate against the JSON schema; the first problem as one short :class:`ConfigError`."""
    import jsonschema

    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(cfg), key=lambda e: (len(e.path), list(map(str, e.path))))
    if not errors:
        return
    e = errors[0]
    where = ".".join(map(str, e.path))
    if e.validator == "additionalProperties" and e.validator_value is False:
        known = set((e.schema.get("properties") or {}))
        unknown = sorted(set(e.instance) - known)
        key = unknown[0] if unknown else "?"
        at = f"{where}.{key}" if where else key
        raise ConfigError(f"unknown config key {at!r}{_nearest(key, known)}")
    shown = repr(e.instance)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    desc = (e.schema.get("description") or "") if isinstance(e.schema, dict) else ""
    hint = f" ({desc})" if desc and len(desc) < 120 else ""
    raise ConfigError(f"config key {where or '(top level)'!r} = {shown}: {e.message.split(chr(10))[0][:160]}{hint}")


def assemble(default: dict, layers, schema: dict) -> dict:
    """The configuration: ``layers`` (user config dicts, in order) laid over ``default``,
    free-map keys normalised, checked against ``schema`` and the T_p rule."""
    cfg = copy.deepcopy(default)
    for layer in layers:
        if layer:
            cfg = lay_over(cfg, normalise_keys(copy.deepcopy(layer), schema), schema)
    normalise_keys(cfg, schema)
    check_schema(cfg, schema)
    check_tps(cfg)
    return cfg
