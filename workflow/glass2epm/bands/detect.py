"""Shear-band detection, position and width from plastic-activity maps
(Sec. V B, Appendix D, Figs. 6, 7, 9).

Input: one value of plastic activity P ≥ 0 per particle (number of D²_min
events, positions in λ) or per EPM block (number of failures, positions in
block units) in a periodic box of side L (or Lx × Ly). Lengths come out in
the units of the input; pass ``scale`` (λ per particle diameter, or 1 for
blocks) to also get widths in diameters/blocks.

Conventions (used everywhere in this module and by ``glass2epm bands``)
------------------------------------------------------------------------
* **Orientation** names the direction the band RUNS along:
  ``"x"`` — a horizontal band (parallel to the shear direction x in simple
  shear); its profile is P(y), activity averaged along x, and its
  ``position`` is a **y** coordinate. ``"y"`` — a vertical band; profile P(x),
  ``position`` an **x** coordinate. ``"none"`` — no band detected.
* **Profile** P(u) in a slab (bin) along u = mean activity per particle (or
  block) in that slab: Σ activity / number of particles (the paper's "plastic
  profile", Fig. 7a, 9a). ``binary=True`` uses min(activity, 1) instead
  (fraction of particles that yielded at least once, as rendered in Fig. 6).
* **Background** b: mean of the profile far from every band (outside each band
  region dilated by its own length on both sides); when bands fill the box, the
  mean of the lowest 10 % of the (smoothed) profile.
* **width** (THE band width): full width at half maximum of the profile above
  the background, P(u) − b, around the band's peak, with linear interpolation
  between bins (a crossing needs two consecutive bins below half maximum, so
  that one noisy bin does not cut the band). For a top-hat band of width W it
  is W; for a Gaussian of standard deviation s it is 2√(2 ln 2) s ≈ 2.355 s.
  It only uses the profile near the band, hence is robust to background noise.
  ``width_std`` (kept available): the standard deviation (square root of the
  second moment about the centre) of the excess P − b inside the band window
  (region dilated as for the background); = s for a Gaussian, W/√12 for a top-hat.
* **position**: the midpoint of the two half-maximum crossings that define
  the width (the centre of the FWHM interval), found by walking outward from
  the peak with periodic indices and wrapped into [0, L): a band straddling the
  boundary is located correctly, and shoulders below half maximum (clusters
  next to the band) do not pull it. ``center_profile`` rolls a profile so that
  the band sits at 0.
* Binning: slab averages convolve the profile with the bin (variance Δ²/12).
  For a top-hat this leaves the FWHM unchanged (a 1-block EPM band has width 1);
  for a Gaussian of standard deviation s it inflates the FWHM by ≈ (Δ/s)²/24
  (2 % at s = 1.5 Δ). No correction is applied: keep bands ≳ 3 bins wide.

Orientation test
----------------
The activity is binned on a 2-D grid (``bin_width``: a few particle
diameters by default, one block on an EPM lattice). To test for a band along
x, the box is cut into ``n_stripes`` stripes along x (each L/n_stripes wide),
each with its own profile P_k(y). The *coherence* C_y is the mean correlation
coefficient between the profiles of non-adjacent stripes (adjacent stripes
may share a cluster straddling their border). A band along x makes every
P_k(y) peak at the same y, so C_y → 1 (C_y = V_band/(V_band + V_noise) per
stripe); without structure spanning the stripes C_y ≈ 0. The null
distribution is sampled by circularly shifting each stripe's profile by an
independent random offset (``n_perm`` shifts, explicit ``seed``): it keeps
every stripe's activity, clustering and 1-D correlations and destroys only the
alignment across stripes, so isotropic fields, Poisson noise and clusters
smaller than a stripe are all "no band". A band along x is declared when

1. the shift p-value of C_y ≤ ``alpha`` (significant), and
2. C_y ≥ ``min_coherence`` (a strong effect, not merely a significant one in
   a huge sample: by default at least a quarter of each stripe profile's
   variance is the common band signal),

and symmetrically for "y" (stripes along y, profile P(x), coherence C_x). If
both qualify (crossing bands) the larger coherence wins; if neither, "none".
The ratio R = S/⟨S_shift⟩ of the between-slab variance of the whole-box
profile, S = Σ_j n_j (m_j − m̄)² / Σ n_j, is reported too (≈ 1 without a band,
→ n_stripes for a strong one).

Multiple bands: the smoothed excess is segmented with hysteresis thresholds
(regions above ``low`` × main height that contain a bin above ``high`` × main
height); a secondary region counts as a band if its smoothed height also
exceeds ``k_sigma`` times the noise of the smoothed profile (noise estimated
from the median absolute first difference of the profile far from the bands).
Two bands separated by a dip to (near) background give ``n_bands = 2``.

The "activity" Parquet schema (x, y, activity) is registered here; any
glass2epm file with those columns is accepted for reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glass2epm.core import io

from glass2epm.core.schemas import ACTIVITY


ORIENTATIONS = ("x", "y", "none")


# -----------------------------------------------------------------------------
# I/O


def write_activity(path, x, y, activity, *, box_side=None, box=None, length_unit: str = "lambda",
                   extra: dict | None = None, **meta):
    """Write an activity map (schema "activity") through ``io.write_table``.

    Give ``box`` (a ``box.Box`` or {"h": ...}) or ``box_side`` (L, or (Lx, Ly));
    ``length_unit`` is "lambda" (particles) or "block" (EPM). Remaining keyword
    arguments (model, strain, seed, provenance) go to the metadata.
    """
    if length_unit not in ("lambda", "block"):
        raise ValueError(f"length_unit must be 'lambda' or 'block', got {length_unit!r}")
    ex = {"length_unit": length_unit, **(extra or {})}
    if box_side is not None:
        ex["box_side"] = np.atleast_1d(np.asarray(box_side, dtype=float)).tolist()
        if len(ex["box_side"]) == 1:
            ex["box_side"] = ex["box_side"][0]
    if box is None and box_side is None:
        raise ValueError("write_activity needs box or box_side")
    return io.write_table(path, ACTIVITY, {"x": np.asarray(x, float), "y": np.asarray(y, float),
                                           "activity": np.asarray(activity)}, box=box, extra=ex, **meta)


@dataclass
class ActivityMap:
    """An activity map read back: positions, activity, box sides (Lx, Ly), tilt."""

    x: np.ndarray
    y: np.ndarray
    activity: np.ndarray
    L: np.ndarray
    tilt: float
    length_unit: str
    meta: dict


def box_from_meta(meta: dict):
    """(sides (Lx, Ly), tilt) from glass2epm metadata: ``box.h`` diagonal (tilt =
    h[0][1]) if present, else ``extra.box_side``, else an EPM table's lattice side
    ``extra.L`` (blocks); None if none is there."""
    box = meta.get("box") or {}
    if box.get("h") is not None:
        h = np.asarray(box["h"], dtype=float)
        if h.shape[0] < 2:
            raise ValueError(f"box matrix in metadata has shape {h.shape}, expected 2x2")
        return np.array([h[0, 0], h[1, 1]]), float(h[0, 1])
    extra = meta.get("extra") or {}
    side = extra.get("box_side")
    if side is None and extra.get("L") is not None and (extra.get("length_unit") == "block"
                                                        or extra.get("source") == "epm"):
        side = extra["L"]  # an EPM table: the lattice side L, in blocks
    if side is not None:
        return np.broadcast_to(np.asarray(side, dtype=float), (2,)).copy(), 0.0
    return None


def read_activity(path, box_side=None) -> ActivityMap:
    """Read an activity map: any table with columns x, y, activity (finite): a glass2epm
    Parquet file, or plain user data (Parquet without glass2epm metadata, CSV, TSV).

    Box side: ``box_side`` if given (it wins), else the metadata (``box.h``
    diagonal, or ``extra.box_side``); a ValueError names the file if none (a plain
    table needs ``box_side``).
    """
    t = io.read_user_table(path, ["x", "y", "activity"], "activity map")
    found = box_from_meta(t.meta)
    if box_side is not None:
        L = np.broadcast_to(np.asarray(box_side, dtype=float), (2,)).copy()
        tilt = found[1] if found is not None else 0.0
    elif found is not None:
        L, tilt = found
    else:
        raise ValueError(
            f"{path}: no box side: the file has neither box.h nor extra.box_side in glass2epm "
            "metadata (a plain table has none); pass it explicitly (--box L)"
        )
    if np.any(~(L > 0)):
        raise ValueError(f"{path}: box sides must be positive, got {L.tolist()}")
    unit = (t.meta.get("extra") or {}).get("length_unit", "lambda")
    return ActivityMap(np.asarray(t["x"], float), np.asarray(t["y"], float),
                       np.asarray(t["activity"], float), L, tilt, unit, t.meta)


# -----------------------------------------------------------------------------
# grids and profiles


def _sides(L) -> np.ndarray:
    L = np.broadcast_to(np.asarray(L, dtype=float), (2,)).copy()
    if np.any(~(L > 0)):
        raise ValueError(f"box sides must be positive, got {L.tolist()}")
    return L


def wrap_positions(x, y, L, tilt: float = 0.0):
    """Positions in [0, Lx) × [0, Ly). With a Lees–Edwards tilt (h[0][1]) the
    fractional coordinates s = h⁻¹ r are wrapped and scaled back by (Lx, Ly), so
    x is measured along the sheared cell's rows (y is unaffected)."""
    Lx, Ly = _sides(L)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    sy = y / Ly
    sx = (x - tilt * sy) / Lx
    sx -= np.floor(sx)
    sy -= np.floor(sy)
    sx[sx >= 1.0] = 0.0
    sy[sy >= 1.0] = 0.0
    return sx * Lx, sy * Ly


