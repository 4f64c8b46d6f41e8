"""Helpers shared by the rule scripts and the CLI: logging, threads, progress.

Rule scripts stay thin: ``from glass2epm.core.runtime import rule_context`` then

    with rule_context(snakemake) as log:
        ...

which sends logging (and warnings) to the rule's ``log:`` file, sets numba's
thread count from ``snakemake.threads`` and logs the wall time at the end.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time


def set_threads(n: int) -> int:
    """Set numba's thread count (bounded by what numba was started with)."""
    import numba

    n = max(1, min(int(n), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(n)
    return n


@contextlib.contextmanager
def numba_threads(threads: int | None):
    """Run a block with ``threads`` numba threads (None: leave the setting alone)."""
    if threads is None:
        yield
        return
    import numba

    prev = numba.get_num_threads()
    set_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(prev)


_BLAS = []


def blas_threads(n: int):
    """A context in which the BLAS libraries loaded in this process (CHOLMOD's OpenBLAS,
    numpy's) use at most ``n`` threads (threadpoolctl; the previous limits come back on
    exit). The AQS engine runs CHOLMOD on one BLAS thread beside numba's threads: on
    2 cores the supernodal solves took 4.4 ms with 2 BLAS threads against 1.75 ms with
    one (N = 10⁴), as numba's and OpenBLAS's waiting threads spin on the same cores."""
    if not _BLAS:
        from threadpoolctl import ThreadpoolController

        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=max(1, int(n)), user_api="blas")


def setup_logging(path=None, level=logging.INFO) -> logging.Logger:
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = logging.FileHandler(path, mode="w") if path else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    return logging.getLogger("glass2epm")


@contextlib.contextmanager
def rule_context(smk):
    """Logging to the rule's log file, numba threads from the rule, timing, errors logged."""
    log_path = smk.log[0] if len(smk.log) else None
    log = setup_logging(log_path)
    threads = set_threads(getattr(smk, "threads", 1))
    log.info("rule %s: threads=%d", getattr(smk, "rule", "?"), threads)
    t0 = time.perf_counter()
    try:
        yield log
    except Exception:
        log.exception("rule failed")
        raise
    log.info("done in %.2f s", time.perf_counter() - t0)


class Progress:
    """Rate-limited progress lines in a log (every ``every`` seconds)."""

    def __init__(self, log: logging.Logger, label: str, every: float = 10.0):
        self.log = log
        self.label = label
        self.every = every
        self._last = -1e30
        self._t0 = time.perf_counter()

    def __call__(self, *args, force: bool = False, **kw):
        now = time.perf_counter()
        if force or now - self._last >= self.every:
            self._last = now
            parts = [str(a) for a in args] + [f"{k}={v}" for k, v in kw.items()]
            self.log.info("%s [%.1f s] %s", self.label, now - self._t0, " ".join(parts))
