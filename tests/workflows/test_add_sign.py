"""`aslrec add-sign` / `remove-sign` on a tiny random run of the 15 MP_Data clips: a new
directory each time (the old one untouched), old logits kept, the manifest listing what was
added and from where, calibration refitted or kept, one-line errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from aslrec.runs.calibration import Calibration, read_calibration, write_calibration
from aslrec.workflows.export import export_run

CLASSES = ["book", "drink", "yes"]
KWARGS = {"dim": 32, "stages": 1, "conv_per_stage": 1, "mirror_invariant": True}


@pytest.fixture(scope="module")
def tiny_run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A calibrated, exported isl-hybrid run with random weights that records MP_Data and its
    split."""
    import torch

    from aslrec.data.labels import LabelEncoder
    from aslrec.data.preprocessing import PreprocessingSpec
    from aslrec.models import create_model
    from aslrec.runs import artifacts

    torch.manual_seed(0)
    model = create_model("isl-hybrid", num_classes=len(CLASSES), **KWARGS)
    run_dir = tmp_path_factory.mktemp("add-sign") / "run"
    artifacts.save_weights(run_dir, model, epoch=1, val_acc=0.0)
    LabelEncoder(CLASSES).save(run_dir / artifacts.CLASSES)
    artifacts.save_config(
        run_dir,
        {
            "architecture": "isl-hybrid",
            "model_kwargs": KWARGS,
            "classes": CLASSES,
            "preprocessing": PreprocessingSpec().to_dict(),
            "data": {"sources": [str(shared_data / "samples" / "MP_Data")], "num_clips": 15},
            "split": {"strategy": "stratified", "folds": 3, "fold": 0, "seed": 42},
        },
    )
    write_calibration(run_dir, Calibration(temperature=1.5, threshold=0.2, target_accuracy=0.5))
    export_run(run_dir)
    return run_dir