def _lattice(x, y, L):
    """(spacing, (first x, first y)) if the points fill a regular lattice that
    tiles the box (EPM blocks), else None."""
    Lx, Ly = _sides(L)
    n = len(x)
    ux = np.unique(np.round(np.asarray(x, float), 6))
    uy = np.unique(np.round(np.asarray(y, float), 6))
    if 1 < ux.size and 1 < uy.size and ux.size * uy.size == n:
        dx, dy = np.diff(ux), np.diff(uy)
        if np.allclose(dx, dx[0], rtol=1e-4) and np.allclose(dy, dy[0], rtol=1e-4) \
                and np.isclose(dx[0] * ux.size, Lx, rtol=1e-4) and np.isclose(dy[0] * uy.size, Ly, rtol=1e-4):
            return float(max(dx[0], dy[0])), (float(ux[0]), float(uy[0]))
    return None


def default_bin_width(x, y, L, factor: float = 2.5) -> float:
    """Grid spacing: the lattice spacing if the points sit on a regular lattice
    (EPM blocks, one bin per block), else ``factor`` × the mean interparticle
    spacing √(Lx Ly / N) (≈ 2.5 λ at the paper's densities: a few diameters)."""
    Lx, Ly = _sides(L)
    n = len(x)
    if n == 0:
        raise ValueError("no points in the activity map")
    lat = _lattice(x, y, (Lx, Ly))
    if lat is not None:
        return lat[0]
    return float(factor * np.sqrt(Lx * Ly / n))


