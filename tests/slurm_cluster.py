"""A real single-node SLURM cluster for tests: munged + slurmctld + slurmd.

Used by tests/test_slurm.py to run workflows with ``snakemake --executor slurm``
against a genuine Slurm scheduler (Debian 12 packages, Slurm 22.05) instead of
mocking ``sbatch``.

Public API
----------
``slurm_cluster(base_dir)``
    Context manager.  Installs the Debian packages if missing (root + apt-get
    only), writes a private ``slurm.conf`` under ``base_dir`` describing this
    machine as one node (real hostname, CPUs, memory) in a partition ``debug``,
    starts a private munged (own socket and key, as the munge user), slurmctld
    and slurmd, waits for the node to be idle, and yields a
    :class:`SlurmCluster` whose ``env`` points clients (sbatch, squeue, srun,
    snakemake) at that configuration (SLURM_CONF, plus an ``srun`` wrapper
    first on PATH: the jobstep plugin drops SLURM_CONF before its nested
    srun, see ``_write_srun_wrapper``).  On exit it cancels the cluster's jobs and stops, by pid,
    every process it started, verifying through ``/proc/PID/stat`` that they
    are gone (a zombie counts as gone).  It never signals a process it did not
    start: daemons carry a per-cluster marker variable in their environment,
    which is how left-over ``slurmstepd``/job processes are recognised.
    When the cluster cannot run here (not root, no apt-get, install failed) it
    calls ``pytest.skip`` with the reason (or raises :class:`SlurmUnavailable`
    when pytest is not loaded).
``slurm_cluster_fixture``
    Module-scoped pytest fixture around ``slurm_cluster``, named
    ``slurm_cluster_fixture`` (``from slurm_cluster import
    slurm_cluster_fixture`` in a test module or conftest.py makes it usable).
``run_snakemake(workdir, snakefile, configfile, profile, extra_args, env, timeout)``
    Runs ``python -m snakemake`` in ``workdir`` and returns the
    ``CompletedProcess`` (stdout and stderr merged into ``stdout``).
``SlurmCluster.snakemake_args(*extra)``
    ``cluster_args(cluster.poll_seconds)`` + ``--max-threads <node CPUs>`` +
    ``extra``: pass as ``extra_args`` to ``run_snakemake``.
``cluster_args(poll_seconds)`` / ``TEST_CLUSTER_ARGS``
    Snakemake flags this test cluster needs on top of ``profiles/slurm``:
    status queries with ``squeue`` (no accounting database, so ``sacct``
    fails and Snakemake would wait forever without an error), fast polling,
    short latency wait, no retries.

Safety net: daemons get ``PR_SET_PDEATHSIG`` = SIGTERM, so they stop even if
the test process is killed with SIGKILL; an ``atexit`` hook stops clusters
whose context was never closed; and each start first stops left-overs of
earlier harness runs whose owner process is gone (``stop_orphans``: job
processes and slurmstepd, which outlive a SIGKILLed test session).
"""

from __future__ import annotations

import atexit
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping, Sequence

try:  # pytest is optional: the context manager also works in a plain script
    import pytest
except ImportError:  # pragma: no cover
    pytest = None

REPO_ROOT = Path(__file__).resolve().parents[1]
SLURM_PROFILE = REPO_ROOT / "profiles" / "slurm"

#: Debian packages providing the daemons and the client commands.
PACKAGES = ("munge", "slurmctld", "slurmd", "slurm-client")
#: Executables that must be present after installation.
REQUIRED_BINARIES = ("munged", "munge", "slurmctld", "slurmd", "sbatch", "squeue",
                     "sinfo", "scancel", "srun", "scontrol")
#: Environment variable carried by every process the harness starts (value: a
#: per-cluster uuid); used to find left-overs such as slurmstepd at teardown.
MARKER_VAR = "GLASS2EPM_SLURM_HARNESS"
POLICY_RC = Path("/usr/sbin/policy-rc.d")
SBIN_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")

