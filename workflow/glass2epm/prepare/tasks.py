"""Task functions of the preparation stage (paper Sec. II A, App. A).

One function per step, called by both the Snakemake rule scripts
(``workflow/scripts/swap_mc.py``, ``minimize.py``) and ``glass2epm prepare``, so the
two entry points cannot drift apart. Inputs are paths plus exactly the parameters
each step reads.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from glass2epm.core import io
from glass2epm.core.io import Configuration
from glass2epm.core.model import Model
from glass2epm.mechanics.minimize import minimize
from glass2epm.prepare import swapmc


def progress_line(sweep: int, info: dict) -> str:
    """One progress line of SWAP MC: sweep k/total, energy, MSD, F_s, trial rate and ETA."""
    total = int(info.get("total_sweeps") or 0)
    eta = info.get("eta_s")
    if eta is None or eta != eta:
        eta_txt = "ETA —"
    else:
        m, sec = divmod(int(round(eta)), 60)
        h, m = divmod(m, 60)
        eta_txt = f"ETA {h}h{m:02d}m" if h else f"ETA {m}m{sec:02d}s"
    pct = f" ({100.0 * sweep / total:.1f} %)" if total else ""
    return (f"sweep {sweep}/{total}{pct}  e = {info['energy_per_particle']:.6f} ε  MSD = {info['msd']:.3g} λ²  "
            f"F_s = {info['fs']:.3g}  {info.get('trials_per_s', float('nan')):.3g} trials/s  {eta_txt}")


def equilibrate_liquid(*, preset: str, dim: int, N: int, Tp: float, seed: int, sizes: str,
                       sweeps: int, tune_sweeps: int, p_swap: float, check: bool,
                       tau_fraction: float = 0.1, liquid_path: str | Path | None = None,
                       series_path: str | Path | None = None, provenance: dict | None = None,
                       progress: Callable | None = None, checkpoint: str | Path | None = None,
                       checkpoint_seconds: float = 600.0):
    """A random liquid (sizes from p(λ) ∝ λ⁻³, App. A) equilibrated at T_p by SWAP MC.

    ``sweeps`` production sweeps follow ``tune_sweeps`` tuning sweeps (see
    :func:`swapmc.run_swap_mc`; ``check`` raises :class:`swapmc.EquilibrationError` when
    τ > ``tau_fraction`` of production). Writes the liquid to ``liquid_path`` and the
    ``swapmc_series`` table to ``series_path`` when given. ``checkpoint``: a path where the
    run saves its state every ``checkpoint_seconds`` and from which it resumes, bitwise.
    Returns (liquid, result).
    """
    model = Model.from_preset(preset, dim=int(dim))
    liquid = swapmc.random_liquid(model, int(N), seed=int(seed), sizes=sizes)
    conf, res = swapmc.run_swap_mc(
        liquid, T=float(Tp), sweeps=int(sweeps) + int(tune_sweeps), tune_sweeps=int(tune_sweeps),
        seed=int(seed), p_swap=float(p_swap), check_equilibration=bool(check),
        tau_fraction=float(tau_fraction), progress=progress, checkpoint=checkpoint,
        checkpoint_seconds=float(checkpoint_seconds),
    )
    # the wall-clock figures are logged here; the files carry none (byte-identical outputs)
    logging.getLogger("glass2epm").info("SWAP MC: %.0f s in this process, %.3g trials/s", res.elapsed_s,
                                        res.extra["trials_per_second"])
    if series_path is not None:
        swapmc.write_series(series_path, res, conf)
    if liquid_path is not None:
        io.write_configuration(liquid_path, conf, provenance=provenance)
    return conf, res


def equilibrate_liquids(seeds, *, threads: int = 1, liquid_paths=None, series_paths=None,
                        checkpoints=None, progress: Callable | None = None, **common):
    """Independent SWAP MC chains, one per seed, run concurrently on ``threads`` threads.

    Each chain is :func:`equilibrate_liquid` with its own seed (and its own
    ``liquid_paths``/``series_paths``/``checkpoints`` entry when given; ``common``: the
    other arguments). The Monte Carlo kernel releases the GIL, so chains run in parallel
    threads of one process; each chain is serial, so its result is bitwise the one of a
    single run with that seed. ``progress(seed, sweep, info)``. Returns [(liquid, result)]
    in the order of ``seeds``.
    """
    from concurrent.futures import ThreadPoolExecutor

    seeds = [int(s) for s in seeds]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    pick = (lambda seq, k: None if seq is None else seq[k])

    def chain(k):
        prog = None if progress is None else (lambda sw, info, s=seeds[k]: progress(s, sw, info))
        return equilibrate_liquid(seed=seeds[k], liquid_path=pick(liquid_paths, k),
                                  series_path=pick(series_paths, k), checkpoint=pick(checkpoints, k),
                                  progress=prog, **common)

    with ThreadPoolExecutor(max_workers=max(1, int(threads))) as pool:
        return list(pool.map(chain, range(len(seeds))))


def minimise_liquid(liquid: Configuration | str | Path, *, glass_path: str | Path,
                    ftol: float | None = None, threads: int = 1,
                    summary_path: str | Path | None = None, provenance: dict | None = None,
                    progress: Callable | None = None):
    """The inherent state of ``liquid`` (a Configuration or its path): FIRE + Newton.

    Writes the glass to ``glass_path`` and the minimiser summary (JSON) to
    ``summary_path`` when given; ``ftol`` None takes the minimiser's default.
    Returns (glass, minimiser result).
    """
    conf = liquid if isinstance(liquid, Configuration) else io.read_configuration(liquid)
    glass, res = minimize(conf, ftol=ftol, threads=int(threads), progress=progress)
    io.write_configuration(glass_path, glass, provenance=provenance)
    if summary_path is not None:
        io.write_json(summary_path, asdict(res))
    return glass, res