@dataclass
class ActivityGrid:
    """Activity binned on an nx × ny periodic grid: ``sums[i, j]`` (Σ activity) and
    ``counts[i, j]`` (number of particles/blocks) in cell (x bin i, y bin j)."""

    sums: np.ndarray
    counts: np.ndarray
    L: np.ndarray
    bin_width: np.ndarray  # actual (Lx/nx, Ly/ny)
    origin: np.ndarray = field(default_factory=lambda: np.zeros(2))  # first bin edge per axis

    def profile(self, axis: str) -> "Profile":
        """P(axis): mean activity per particle in slabs normal to ``axis``
        ("y" → P(y), averaged along x; "x" → P(x), averaged along y)."""
        k = {"x": 0, "y": 1}[axis]
        other = 1 - k
        A = self.sums.sum(axis=other)
        n = self.counts.sum(axis=other)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.where(n > 0, A / np.maximum(n, 1), np.nan)
        nb = A.size
        d = self.L[k] / nb
        coord = (self.origin[k] + (np.arange(nb) + 0.5) * d) % self.L[k]
        return Profile(coord=coord, value=v, count=n, L=float(self.L[k]), axis=axis)


def activity_grid(x, y, activity, L, bin_width=None, *, tilt: float = 0.0, binary: bool = False) -> ActivityGrid:
    """Accumulate activity onto a periodic grid (see the module docstring).

    ``bin_width`` (input units; default ``default_bin_width``) is adjusted so that
    an integer number of bins (≥ 4) fits each side exactly. Bin edges start at 0,
    except for points on a regular lattice binned at the lattice spacing (EPM
    blocks, the default there): then each block sits at the centre of its bin, so
    positions come out in the blocks' own coordinates.
    """
    Lx, Ly = _sides(L)
    a = np.asarray(activity, dtype=float)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if not (x.shape == y.shape == a.shape) or x.ndim != 1:
        raise ValueError(f"x, y, activity must be 1-D of equal length, got {x.shape}, {y.shape}, {a.shape}")
    if np.any(~np.isfinite(a)) or np.any(a < 0):
        raise ValueError("activity must be finite and ≥ 0")
    if binary:
        a = np.minimum(a, 1.0)
    if x.size == 0:
        raise ValueError("no points in the activity map")
    lat = _lattice(x, y, (Lx, Ly)) if tilt == 0.0 else None
    if bin_width is None:
        bin_width = lat[0] if lat is not None else default_bin_width(x, y, (Lx, Ly))
    bw = np.broadcast_to(np.asarray(bin_width, dtype=float), (2,))
    if np.any(~(bw > 0)):
        raise ValueError(f"bin width must be positive, got {bin_width}")
    nx = max(4, int(round(Lx / bw[0])))
    ny = max(4, int(round(Ly / bw[1])))
    dx, dy = Lx / nx, Ly / ny
    origin = np.zeros(2)
    if lat is not None and np.isclose(dx, lat[0], rtol=1e-6) and np.isclose(dy, lat[0], rtol=1e-6):
        origin = np.array([(lat[1][0] - 0.5 * dx) % dx, (lat[1][1] - 0.5 * dy) % dy])
    xw, yw = wrap_positions(np.asarray(x) - origin[0], np.asarray(y) - origin[1], (Lx, Ly), tilt)
    i = np.minimum((xw / Lx * nx).astype(np.int64), nx - 1)
    j = np.minimum((yw / Ly * ny).astype(np.int64), ny - 1)
    flat = i * ny + j
    sums = np.bincount(flat, weights=a, minlength=nx * ny).reshape(nx, ny)
    counts = np.bincount(flat, minlength=nx * ny).reshape(nx, ny).astype(float)
    return ActivityGrid(sums, counts, np.array([Lx, Ly]), np.array([dx, dy]), origin)