#: Seconds before the plugin's first status check (and after each check that
#: saw a job finish).  After a check that finds nothing finished the plugin adds
#: 10 s to the interval (hard-coded), so a job taking T seconds is noticed at
#: I, 2I+10, 3I+30, ... s.  A job runs Snakemake twice (the sbatch script, then
#: the srun step), so T is about 2-3 Snakemake start-ups: see poll_seconds().
DEFAULT_POLL_SECONDS = 3


def cluster_args(poll_seconds: int = DEFAULT_POLL_SECONDS) -> list[str]:
    """Snakemake flags this test cluster needs on top of profiles/slurm."""
    return [
        # no slurmdbd: `sacct` errors, and Snakemake then waits without an error
        "--slurm-status-command", "squeue",
        # the plugin waits 40 s before its first status check by default
        "--slurm-init-seconds-before-status-checks", str(poll_seconds),
        "--seconds-between-status-checks", "1",
        # (no --slurm-no-account: plugin 2.8.0 defines it but never reads it; its
        # account guess through sacct fails harmlessly and jobs go without -A)
        # one machine, one file system: outputs are there when the job ends
        "--latency-wait", "5",
        # a failing test job should fail at once, not three times
        "--retries", "0",
    ]


#: :func:`cluster_args` with the default polling.
TEST_CLUSTER_ARGS = tuple(cluster_args())


