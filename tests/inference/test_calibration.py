"""Temperature scaling and the unknown threshold: fitting, storage, use by the Recognizer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from aslrec.data.preprocessing import PreprocessingSpec, arrays_for_model
from aslrec.errors import ModelError
from aslrec.inference.calibration import (
    calibrate_logits,
    choose_threshold,
    coverage_curve,
    fit_temperature,
)
from aslrec.inference.recognizer import Recognizer, default_model_dir
from aslrec.landmarks.clip import LandmarkClip
from aslrec.numerics import nll, softmax
from aslrec.runs.calibration import (
    CALIBRATION_FILE,
    Calibration,
    read_calibration,
    write_calibration,
)
from aslrec.runs.directory import RunDirectory
from aslrec.runs.ensemble import is_model_dir, member_dirs


def overconfident(n: int = 3000, classes: int = 10, t_true: float = 2.5, seed: int = 0):
    """Logits whose labels are drawn from softmax(z / t_true): the right T is t_true."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 4.0, size=(n, classes))
    p = softmax(z, t_true)
    y = np.array([rng.choice(classes, p=row) for row in p])
    return z, y


def test_fit_temperature_recovers_the_true_temperature() -> None:
    z, y = overconfident()
    t = fit_temperature(z, y)
    assert t == pytest.approx(2.5, rel=0.1)
    assert nll(z, y, t) < nll(z, y, 1.0)
    assert nll(z, y, t) <= min(nll(z, y, t * 1.05), nll(z, y, t / 1.05))


def test_calibration_lowers_ece_cross_fitted() -> None:
    z, y = overconfident()
    fit = calibrate_logits(z, y)
    c = fit.calibration
    assert c.ece_after < c.ece_before / 2
    assert c.nll_after < c.nll_before
    assert np.allclose(fit.probs_before, softmax(z))
    assert c.fitted_on["clips"] == len(y)


def test_threshold_rule_lowest_threshold_reaching_the_target() -> None:
    # confidences 0.95..0.5; the 6 most confident are right, then alternating
    conf = np.linspace(0.95, 0.5, 10)
    probs = np.stack([conf, 1 - conf], axis=1)
    y = np.array([0] * 6 + [1, 0, 1, 1])
    curve = coverage_curve(probs, y)
    assert curve.coverage[-1] == 1.0 and curve.accuracy[0] == 1.0
    threshold, reached = choose_threshold(probs, y, target_accuracy=0.85, min_answered=1)
    assert reached and threshold == pytest.approx(conf[7])  # 7 of 8 answered right = 87.5 %
    threshold, reached = choose_threshold(probs, y, target_accuracy=0.5, min_answered=1)
    assert reached and threshold == 0.0  # everything already reaches it
    _, reached = choose_threshold(probs, 1 - y, target_accuracy=0.9, min_answered=1)
    assert not reached


def test_calibration_file_round_trip_and_bad_files(tmp_path: Path) -> None:
    assert read_calibration(tmp_path) is None
    c = Calibration(temperature=1.7, threshold=0.42, ece_before=0.2, ece_after=0.05)
    write_calibration(tmp_path, c)
    assert read_calibration(tmp_path) == c
    (tmp_path / CALIBRATION_FILE).write_text("{not json")
    with pytest.raises(ModelError, match="unreadable calibration"):
        read_calibration(tmp_path)
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps({"temperature": -1, "threshold": 0.5}))
    with pytest.raises(ModelError, match="temperature must be a positive"):
        read_calibration(tmp_path)


def test_recognizer_applies_the_temperature_and_t1_is_a_no_op(
    random_run_dir: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(random_run_dir, run)
    rng = np.random.default_rng(1)
    clip = LandmarkClip(rng.uniform(0, 1, (20, 2, 21, 3)), np.ones((20, 2), bool))
    plain = Recognizer.load(run)
    assert plain.temperature == 1.0 and plain.threshold is None
    p_plain = plain.probabilities([clip])
    x, mask = arrays_for_model([clip], plain.backend.preprocessing)
    logits = plain.backend.logits(x, mask)

    write_calibration(run, Calibration(temperature=1.0, threshold=0.3))
    same = Recognizer.load(run)
    assert np.allclose(same.probabilities([clip]), p_plain) and same.threshold == 0.3

    write_calibration(run, Calibration(temperature=3.0, threshold=0.3))
    hot = Recognizer.load(run)
    assert np.allclose(hot.probabilities([clip]), softmax(logits, 3.0), atol=1e-6)
    assert hot.predict_clips([clip])[0].label == plain.predict_clips([clip])[0].label


def test_calibration_on_real_held_out_clips(shared_data: Path) -> None:
    """Real WLASL-50 clips, a nearest-centroid classifier with deliberately sharp logits, the
    card's split: cross-fitted temperature scaling lowers ECE and NLL on the held-out fold."""
    from aslrec.data.loaders import load_wlasl_npz
    from aslrec.data.splits import train_val_split

    clips = load_wlasl_npz(shared_data / "wlasl50_mp.npz")
    x, mask = arrays_for_model(clips, PreprocessingSpec())
    features = (x * mask[..., None, None, None]).reshape(len(x), 30, -1).mean(axis=1)
    classes = sorted({c.label for c in clips})
    y = np.array([classes.index(c.label) for c in clips])
    train, held_out = train_val_split(clips, folds=5, fold=0)
    centroids = np.stack([features[train][y[train] == k].mean(axis=0) for k in range(50)])
    distance = np.linalg.norm(features[held_out][:, None] - centroids[None], axis=2)
    logits = -8.0 * distance  # over-confident on purpose (ECE 0.48)
    fit = calibrate_logits(logits, y[held_out])
    c = fit.calibration
    assert 5.0 < c.temperature < 20.0  # found inside the search range, not at its edge
    assert c.ece_after < c.ece_before / 3 and c.nll_after < c.nll_before


@pytest.mark.slow
def test_calibration_on_real_held_out_data(tmp_path: Path, shared_data: Path) -> None:
    """The bundled model on its own held-out fold: NLL does not rise, ECE does not rise."""
    from aslrec.workflows.calibrate import calibrate_run

    model = default_model_dir()
    if not is_model_dir(model):
        pytest.skip("no bundled model")
    result = calibrate_run(model, write=False, plots_dir=tmp_path)
    c = result.calibration
    assert c.fitted_on["clips"] > 100
    # names, not this machine's paths: calibration.json ships with the model
    assert c.fitted_on["data"] == [Path(s).name for s in RunDirectory(model).sources]
    assert c.nll_after <= c.nll_before + 1e-3
    assert c.ece_after <= c.ece_before + 1e-3
    assert all(p.is_file() for p in result.plots)


@pytest.mark.slow
def test_an_ensemble_directory_calibrates_like_its_single_member(
    tmp_path: Path, shared_data: Path
) -> None:
    from aslrec.runs.ensemble import create_ensemble
    from aslrec.workflows.calibrate import calibrate_run

    if not is_model_dir(default_model_dir()):
        pytest.skip("no bundled model")
    model = member_dirs(default_model_dir())[0]
    create_ensemble([model], tmp_path / "ens")
    single = calibrate_run(model, write=False, plots_dir=tmp_path / "a").calibration
    ensemble = calibrate_run(tmp_path / "ens", plots_dir=tmp_path / "b")
    assert ensemble.path == tmp_path / "ens" / "calibration.json"
    assert np.isclose(ensemble.calibration.temperature, single.temperature, rtol=1e-4)
    assert ensemble.calibration.threshold == pytest.approx(single.threshold)