@dataclass
class Profile:
    """A profile across ``axis``: bin centres ``coord`` in [0, L) (in bin order,
    which starts at the grid origin: sorted unless the grid is lattice-aligned),
    mean activity per particle ``value`` (NaN in empty slabs), particles per
    slab ``count``."""

    coord: np.ndarray
    value: np.ndarray
    count: np.ndarray
    L: float
    axis: str

    @property
    def bin_width(self) -> float:
        return self.L / self.coord.size

    def centered(self, centre: float):
        """(d, value): the profile against d = u − centre wrapped into [−L/2, L/2),
        sorted by d (a periodic roll: no interpolation)."""
        return center_profile(self.coord, self.value, centre, self.L)


def center_profile(coord, value, centre: float, L: float):
    """Periodic roll of a profile so that ``centre`` sits at d = 0.

    Returns (d, value) with d = coord − centre wrapped into [−L/2, L/2), sorted.
    """
    coord = np.asarray(coord, dtype=float)
    d = (coord - centre + 0.5 * L) % L - 0.5 * L
    order = np.argsort(d, kind="stable")
    return d[order], np.asarray(value)[order]


# -----------------------------------------------------------------------------
# profile analysis


def _fill_nan_periodic(v):
    v = np.asarray(v, dtype=float).copy()
    bad = ~np.isfinite(v)
    if bad.all():
        raise ValueError("profile has no finite value")
    if bad.any():
        n = v.size
        idx = np.arange(n)
        good = idx[~bad]
        xp = np.concatenate([good - n, good, good + n])
        fp = np.tile(v[~bad], 3)
        v[bad] = np.interp(idx[bad], xp, fp)
    return v


def smooth_periodic(v, passes: int = 1):
    """``passes`` applications of the periodic binomial kernel [1, 2, 1]/4
    (each adds a variance of Δ²/2 to a peak, Δ the bin width)."""
    v = np.asarray(v, dtype=float)
    for _ in range(int(passes)):
        v = 0.25 * np.roll(v, 1) + 0.5 * v + 0.25 * np.roll(v, -1)
    return v


def _runs_periodic(mask):
    """Connected runs of True in a periodic boolean array: list of index arrays
    (in order along the run, possibly wrapping)."""
    n = mask.size
    if mask.all():
        return [np.arange(n)]
    if not mask.any():
        return []
    start = int(np.flatnonzero(~mask)[0])  # begin scanning just after a False
    runs, cur = [], []
    for k in range(1, n + 1):
        i = (start + k) % n
        if mask[i]:
            cur.append(i)
        elif cur:
            runs.append(np.array(cur))
            cur = []
    if cur:
        runs.append(np.array(cur))
    return runs


@dataclass
class Band:
    """One band in a profile (lengths in the input units)."""

    position: float  # centre in [0, L)
    width: float  # FWHM above background (THE width)
    width_std: float  # √(second moment) of the excess in the band window
    height: float  # peak excess above background
    peak_index: int
    region: tuple  # (first, last) bin index of the hysteresis region (may wrap)

    def to_dict(self, scale: float = 1.0) -> dict:
        return {"position": float(self.position), "width": float(self.width),
                "width_std": float(self.width_std), "height": float(self.height),
                "width_scaled": float(self.width / scale), "width_std_scaled": float(self.width_std / scale)}


