"""Your own letters from photos: extract --photos, train the hand-shape SVM, read new people."""

from __future__ import annotations

import shutil
from pathlib import Path

from aslrec.data.loaders import load_dataset
from aslrec.inference.recognizer import Recognizer
from aslrec.runs.config import preset
from aslrec.workflows.extract import run_extraction
from aslrec.workflows.train import train

LETTERS = ("A", "B", "C", "L", "Y")
TRAIN_PEOPLE = ("user_3", "user_4", "user_5", "user_6", "user_7")


def test_photos_of_five_people_teach_letters_that_a_sixth_is_read_by(
    shared_data: Path, tmp_path: Path
) -> None:
    photos = shared_data / "fingerspelling16"
    for letter in LETTERS:  # photos/<letter>/<person>.jpg: the ImageFolder layout
        (tmp_path / "photos" / letter).mkdir(parents=True)
        for person in TRAIN_PEOPLE:
            shutil.copy(
                photos / person / f"{letter}1.jpg", tmp_path / "photos" / letter / f"{person}.jpg"
            )
    summary = run_extraction([tmp_path / "photos"], tmp_path / "data", photos=True, progress=False)
    assert summary.ok == len(LETTERS) * len(TRAIN_PEOPLE)
    clips = load_dataset(tmp_path / "data")
    assert {c.label for c in clips} == set(LETTERS) and {c.num_frames for c in clips} == {30}

    config = preset("handshape-svm").updated(threads=1)  # 80/20: 20 photos fitted
    train([tmp_path / "data"], tmp_path / "run", config, progress=False)
    recognizer = Recognizer.load(tmp_path / "run")
    new_person = [photos / "user_19" / f"{letter}{k}.jpg" for letter in LETTERS for k in (0, 5)]
    right = [recognizer.predict(photo).label == photo.name[0] for photo in new_person]
    assert sum(right) >= 8, right  # 10 photos of someone it never saw, 5 letters