@pytest.fixture(scope="module")
def examples(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An aslrec data set of 4 WLASL-50 clips of `bird` and 2 of `black` (filtered out)."""
    from aslrec.data.loaders import load_dataset
    from aslrec.data.store import ClipStore

    clips = load_dataset(shared_data / "wlasl50_mp.npz")
    chosen = [c for c in clips if c.label == "bird"][:4] + [c for c in clips if c.label == "black"][
        :2
    ]
    root = tmp_path_factory.mktemp("examples") / "bird"
    ClipStore(root, create=True).add_all((f"{i:02d}", c) for i, c in enumerate(chosen))
    return root


def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: object):
    """Run `aslrec ARGS` in-process; (exit status, stdout, stderr)."""
    from aslrec.cli import main

    monkeypatch.setattr(sys, "argv", ["aslrec", *map(str, args)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def test_add_list_remove(
    tiny_run: Path,
    examples: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from aslrec.data.loaders import load_dataset
    from aslrec.inference.recognizer import Recognizer

    before = sorted(p.name for p in tiny_run.iterdir())
    extended = tmp_path / "run+bird"
    code, out, err = cli(
        monkeypatch, capsys, "add-sign", "bird", examples, "--model", tiny_run, "--out", extended
    )
    assert code == 0, err
    assert "nearest known signs to 'bird'" in out and "4 classes" in out
    assert "calibration: refitted on 5 held-out clips" in out
    assert "model.onnx re-exported" in out
    assert sorted(p.name for p in tiny_run.iterdir()) == before  # the old run untouched

    clips = load_dataset(examples)
    old, new = Recognizer.load(tiny_run), Recognizer.load(extended)
    assert new.classes == [*CLASSES, "bird"]
    assert np.array_equal(new.logits(clips)[:, :3], old.logits(clips))
    assert read_calibration(extended).temperature != 1.5
    onnx = Recognizer.load(extended, backend="onnx")
    assert onnx.classes == new.classes
    assert np.abs(onnx.logits(clips) - new.logits(clips)).max() < 1e-4

    code, out, _ = cli(monkeypatch, capsys, "add-sign", "--list", "--model", extended)
    assert code == 0 and out.startswith("bird: 4 examples (") and "#" in out

    back = tmp_path / "back"
    other_data = examples  # not the run's data: calibration cannot be refitted
    code, out, err = cli(
        monkeypatch, capsys, "remove-sign", "bird", "--model", extended, "--out", back,
        "--data", other_data,
    )  # fmt: skip
    assert code == 0, err
    assert "calibration: kept the old temperature and threshold" in out
    assert Recognizer.load(back).classes == CLASSES
    assert np.array_equal(Recognizer.load(back).logits(clips), old.logits(clips))


def test_one_line_errors(
    tiny_run: Path,
    examples: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = cli(
        monkeypatch, capsys, "add-sign", "bird", examples, "--model", tiny_run, "--out", tiny_run
    )
    assert code == 1 and err.count("\n") == 1 and "already exists" in err
    code, _, err = cli(
        monkeypatch, capsys, "remove-sign", "bird", "--model", tiny_run, "--out", tmp_path / "x"
    )
    assert code == 1 and err.count("\n") == 1
    assert "'bird' is not a sign" in err and "only added signs and examples can be removed" in err
    code, _, err = cli(
        monkeypatch, capsys, "remove-sign", "yes", "--model", tiny_run, "--out", tmp_path / "x"
    )
    assert code == 1 and "'yes' is a trained sign without added examples" in err
    args = ("add-sign", "yes", examples, "--model", tiny_run, "--out", tmp_path / "x")
    code, _, err = cli(monkeypatch, capsys, *args)
    assert code == 1 and err.count("\n") == 1 and "no clip labelled 'yes'" in err
    assert not (tmp_path / "x").exists()


def test_examples_of_a_trained_sign_personalise_it(
    tiny_run: Path, examples: Path, tmp_path: Path
) -> None:
    """Someone's own `yes` (here: other clips labelled so) adds a prototype to the trained
    sign: its logit can only rise, the others stay, and removing it restores the run."""
    from dataclasses import replace

    from aslrec.data.loaders import load_dataset
    from aslrec.data.store import ClipStore
    from aslrec.inference.recognizer import Recognizer
    from aslrec.workflows.add_sign import add_sign, remove_sign

    clips = [replace(c, label="yes") for c in load_dataset(examples)]
    ClipStore(tmp_path / "yes", create=True).add_all((f"{i}", c) for i, c in enumerate(clips))
    change = add_sign(tiny_run, "yes", [tmp_path / "yes"], tmp_path / "mine")
    assert change.classes == 3 and change.own_similarity is not None
    assert all(label != "yes" for label, _ in change.nearest)
    old = Recognizer.load(tiny_run).logits(clips)
    mine = Recognizer.load(tmp_path / "mine")
    assert mine.classes == CLASSES
    logits = mine.logits(clips)
    assert np.array_equal(logits[:, :2], old[:, :2]) and (logits[:, 2] >= old[:, 2]).all()
    assert (logits[:, 2] > old[:, 2]).any()
    remove_sign(tmp_path / "mine", "yes", tmp_path / "back")
    assert np.array_equal(Recognizer.load(tmp_path / "back").logits(clips), old)


def test_a_stored_reference_needs_no_training_data(
    tiny_run: Path,
    examples: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A run that stores its old-class reference (the bundled model does) takes signs where
    its training data is not, with the same result as from the data; the new run stores it
    too, for the next sign."""
    import json
    import shutil

    from aslrec.data.loaders import load_dataset
    from aslrec.inference.recognizer import Recognizer
    from aslrec.runs import artifacts
    from aslrec.workflows.add_sign import REFERENCE_FILE, add_sign, write_reference

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    write_reference(run)
    config = json.loads((run / artifacts.CONFIG).read_text())
    config["data"]["sources"] = [str(tmp_path / "moved-away")]
    (run / artifacts.CONFIG).write_text(json.dumps(config))

    code, out, err = cli(
        monkeypatch, capsys, "add-sign", "bird", examples, "--model", run, "--out", tmp_path / "a"
    )
    assert code == 0, err
    assert "calibration: kept the old temperature and threshold" in out
    from_data = add_sign(tiny_run, "bird", [examples], tmp_path / "b")
    clips = load_dataset(examples)
    stored, computed = Recognizer.load(tmp_path / "a"), Recognizer.load(tmp_path / "b")
    assert from_data.nearest and stored.classes == computed.classes
    computed_logits = computed.logits(clips)
    assert np.array_equal(stored.logits(clips)[:, -1], computed_logits[:, -1])
    assert all((tmp_path / name / REFERENCE_FILE).is_file() for name in "ab")
    # a second sign on the extended run needs no data either
    code, out, err = cli(
        monkeypatch, capsys, "add-sign", "black", examples, "--model", tmp_path / "a",
        "--out", tmp_path / "c",
    )  # fmt: skip
    assert code == 0 and "5 classes" in out, err


def test_a_video_example_is_tracked_and_named(tiny_run: Path, videos: Path, tmp_path: Path) -> None:
    """A video given as an example is tracked as `aslrec predict` tracks it, and the list of
    added signs names the video it came from."""
    from aslrec.inference.recognizer import Recognizer
    from aslrec.workflows.add_sign import add_sign, list_added_signs

    add_sign(tiny_run, "hello", [videos / "hello.mp4"], tmp_path / "run+hello")
    assert Recognizer.load(tmp_path / "run+hello").classes == [*CLASSES, "hello"]
    (line,) = list_added_signs(tmp_path / "run+hello")
    assert line.startswith("hello: 1 example") and "hello.mp4" in line