@dataclass
class ProfileAnalysis:
    """Bands found in one profile, strongest first; ``background`` b and the
    per-bin noise σ of the raw profile."""

    bands: list
    background: float
    noise: float
    profile: Profile

    @property
    def main(self) -> Band | None:
        return self.bands[0] if self.bands else None


_FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


def _fwhm(e, ip, half, dl):
    """Distances (in bins) left and right of bin ``ip`` where the excess ``e``
    falls below ``half``: first bin that, together with the next one outward, is
    below half; linear interpolation with the previous bin. Capped at n/2."""
    n = e.size
    out = []
    for step in (-1, 1):
        dist = n / 2.0
        for k in range(1, n // 2 + 1):
            i = (ip + step * k) % n
            i2 = (ip + step * (k + 1)) % n
            if e[i] < half and (e[i2] < half or k == n // 2):
                prev = e[(ip + step * (k - 1)) % n]
                frac = (prev - half) / (prev - e[i]) if prev > e[i] else 0.5
                dist = (k - 1) + min(max(frac, 0.0), 1.0)
                break
        out.append(dist)
    return out[0] * dl, out[1] * dl


def analyse_profile(profile: Profile, *, smooth: int = 1, high: float = 0.5, low: float = 0.25,
                    k_sigma: float = 5.0, max_bands: int = 4, adaptive_smooth: float = 0.05) -> ProfileAnalysis:
    """Background, bands (position, width = FWHM, width_std, height) of a profile.

    See the module docstring for the definitions. ``smooth`` binomial passes are
    used only to locate peaks and regions; heights and second moments are
    measured on the raw profile. The FWHM (and the position, its midpoint) is
    measured on the raw profile and,
    for a band wider than ~7 bins, again on a profile smoothed by a binomial
    kernel of variance ``adaptive_smooth`` × (FWHM/2.355)², whose variance is then
    removed in quadrature (exact for a Gaussian band, a bias of about
    −adaptive_smooth/2 = −2.5 % for a top-hat): this cuts the noise of wide,
    shallow bands.
    """
    v = _fill_nan_periodic(profile.value)
    n = v.size
    dl = profile.L / n
    vs = smooth_periodic(v, smooth)
    b = float(np.quantile(vs, 0.25))
    regions: list = []
    far = np.ones(n, dtype=bool)
    for _ in range(20):
        e_s = vs - b
        h = float(e_s.max())
        if h <= 0:
            regions = []
            break
        cand = _runs_periodic(e_s >= low * h)
        regions = [r for r in cand if e_s[r].max() >= high * h]
        excl = np.zeros(n, dtype=bool)
        for r in regions:
            m = max(len(r), 2)
            first, last = r[0], r[-1]
            idx = np.concatenate([r, (first - np.arange(1, m + 1)) % n, (last + np.arange(1, m + 1)) % n])
            excl[idx] = True
        far = ~excl
        if far.sum() >= max(3, int(0.1 * n)):
            b_new = float(np.mean(v[far]))
        else:
            k = max(1, int(0.1 * n))
            b_new = float(np.mean(np.sort(vs)[:k]))
        if np.isclose(b_new, b, rtol=1e-12, atol=1e-15):
            b = b_new
            break
        b = b_new
    # noise of the raw profile: median absolute first difference far from the bands
    far_mask = far if regions and far.sum() >= 4 else np.ones(n, dtype=bool)
    dv = v - np.roll(v, 1)
    pair_ok = far_mask & np.roll(far_mask, 1)
    dv = dv[pair_ok] if pair_ok.sum() >= 3 else dv
    noise = float(np.median(np.abs(dv)) / (0.6745 * np.sqrt(2.0)))
    noise_s = noise * np.sqrt(np.sum(np.array([1, 2, 1]) ** 2) / 16.0) if smooth else noise

    e = v - b
    e_s = vs - b
    h_main = float(e_s.max()) if regions else 0.0
    bands = []
    for r in regions:
        hs = float(e_s[r].max())
        if hs < h_main and hs < k_sigma * noise_s:  # a secondary peak must be significant
            continue
        ipk_s = int(r[np.argmax(e_s[r])])
        near = np.array([(ipk_s - 1) % n, ipk_s, (ipk_s + 1) % n])
        ip = int(near[np.argmax(e[near])])
        height = float(e[ip])
        left, right = _fwhm(e, ip, 0.5 * height, dl)
        fwhm = left + right
        centre = (profile.coord[ip] + 0.5 * (right - left)) % profile.L
        # wide band: re-measure on a profile smoothed with a kernel of variance
        # ≈ adaptive_smooth × σ0² (σ0 = FWHM/2.355), then remove the kernel's
        # variance in quadrature (exact for a Gaussian band): less noise, ~no bias
        passes = int(2.0 * adaptive_smooth * (fwhm / dl / _FWHM_PER_SIGMA) ** 2)  # 0.5 bin² per pass
        passes = min(passes, 64)
        if passes >= 1:
            e2 = smooth_periodic(v, passes) - b
            near2 = (ip + np.arange(-2, 3)) % n
            ip2 = int(near2[np.argmax(e2[near2])])
            l2, r2 = _fwhm(e2, ip2, 0.5 * e2[ip2], dl)
            fwhm = float(np.sqrt(max((l2 + r2) ** 2 - _FWHM_PER_SIGMA**2 * 0.5 * passes * dl**2, 0.0)))
            centre = (profile.coord[ip2] + 0.5 * (r2 - l2)) % profile.L
        # second moment about the centre, in the region dilated by its own length
        first_off = int((r[0] - ip + n // 2) % n) - n // 2
        last_off = int((r[-1] - ip + n // 2) % n) - n // 2
        first_off, last_off = min(first_off, 0), max(last_off, 0)  # very wide regions
        mu = ((centre - profile.coord[ip] + 0.5 * profile.L) % profile.L - 0.5 * profile.L) / dl
        ext2 = max(len(r), 2)
        offs2 = np.arange(max(first_off - ext2, -(n // 2)), min(last_off + ext2, (n - 1) // 2) + 1)
        w2 = e[(ip + offs2) % n]
        d2 = (offs2 - mu) * dl
        sw = np.sum(w2)
        var = float(np.sum(w2 * d2**2) / sw) if sw > 0 else np.nan
        bands.append(Band(position=float(centre), width=float(fwhm),
                          width_std=float(np.sqrt(var)) if var >= 0 else float("nan"),
                          height=height, peak_index=ip, region=(int(r[0]), int(r[-1]))))
    bands.sort(key=lambda bd: -bd.height)
    return ProfileAnalysis(bands=bands[:max_bands], background=b, noise=noise, profile=profile)


# -----------------------------------------------------------------------------
# orientation test and the full analysis


def _between_var(A, n):
    """Between-slab variance Σ n_j (m_j − m̄)²/Σ n_j from slab sums A and counts n
    (works on the last axis; empty slabs contribute nothing)."""
    N = n.sum(axis=-1)
    tot = A.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(n > 0, A * A / np.maximum(n, 1e-300), 0.0).sum(axis=-1)
    return (q - tot * tot / N) / N


def _stripes(sums, counts, n_stripes):
    """Split the grid (first axis = along the candidate band, second = across it)
    into ``n_stripes`` stripes along the first axis: (K, n_across) sums and counts."""
    n_along = sums.shape[0]
    K = int(min(max(n_stripes, 2), n_along))
    lab = (np.arange(n_along) * K) // n_along
    A = np.zeros((K, sums.shape[1]))
    C = np.zeros((K, sums.shape[1]))
    np.add.at(A, lab, sums)
    np.add.at(C, lab, counts)
    return A, C


def _pair_mask(K: int) -> np.ndarray:
    """Stripe pairs (k < l) at periodic distance ≥ 2: non-adjacent stripes."""
    k = np.arange(K)
    dist = np.abs(k[:, None] - k[None, :])
    dist = np.minimum(dist, K - dist)
    return np.triu(dist >= 2, 1)


def _coherence(Zn, mask):
    """Mean correlation between the (unit-normalised, centred) stripe profiles
    Zn[k] over the stripe pairs in ``mask``."""
    G = Zn @ Zn.T
    return float(G[mask].mean())


def anisotropy_test(grid: ActivityGrid, *, n_perm: int = 199, n_stripes: int = 8, seed: int = 0) -> dict:
    """Stripe circular-shift test of the two profiles (module docstring).

    For the profile P(y) the box is cut into ``n_stripes`` stripes along x, each
    with its own profile P_k(y); the *coherence* C_y is the mean correlation
    coefficient between the profiles of non-adjacent stripes (adjacent ones can
    share a cluster straddling their border). A band along x makes every P_k(y)
    peak at the same y: C → 1; without structure spanning the stripes C ≈ 0. The
    null is sampled by circularly shifting each stripe's profile by an
    independent random offset: it keeps every stripe's activity, clustering and
    1-D correlations and destroys only the alignment across stripes. Likewise
    C_x for P(x) with stripes along y.

    Returns {"y": {...}, "x": {...}} keyed by the PROFILE axis ("y" = P(y), which
    reveals a band along x), each with ``coherence``, ``coherence_null``
    (mean over shifts), ``p_value`` = (1 + #{C_shift ≥ C})/(1 + n_perm), and
    ``ratio`` = S/⟨S_shift⟩ with S = Σ n_j (m_j − m̄)²/Σ n_j the between-slab
    variance of the whole-box profile (≈ 1 without a band, → n_stripes for a
    strong one; reported, not used in the decision).
    """
    rng = np.random.default_rng(seed)
    out = {}
    for ax in ("y", "x"):
        sums = grid.sums if ax == "y" else grid.sums.T  # rows: along the band, columns: across
        counts = grid.counts if ax == "y" else grid.counts.T
        A, C = _stripes(sums, counts, n_stripes)
        K, n = A.shape
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(C > 0, A / np.maximum(C, 1e-300), np.nan)
        mk = np.nanmean(m, axis=1, keepdims=True)
        Z = np.where(np.isfinite(m), m - mk, 0.0)
        Z = np.where(np.isfinite(Z), Z, 0.0)
        norms = np.linalg.norm(Z, axis=1, keepdims=True)
        Zn = np.divide(Z, norms, out=np.zeros_like(Z), where=norms > 0)
        mask = _pair_mask(K)
        if not mask.any():
            raise ValueError(f"need at least 4 stripes for the orientation test, got {K} "
                             f"(grid {sums.shape}); use a smaller bin width")
        coh = _coherence(Zn, mask)
        S = float(_between_var(A.sum(axis=0), C.sum(axis=0)))
        base = np.arange(n)[None, :]
        rows = np.arange(K)[:, None]
        null_c = np.empty(n_perm)
        null_s = np.empty(n_perm)
        for k in range(n_perm):
            idx = (base - rng.integers(0, n, size=K)[:, None]) % n
            null_c[k] = _coherence(Zn[rows, idx], mask)
            null_s[k] = _between_var(A[rows, idx].sum(axis=0), C[rows, idx].sum(axis=0))
        ms = float(np.mean(null_s))
        out[ax] = {"coherence": coh, "coherence_null": float(np.mean(null_c)),
                   "p_value": float((1 + np.count_nonzero(null_c >= coh - 1e-12)) / (1 + n_perm)),
                   "ratio": S / ms if ms > 0 else (np.inf if S > 0 else 1.0),
                   "n_stripes": K}
    return out


def _profile_axis(orientation: str) -> str:
    """The profile axis for a band running along ``orientation``."""
    return {"x": "y", "y": "x"}[orientation]


@dataclass
class BandResult:
    """Result of ``detect_band``. Lengths in input units; ``*_scaled`` divided by
    ``scale``. ``position``/``width`` are those of the strongest band (None when
    orientation is "none")."""

    orientation: str  # "x" (band along x), "y" or "none"
    position: float | None  # centre of the main band across it
    width: float | None  # its FWHM above background
    width_std: float | None
    n_bands: int
    bands: list  # every Band found
    background: float | None
    peak: float | None  # background + height of the main band
    contrast: float | None  # (peak − background) / (peak + background)
    scale: float  # length unit of the *_scaled values
    bin_width: float  # along the profile axis
    L: tuple  # (Lx, Ly)
    test: dict  # anisotropy_test result per profile axis
    profile_x: Profile = field(repr=False)
    profile_y: Profile = field(repr=False)
    analysis: ProfileAnalysis | None = field(default=None, repr=False)

    @property
    def profile(self) -> Profile | None:
        """The profile across the band (P(y) for an x band), None if no band."""
        if self.orientation == "none":
            return None
        return self.profile_y if self.orientation == "x" else self.profile_x

    def centered(self):
        """(d, P) of the profile across the band centred on the main band."""
        if self.orientation == "none":
            raise ValueError("no band detected: nothing to centre")
        return self.profile.centered(self.position)

    def to_dict(self, profiles: bool = False) -> dict:
        def f(v):
            if isinstance(v, (int, np.integer)):
                return int(v)
            return None if v is None or not np.isfinite(v) else float(v)

        d = {
            "orientation": self.orientation,
            "position": f(self.position),
            "width": f(self.width),
            "width_std": f(self.width_std),
            "n_bands": int(self.n_bands),
            "width_scaled": f(self.width / self.scale) if self.width is not None else None,
            "scale": float(self.scale),
            "background": f(self.background),
            "peak": f(self.peak),
            "contrast": f(self.contrast),
            "bands": [b.to_dict(self.scale) for b in self.bands],
            "bin_width": float(self.bin_width),
            "box": [float(v) for v in self.L],
            "test": {ax: {k: f(v) for k, v in t.items()} for ax, t in self.test.items()},
        }
        if profiles:
            for ax, p in (("x", self.profile_x), ("y", self.profile_y)):
                d[f"profile_{ax}"] = {"coord": p.coord.tolist(),
                                      "value": [f(v) for v in p.value], "count": p.count.tolist()}
        return d


def detect_band(
    x,
    y,
    activity,
    L,
    *,
    bin_width=None,
    tilt: float = 0.0,
    orientation: str | None = None,
    binary: bool = False,
    n_perm: int = 199,
    n_stripes: int = 8,
    alpha: float = 0.01,
    min_coherence: float = 0.25,
    seed: int = 0,
    scale: float = 1.0,
    smooth: int = 1,
    k_sigma: float = 5.0,
) -> BandResult:
    """Detect a shear band in an activity map and measure it (Sec. V B, App. D).

    x, y: positions (λ or blocks); activity: counts ≥ 0; L: box side (or
    (Lx, Ly)); tilt: Lees–Edwards h[0][1] (see ``wrap_positions``).
    ``orientation``: None → decided by ``anisotropy_test`` (module docstring);
    "x"/"y" → forced (the test is still run and reported). Test parameters:
    ``n_perm`` circular shifts (the smallest p-value is 1/(1+n_perm), so keep
    n_perm ≥ 1/alpha), ``n_stripes``, ``alpha``, ``min_coherence``, ``seed``.
    ``binary``: use min(activity, 1). ``smooth``, ``k_sigma``: see
    ``analyse_profile``. ``scale``: λ per diameter (or 1 for blocks) for
    ``width_scaled``. Deterministic for a given seed.
    """
    if n_perm < 1.0 / alpha - 1.0:
        raise ValueError(f"n_perm={n_perm} cannot reach p ≤ alpha={alpha}: use n_perm ≥ {int(np.ceil(1 / alpha - 1))}")
    Lx, Ly = _sides(L)
    grid = activity_grid(x, y, activity, (Lx, Ly), bin_width, tilt=tilt, binary=binary)
    test = anisotropy_test(grid, n_perm=n_perm, n_stripes=n_stripes, seed=seed)
    px, py = grid.profile("x"), grid.profile("y")
    if orientation is None:
        ok = {}
        for prof_ax in ("y", "x"):
            t = test[prof_ax]
            ok[prof_ax] = t["p_value"] <= alpha and t["coherence"] >= min_coherence
        if ok["y"] and (not ok["x"] or test["y"]["coherence"] >= test["x"]["coherence"]):
            orientation = "x"
        elif ok["x"]:
            orientation = "y"
        else:
            orientation = "none"
    elif orientation not in ("x", "y"):
        raise ValueError(f"orientation must be None, 'x' or 'y', got {orientation!r}")
    bw = float(grid.bin_width[1] if orientation == "x" else grid.bin_width[0]) if orientation != "none" \
        else float(np.mean(grid.bin_width))
    if orientation == "none":
        return BandResult("none", None, None, None, 0, [], None, None, None, float(scale), bw,
                          (float(Lx), float(Ly)), test, px, py, None)
    prof = py if orientation == "x" else px
    an = analyse_profile(prof, smooth=smooth, k_sigma=k_sigma)
    main = an.main
    if main is None:
        return BandResult(orientation, None, None, None, 0, [], an.background, None, None, float(scale), bw,
                          (float(Lx), float(Ly)), test, px, py, an)
    peak = an.background + main.height
    contrast = (peak - an.background) / (peak + an.background) if peak + an.background > 0 else np.nan
    return BandResult(orientation, main.position, main.width, main.width_std, len(an.bands), an.bands,
                      an.background, peak, float(contrast), float(scale), bw, (float(Lx), float(Ly)),
                      test, px, py, an)


def detect_band_file(path, *, box_side=None, **kw) -> BandResult:
    """``detect_band`` on an activity Parquet file (see ``read_activity``)."""
    m = read_activity(path, box_side)
    return detect_band(m.x, m.y, m.activity, m.L, tilt=m.tilt, **kw)