def poll_seconds(env=None) -> int:
    """Polling start interval tuned to this machine's current speed.

    Times one ``python -m snakemake --version`` (S seconds) and returns
    ceil(4 S + 2), clamped to 2..24: long enough for most trivial jobs (2-4 S
    measured on a loaded 2-core machine) to be finished at the first check
    rather than at the second one, 2I + 10 s after submission.  Idle machine:
    S ~ 1.3 s -> 8 s per DAG level; load 5 on 2 cores: S ~ 3 s -> 14 s.
    """
    t0 = time.perf_counter()
    try:
        subprocess.run([sys.executable, "-m", "snakemake", "--version"], env=env,
                       capture_output=True, timeout=60, check=True)
    except (subprocess.SubprocessError, OSError):
        return DEFAULT_POLL_SECONDS
    startup = time.perf_counter() - t0
    return int(min(24, max(2, -(-(4 * startup + 2) // 1))))


class SlurmUnavailable(RuntimeError):
    """The cluster cannot run on this machine (the reason is the message)."""


def _skip(reason: str):
    if pytest is not None:
        pytest.skip(reason)
    raise SlurmUnavailable(reason)


# --------------------------------------------------------------------------
# processes
# --------------------------------------------------------------------------

def proc_state(pid: int) -> str | None:
    """State letter from /proc/PID/stat ('R', 'S', 'Z', ...), None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError, OSError):
        return None
    # comm may contain spaces/parentheses: the state follows the last ')'
    return text[text.rfind(")") + 2:].split()[0]


def is_alive(pid: int) -> bool:
    """True if the process exists and is not a zombie (exited, not reaped)."""
    state = proc_state(pid)
    return state is not None and state not in ("Z", "X")


def proc_starttime(pid: int) -> int | None:
    """Start time of a process (clock ticks since boot, /proc/PID/stat field 22)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(text[text.rfind(")") + 2:].split()[19])


def _marker_value(cluster_id: str) -> str:
    """MARKER_VAR value: cluster id + owner pid + owner start time."""
    me = os.getpid()
    return f"{cluster_id}:{me}:{proc_starttime(me)}"


def _marked_processes() -> dict[int, str]:
    """Live processes carrying MARKER_VAR, with its value."""
    prefix = f"{MARKER_VAR}=".encode()
    me = os.getpid()
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            env = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        for item in env.split(b"\0"):
            if item.startswith(prefix) and is_alive(int(entry)):
                found[int(entry)] = item[len(prefix):].decode(errors="replace")
                break
    return found


def _pids_with_marker(marker: str) -> list[int]:
    """Live processes started for the cluster whose marker value is ``marker``."""
    return [pid for pid, value in _marked_processes().items() if value == marker]


def _kill_all(pids: list[int], grace: float = 5) -> list[int]:
    """SIGTERM, wait up to ``grace`` s, SIGKILL; return the pids still alive."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while pids and time.monotonic() < deadline:
            pids = [p for p in pids if is_alive(p)]
            time.sleep(0.1)
        if not pids:
            break
    return pids


def stop_orphans() -> list[int]:
    """Stop left-overs of earlier harness runs whose owner process is dead.

    Only processes whose MARKER_VAR names an owner (pid + start time) that no
    longer exists are touched, i.e. processes this harness started for a test
    session that was killed (SIGKILL) before it could clean up: typically
    slurmstepd and job processes (the daemons themselves die with their parent
    through PR_SET_PDEATHSIG).  Returns the pids that were stopped.
    """
    orphans = []
    for pid, value in _marked_processes().items():
        try:
            _, owner, start = value.split(":")
        except ValueError:
            continue  # not in our format: leave it alone
        if not (owner.isdigit() and start.isdigit()):
            continue
        if proc_starttime(int(owner)) != int(start) or not is_alive(int(owner)):
            orphans.append(pid)
    if orphans:
        _kill_all(orphans)
    return orphans


_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded here, not in the forked child
_PR_SET_PDEATHSIG = 1


def _preexec(uid: int | None = None, gid: int | None = None):
    """Child set-up: drop to uid/gid (if given), then ask the kernel to send
    SIGTERM when the parent dies.  The order matters: a credential change
    clears the parent-death signal."""

    def fn():
        if gid is not None:
            os.setgroups([])
            os.setgid(gid)
        if uid is not None:
            os.setuid(uid)
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return fn


def _which(name: str) -> str | None:
    path = os.environ.get("PATH", "") + os.pathsep + os.pathsep.join(SBIN_DIRS)
    return shutil.which(name, path=path)


def _run(cmd: Sequence[str], env=None, timeout: float = 30, check=False):
    return subprocess.run(list(cmd), env=env, capture_output=True, text=True,
                          timeout=timeout, check=check)


def _tail(path: Path, n: int = 30) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"({path} not readable)"
    return "\n".join(lines[-n:])


# --------------------------------------------------------------------------
# installation
# --------------------------------------------------------------------------

def missing_binaries() -> list[str]:
    return [b for b in REQUIRED_BINARIES if _which(b) is None]


def ensure_slurm_installed(timeout: float = 300) -> None:
    """Install munge + Slurm from Debian if any binary is missing.

    Calls ``pytest.skip`` (or raises SlurmUnavailable) with the reason when
    that is impossible.  Daemons are kept from starting during installation
    with a temporary /usr/sbin/policy-rc.d (exit 101), removed afterwards if
    this function created it.
    """
    if os.geteuid() != 0:
        _skip("SLURM test cluster needs root (to run munged as the munge user "
              "and slurmd as root)")
    missing = missing_binaries()
    if not missing:
        return
    apt = shutil.which("apt-get")
    if apt is None:
        _skip(f"SLURM not installed (missing {', '.join(missing)}) and no apt-get "
              f"to install {' '.join(PACKAGES)}")
    created_policy = False
    if not POLICY_RC.exists():
        POLICY_RC.write_text("#!/bin/sh\n# temporary, written by tests/slurm_cluster.py\nexit 101\n")
        POLICY_RC.chmod(0o755)
        created_policy = True
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = [apt, "install", "-y", "-q", "--no-install-recommends",
               "-o", "DPkg::Lock::Timeout=120", *PACKAGES]
    try:
        res = _run(install, env=env, timeout=timeout)
        if res.returncode != 0:  # stale package lists: update once and retry
            _run([apt, "update", "-q"], env=env, timeout=timeout)
            res = _run(install, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        res = None
    finally:
        if created_policy:
            POLICY_RC.unlink(missing_ok=True)
    if res is None or res.returncode != 0:
        detail = "timed out" if res is None else (res.stderr or res.stdout)[-800:]
        _skip(f"could not install {' '.join(PACKAGES)} with apt-get: {detail}")
    missing = missing_binaries()
    if missing:
        _skip(f"after installing {' '.join(PACKAGES)} still missing: {', '.join(missing)}")


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------

def node_resources() -> dict:
    """This machine as a Slurm node: hostname, CPUs, topology, RealMemory (MB).

    Taken from ``slurmd -C`` (what slurmd itself will report), falling back to
    nproc and /proc/meminfo.
    """
    hostname = socket.gethostname().split(".")[0]
    info: dict = {}
    slurmd = _which("slurmd")
    if slurmd:
        try:
            out = _run([slurmd, "-C"], timeout=30).stdout
            first = out.splitlines()[0] if out else ""
            info = dict(kv.split("=", 1) for kv in first.split() if "=" in kv)
        except (subprocess.TimeoutExpired, IndexError, ValueError):
            info = {}
    cpus = int(info.get("CPUs", os.cpu_count() or 1))
    if "RealMemory" in info:
        mem = int(info["RealMemory"])
    else:
        kb = next(int(line.split()[1]) for line in open("/proc/meminfo")
                  if line.startswith("MemTotal:"))
        mem = kb // 1024
    topo = {k: int(info[k]) for k in ("Boards", "SocketsPerBoard", "CoresPerSocket",
                                      "ThreadsPerCore") if k in info}
    if len(topo) != 4 or topo["Boards"] * topo["SocketsPerBoard"] * \
            topo["CoresPerSocket"] * topo["ThreadsPerCore"] != cpus:
        topo = {}
    return {"hostname": hostname, "cpus": cpus, "real_memory_mb": mem, "topology": topo}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_slurm_conf(directory: Path, node: dict, ctld_port: int, slurmd_port: int,
                     munge_socket: Path | None = None, cluster_name: str = "g2etest") -> Path:
    """Write ``directory/etc/slurm.conf`` for one node and partition ``debug``.

    ``munge_socket``: the private munged's socket (AuthInfo); None = default.
    """
    d = directory
    for sub in ("etc", "state", "spool", "log", "run"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    host, cpus, mem = node["hostname"], node["cpus"], node["real_memory_mb"]
    (d / "spool" / f"slurmd-{host}").mkdir(exist_ok=True)
    def_mem = max(100, min(1000, mem // max(cpus, 1)))
    topo = " ".join(f"{k}={v}" for k, v in node["topology"].items())
    auth_info = f"AuthInfo=socket={munge_socket}\n" if munge_socket else ""
    conf = f"""\
# Single-node test cluster written by tests/slurm_cluster.py
ClusterName={cluster_name}
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
{auth_info}StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool/slurmd-%n
SlurmctldPidFile={d}/run/slurmctld.pid
SlurmdPidFile={d}/run/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no systemd/cgroups in a container: plain /proc process tracking, no task binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# no slurmdbd: no accounting (so `sacct` cannot answer; use squeue for status)
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# without it a job that gives no --mem is allocated the whole node's memory
DefMemPerCPU={def_mem}
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
MailProg=/bin/true
InactiveLimit=0
KillWait=5
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} {topo} RealMemory={mem} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""
    path = d / "etc" / "slurm.conf"
    path.write_text(conf)
    return path


# --------------------------------------------------------------------------
# the cluster
# --------------------------------------------------------------------------

@dataclass
class SlurmCluster:
    """A running test cluster (see :func:`slurm_cluster`)."""

    directory: Path
    conf: Path
    env: dict                  # environment for clients: SLURM_CONF, marker, PATH
    hostname: str
    cpus: int
    real_memory_mb: int
    partition: str = "debug"
    poll_seconds: int = DEFAULT_POLL_SECONDS
    munge_dir: Path | None = None  # private munged: socket, key, pid, log
    marker: str = ""
    procs: dict = field(default_factory=dict)   # name -> Popen (daemons we started)
    logs: dict = field(default_factory=dict)    # name -> Path
    _stopped: bool = False
    _daemon_env: dict = field(default_factory=dict, repr=False)

    def run(self, *cmd: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run a Slurm client command (e.g. ``cluster.run('squeue')``)."""
        return _run(cmd, env=self.env, timeout=timeout)

    def snakemake_args(self, *extra: str) -> list[str]:
        """:func:`cluster_args` (polling tuned at start-up) + ``--max-threads
        <node CPUs>`` + ``extra``.

        ``--max-threads`` lowers any rule's ``threads`` to what the single node
        has (a job asking for more CPUs than any node has is rejected by sbatch).
        """
        return [*cluster_args(self.poll_seconds), "--max-threads", str(self.cpus), *extra]

    def node_state(self) -> str:
        res = self.run("sinfo", "-h", "-N", "-n", self.hostname, "-o", "%T")
        return res.stdout.strip() if res.returncode == 0 else f"?({res.stderr.strip()})"

    def job_ids(self) -> list[str]:
        res = self.run("squeue", "-h", "-o", "%i", "-t",
                       "PENDING,RUNNING,SUSPENDED,COMPLETING,CONFIGURING")
        return res.stdout.split() if res.returncode == 0 else []

    def diagnostics(self) -> str:
        parts = []
        for name, path in self.logs.items():
            parts.append(f"--- {name} log ({path}) ---\n{_tail(path)}")
        return "\n".join(parts)

    # -- teardown ----------------------------------------------------------
    def stop(self, timeout: float = 20) -> None:
        """Cancel jobs, stop the daemons we started, verify they are gone."""
        if self._stopped:
            return
        self._stopped = True
        ctld = self.procs.get("slurmctld")
        if ctld is not None and is_alive(ctld.pid):
            try:
                ids = self.job_ids()
                if ids:
                    self.run("scancel", *ids)
                    deadline = time.monotonic() + timeout
                    while self.job_ids() and time.monotonic() < deadline:
                        time.sleep(0.5)
            except (subprocess.TimeoutExpired, OSError):
                pass
        # slurmd first (it owns the job steps), then slurmctld, then munged
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.get(name)
            if proc is not None:
                _terminate(proc, timeout)
        # left-overs carrying our marker: slurmstepd (ignores SIGTERM), job processes
        survivors = _kill_all(_pids_with_marker(self.marker)) if self.marker else []
        # a reaped Popen (returncode set) is gone even if its pid was reused since
        alive = [f"{n}[{p.pid}]" for n, p in self.procs.items()
                 if p.returncode is None and is_alive(p.pid)]
        if self.munge_dir is not None and "munged" not in " ".join(alive):
            shutil.rmtree(self.munge_dir, ignore_errors=True)
        alive += [f"pid {p}" for p in survivors if is_alive(p)]
        _ACTIVE.discard(self)
        if alive:
            raise RuntimeError(f"SLURM test cluster: could not stop {', '.join(alive)}")

    __hash__ = object.__hash__


_ACTIVE: set[SlurmCluster] = set()


@atexit.register
def _stop_all() -> None:  # safety net for contexts that were never closed
    for cluster in list(_ACTIVE):
        try:
            cluster.stop()
        except Exception as exc:  # pragma: no cover
            print(f"slurm_cluster atexit: {exc}", file=sys.stderr)


def _terminate(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM, wait (reaping: no zombie left), SIGKILL if needed."""
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
    deadline = time.monotonic() + 5
    while proc.returncode is None and is_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)


def _munge_works(socket_path: Path, env=None) -> bool:
    munge = _which("munge")
    try:
        return munge is not None and _run([munge, "-n", "-S", str(socket_path)], env=env,
                                          timeout=10).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _start_munged(cluster: SlurmCluster, timeout: float) -> None:
    """Start a private munged (as the munge user) for this cluster only.

    Own socket, fresh random key, pid/log/seed files, all in
    ``cluster.munge_dir`` (outside pytest's 0700 tmp tree, which the munge
    user could not enter); slurm.conf points Slurm at the socket through
    ``AuthInfo=socket=...``.  A system munged, if any, is neither used nor
    touched, and concurrent test sessions do not share one.
    """
    try:
        pw = pwd.getpwnam("munge")
    except KeyError:
        raise RuntimeError("no 'munge' user: is the munge package installed?")
    d = cluster.munge_dir
    # munged insists: its directories and key belong to it, key not readable by others
    os.chown(d, pw.pw_uid, pw.pw_gid)
    d.chmod(0o755)
    key = d / "munge.key"
    key.write_bytes(os.urandom(1024))
    os.chown(key, pw.pw_uid, pw.pw_gid)
    key.chmod(0o600)
    log = cluster.directory / "log" / "munged.out"
    cluster.logs["munged stdout"] = log
    cluster.logs["munged"] = d / "munged.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [_which("munged"), "--foreground", f"--socket={d / 'munge.socket'}",
             f"--key-file={key}", f"--pid-file={d / 'munged.pid'}",
             f"--log-file={d / 'munged.log'}", f"--seed-file={d / 'munged.seed'}"],
            stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
            env=cluster._daemon_env, cwd=str(d),
            preexec_fn=_preexec(pw.pw_uid, pw.pw_gid))
    cluster.procs["munged"] = proc
    deadline = time.monotonic() + timeout
    while not _munge_works(d / "munge.socket"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"munged did not start:\n{_tail(log)}\n"
                               f"{_tail(d / 'munged.log')}")
        time.sleep(0.2)


def _start_daemon(cluster: SlurmCluster, name: str, args: Sequence[str]) -> None:
    out = cluster.directory / "log" / f"{name}.out"
    cluster.logs[f"{name} stdout"] = out
    cluster.logs[name] = cluster.directory / "log" / f"{name}.log"
    with open(out, "wb") as fh:
        proc = subprocess.Popen(
            [_which(name), *args], stdin=subprocess.DEVNULL, stdout=fh,
            stderr=subprocess.STDOUT, env=cluster._daemon_env,
            cwd=str(cluster.directory), preexec_fn=_preexec())
    cluster.procs[name] = proc


def _write_srun_wrapper(bindir: Path, conf: Path) -> None:
    """``bindir/srun``: sets SLURM_CONF, then runs the real srun.

    snakemake-executor-plugin-slurm-jobstep 0.6.1 drops every SLURM_* variable
    but a few job ids before its nested ``srun -n1 ...`` inside the job, so
    SLURM_CONF is lost there and srun falls back to /etc/slurm/slurm.conf or DNS
    SRV records ("Could not establish a configuration source").  A real cluster
    keeps its slurm.conf at the default path and is not affected; this private
    cluster must not touch /etc/slurm, so it puts this wrapper first on PATH.
    """
    real = _which("srun")
    bindir.mkdir(parents=True, exist_ok=True)
    wrapper = bindir / "srun"
    wrapper.write_text(
        "#!/bin/sh\n"
        "# written by tests/slurm_cluster.py: the jobstep plugin drops SLURM_CONF\n"
        f'SLURM_CONF="${{SLURM_CONF:-{conf}}}"\n'
        "export SLURM_CONF\n"
        f'exec {real} "$@"\n')
    wrapper.chmod(0o755)


def _clean_client_env(conf: Path, marker: str, bindir: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLURM_", "SBATCH_", "SRUN_", "SALLOC_", "SQUEUE_"))}
    env["SLURM_CONF"] = str(conf)
    env[MARKER_VAR] = marker
    path = [str(bindir)] + env.get("PATH", "").split(os.pathsep)
    path += [d for d in SBIN_DIRS if d not in path]
    env["PATH"] = os.pathsep.join(p for p in path if p)
    return env


@contextmanager
def slurm_cluster(base_dir, *, startup_timeout: float = 60) -> Iterator[SlurmCluster]:
    """Start a private single-node SLURM cluster under ``base_dir``; stop it on exit.

    Yields a :class:`SlurmCluster`; pass ``cluster.env`` to every Slurm client
    and to snakemake.  Skips (pytest) when the cluster cannot run here.
    """
    ensure_slurm_installed()
    base = Path(base_dir).resolve()
    base.mkdir(parents=True, exist_ok=True)
    node = node_resources()
    munge_dir = Path(tempfile.mkdtemp(prefix="g2e-munge-"))
    conf = write_slurm_conf(base, node, _free_port(), _free_port(),
                            munge_socket=munge_dir / "munge.socket")
    stop_orphans()
    marker = _marker_value(uuid.uuid4().hex)
    _write_srun_wrapper(base / "bin", conf)
    env = _clean_client_env(conf, marker, base / "bin")
    cluster = SlurmCluster(directory=base, conf=conf, env=env,
                           hostname=node["hostname"], cpus=node["cpus"],
                           real_memory_mb=node["real_memory_mb"], marker=marker,
                           munge_dir=munge_dir)
    cluster._daemon_env = dict(env)
    _ACTIVE.add(cluster)
    try:
        _start_munged(cluster, startup_timeout)
        # -D: foreground (we own the pid); -c: clean start, no saved state
        _start_daemon(cluster, "slurmctld", ["-D", "-c", "-f", str(conf)])
        _start_daemon(cluster, "slurmd", ["-D", "-f", str(conf), "-N", node["hostname"]])
        deadline = time.monotonic() + startup_timeout
        state = ""
        while True:
            for name in ("slurmctld", "slurmd"):
                if cluster.procs[name].poll() is not None:
                    raise RuntimeError(f"{name} exited with {cluster.procs[name].returncode}\n"
                                       + cluster.diagnostics())
            state = cluster.node_state()
            if state == "idle":
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"node {node['hostname']} not idle after "
                                   f"{startup_timeout} s (state {state!r})\n"
                                   + cluster.diagnostics())
            time.sleep(0.3)
        cluster.poll_seconds = poll_seconds(env)
        yield cluster
    finally:
        cluster.stop()


if pytest is not None:
    @pytest.fixture(scope="module")
    def slurm_cluster_fixture(tmp_path_factory):
        """Module-scoped running cluster (one start per test module)."""
        with slurm_cluster(tmp_path_factory.mktemp("slurm")) as cluster:
            yield cluster


# --------------------------------------------------------------------------
# snakemake
# --------------------------------------------------------------------------

def run_snakemake(workdir, snakefile, configfile=None, profile=SLURM_PROFILE,
                  extra_args: Sequence[str] = TEST_CLUSTER_ARGS,
                  env: Mapping[str, str] | None = None,
                  timeout: float = 600,
                  workflow_profile: str | None = "none") -> subprocess.CompletedProcess:
    """Run ``python -m snakemake`` (this interpreter's) in ``workdir``.

    ``profile`` defaults to profiles/slurm (pass None for no profile).
    ``workflow_profile`` defaults to "none": otherwise Snakemake also loads
    ``profiles/default`` found next to the Snakefile (the repository's
    local-execution profile), and a workflow profile's values override those
    of ``--profile`` (its ``latency-wait: 5`` would replace the 60 s of
    profiles/slurm).  Pass None to let Snakemake look for one.
    ``extra_args`` to :data:`TEST_CLUSTER_ARGS`; with a running cluster pass
    ``extra_args=cluster.snakemake_args(<targets, --config ...>)`` and
    ``env=cluster.env``.
    Returns the CompletedProcess with stderr merged into ``stdout``.  On
    timeout the whole snakemake process group is killed and the partial output
    is returned with returncode -9.
    """
    workdir = Path(workdir).resolve()
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(Path(snakefile).resolve()),
           "--directory", str(workdir)]
    if profile is not None:
        cmd += ["--profile", str(Path(profile).resolve())]
    if workflow_profile is not None:
        cmd += ["--workflow-profile", workflow_profile]
    if configfile is not None:
        cmd += ["--configfile", str(Path(configfile).resolve())]
    cmd += list(extra_args)
    proc = subprocess.Popen(cmd, cwd=workdir, env=dict(env) if env is not None else None,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(cmd, proc.returncode, out, None)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return subprocess.CompletedProcess(cmd, -9, out + "\n[run_snakemake: timed out]", None)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
