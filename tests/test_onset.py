"""The onset temperature with its interval, and T_p in units of it (glasses.Tp_units)."""

from __future__ import annotations

import numpy as np
import pytest

from glass2epm.prepare import onset as O


def test_onset_interval_covers_the_true_onset_of_synthetic_data():
    rng = np.random.default_rng(1)
    Tp = np.repeat([3.0, 2.0, 1.5, 1.2, 1.0, 0.8, 0.7, 0.6, 0.5], 3)
    true = 1.3
    e = -2.0 + 0.4 * np.minimum(Tp - true, 0.0) + 0.004 * rng.standard_normal(Tp.size)
    fit = O.onset_interval(Tp, e, n_boot=300)
    lo, hi = fit["T_onset_ci"]
    assert lo <= true <= hi and hi - lo < 0.5
    assert fit["T_onset"] == pytest.approx(true, abs=0.15)


def test_absolute_tp():
    assert O.absolute_tp([0.7, 0.4], "absolute", "lerner-poly2d") == [0.7, 0.4]
    # multiples of a given onset, rounded to the 0.01 of the result paths
    assert O.absolute_tp([1.0, 0.333], "onset", "lerner-poly2d", T_onset=1.2) == [1.2, 0.4]
    with pytest.raises(ValueError, match="Tp_units"):
        O.absolute_tp([0.7], "kelvin", "lerner-poly2d")
    with pytest.raises(ValueError, match="positive"):
        O.absolute_tp([0.7], "onset", "lerner-poly2d", T_onset=-1.0)
    with pytest.raises(ValueError, match="0.01"):
        O.absolute_tp([0.001], "onset", "lerner-poly2d", T_onset=1.0)
    if "richard2023" not in O.MEASURED_ONSET:
        with pytest.raises(ValueError, match="T_onset"):
            O.absolute_tp([0.7], "onset", "richard2023")
    for preset, v in O.MEASURED_ONSET.items():  # stored values carry their interval
        lo, hi = v["T_onset_ci"]
        assert lo <= v["T_onset"] <= hi
        assert O.absolute_tp([1.0], "onset", preset) == [round(v["T_onset"], 2)]
