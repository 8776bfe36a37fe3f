"""The fingerspelling decoder on held-letter streams built from real fingerspelling16 photos
(landmarks of one person, decoded by the bundled model), the CER, lexicon snapping, and
``aslrec transcribe --fingerspelling`` on a video made of the photos themselves."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import numpy as np
import pytest

from aslrec.errors import ConfigError
from aslrec.inference.fingerspelling import (
    FingerspellingDecoder,
    Letter,
    Lexicon,
    SpellingConfig,
    Word,
    character_error_rate,
    edit_distance,
)
from aslrec.landmarks.clip import RIGHT

PERSON = "user_3"
FPS = 30


@pytest.fixture(scope="module")
def photos(shared_data: Path) -> dict[str, np.ndarray]:
    """One right hand ``(21, 3)`` per letter, from one person's photos."""
    from aslrec.data.loaders import load_fingerspelling_npz

    out: dict[str, np.ndarray] = {}
    for clip in load_fingerspelling_npz(shared_data / "fingerspelling16.npz", frames=1):
        if clip.signer == PERSON and clip.presence[0, RIGHT]:
            out.setdefault(str(clip.label), clip.landmarks[0, RIGHT])
    return out


@pytest.fixture(scope="module")
def recognizer() -> object:
    from aslrec.inference.recognizer import Recognizer

    return Recognizer.load()


class Stream:
    """Frames of one hand at 30 fps: holds with jitter, interpolated moves, no-hand gaps."""

    def __init__(self) -> None:
        self.frames: list[np.ndarray | None] = []
        self.rng = np.random.default_rng(0)

    def hold(self, hand: np.ndarray, frames: int = 12) -> Stream:
        size = float(np.linalg.norm(np.ptp(hand[:, :2], axis=0)))
        for _ in range(frames):
            noise = np.c_[self.rng.normal(0, 0.004 * size, (21, 2)), np.zeros(21)]
            self.frames.append(hand + noise)
        return self

    def move(self, to: np.ndarray, frames: int = 4) -> Stream:
        start = self.frames[-1]
        assert start is not None
        self.frames += [start + (to - start) * k / (frames + 1) for k in range(1, frames + 1)]
        return self

    def spell(self, letters: list[np.ndarray]) -> Stream:
        for i, hand in enumerate(letters):
            if i:
                self.move(hand)
            self.hold(hand)
        return self

    def gone(self, frames: int) -> Stream:
        self.frames += [None] * frames
        return self

    def decode(self, decoder: FingerspellingDecoder, fps: float = FPS) -> list[Letter | Word]:
        events: list[Letter | Word] = []
        for t, hand in enumerate(self.frames):
            landmarks = np.zeros((2, 21, 3), np.float32)
            presence = np.zeros(2, bool)
            if hand is not None:
                landmarks[RIGHT], presence[RIGHT] = hand, True
            events += decoder.push(landmarks, presence, t / fps)
        return events + decoder.flush()


def shifted(hand: np.ndarray, hand_sizes: float) -> np.ndarray:
    size = float(np.linalg.norm(np.ptp(hand[:, :2], axis=0)))
    return hand + np.r_[hand_sizes * size, 0.0, 0.0]


def test_word_closes_when_the_hand_drops(photos: dict[str, np.ndarray], recognizer: object) -> None:
    decoder = FingerspellingDecoder(recognizer)  # type: ignore[arg-type]
    stream = Stream().gone(3).spell([photos[c] for c in "CAB"])
    last_hand_s = (len(stream.frames) - 1) / FPS
    events = stream.gone(6).decode(decoder)
    letters = [e for e in events if isinstance(e, Letter)]
    assert [e.letter for e in letters] == list("CAB")
    assert all(0.5 < e.confidence <= 1.0 for e in letters)
    # each letter while its hold lasts, within 0.2 s of the hand settling
    assert all(0 < e.emitted_s - e.start_s <= 0.2 for e in letters)
    (word,) = [e for e in events if isinstance(e, Word)]
    assert (word.text, word.reason) == ("CAB", "hand_dropped")
    # closed on the 3rd frame without a hand (drop_s = 0.1 s), not at the end of the stream
    assert events[-1] is word and word.closed_s == pytest.approx(last_hand_s + 0.1)


def test_one_missed_frame_at_a_low_frame_rate_does_not_split_a_word(
    photos: dict[str, np.ndarray], recognizer: object
) -> None:
    """At 10 tracked frames/s (a browser on a slow laptop) one frame without a hand lasts the
    whole ``drop_s``: a word closes only after ``drop_frames`` such frames in a row."""
    stream = Stream().spell([photos["C"]])
    stream.move(photos["A"])
    stream.hold(photos["A"], 6).gone(1).hold(photos["A"], 6)
    stream.move(photos["B"])
    stream.hold(photos["B"]).gone(6)

    def words(config: SpellingConfig) -> list[str]:
        decoder = FingerspellingDecoder(recognizer, config)  # type: ignore[arg-type]
        return [e.text for e in stream.decode(decoder, fps=10) if isinstance(e, Word)]

    assert words(SpellingConfig()) == ["CAB"]
    assert len(words(SpellingConfig(drop_frames=1))) == 2  # the old rule split it at the gap


def test_a_tremor_does_not_double_a_letter(
    photos: dict[str, np.ndarray], recognizer: object
) -> None:
    # one frame 0.025 hand sizes off (0.75 hand sizes/s) breaks the hold but is no slide: the
    # hand comes back to the same letter, which must not double
    l_hand = photos["L"]
    stream = Stream().spell([photos["A"], l_hand])
    stream.frames.append(shifted(l_hand, 0.025))
    stream.hold(l_hand).gone(5)
    words = [e for e in stream.decode(FingerspellingDecoder(recognizer)) if isinstance(e, Word)]  # type: ignore[arg-type]
    assert [w.text for w in words] == ["AL"]


def test_double_letter_after_a_slide(photos: dict[str, np.ndarray], recognizer: object) -> None:
    l_hand = photos["L"]
    stream = Stream().spell([photos["A"], l_hand])
    stream.move(shifted(l_hand, 0.5)).hold(shifted(l_hand, 0.5)).gone(5)
    words = [e for e in stream.decode(FingerspellingDecoder(recognizer)) if isinstance(e, Word)]  # type: ignore[arg-type]
    assert [w.text for w in words] == ["ALL"]


def test_long_pause_closes_the_word_with_the_hand_in_view(
    photos: dict[str, np.ndarray], recognizer: object
) -> None:
    stream = Stream().spell([photos[c] for c in "CAB"]).hold(photos["B"], 45)
    stream.move(photos["O"]).hold(photos["O"])
    words = [e for e in stream.decode(FingerspellingDecoder(recognizer)) if isinstance(e, Word)]  # type: ignore[arg-type]
    assert [(w.text, w.reason) for w in words] == [("CAB", "pause"), ("O", "end_of_stream")]


def test_a_hand_still_moving_keeps_the_word_open(
    photos: dict[str, np.ndarray], recognizer: object
) -> None:
    """1.5 s of moves between C and A with no hold (a missed letter, say) is no pause: only a
    hand that neither spells nor moves for pause_s closes the word."""
    c_hand, a_hand = photos["C"], photos["A"]
    stream = Stream().spell([c_hand])
    for _ in range(5):  # 45 frames of 1.5 hand sizes/s or more, never 2 still frames
        stream.move(shifted(c_hand, 0.6), frames=4).move(c_hand, frames=4)
    stream.move(a_hand).hold(a_hand).gone(5)
    words = [e for e in stream.decode(FingerspellingDecoder(recognizer)) if isinstance(e, Word)]  # type: ignore[arg-type]
    assert [(w.text, w.reason) for w in words] == [("CA", "hand_dropped")]


def test_a_hold_without_a_sure_vote_gives_a_late_letter(
    photos: dict[str, np.ndarray], recognizer: object
) -> None:
    """No vote can reach min_probability=1, so each letter comes from its hold's mean when the
    hand moves on (or drops), and none at all when late letters are off."""
    stream = Stream().spell([photos[c] for c in "CAB"])
    last_hold = len(stream.frames)
    stream.gone(5)
    config = SpellingConfig(min_probability=1.0)
    events = stream.decode(FingerspellingDecoder(recognizer, config))  # type: ignore[arg-type]
    letters = [e for e in events if isinstance(e, Letter)]
    assert [e.letter for e in letters] == list("CAB")
    # C's hold is frames 0-11, A's 16-27: each letter on the first frame of the next move
    assert [round(e.emitted_s * FPS) for e in letters] == [12, 28, last_hold]
    assert all(0.3 <= e.confidence < 1.0 for e in letters)
    off = SpellingConfig(min_probability=1.0, late_probability=1.0)
    assert not stream.decode(FingerspellingDecoder(recognizer, off))  # type: ignore[arg-type]


def test_lexicon_snaps_and_keeps_the_raw_spelling(
    photos: dict[str, np.ndarray], recognizer: object
) -> None:
    decoder = FingerspellingDecoder(recognizer, lexicon=["dog", "cat"])  # type: ignore[arg-type]
    events = Stream().spell([photos[c] for c in "CAB"]).gone(5).decode(decoder)
    (word,) = [e for e in events if isinstance(e, Word)]
    assert (word.text, word.snapped, word.distance) == ("CAB", "CAT", 1)
    assert word.to_dict()["word"] == "CAB" and word.to_dict()["snapped"] == "CAT"


def test_lexicon_bound_and_ties() -> None:
    lexicon = Lexicon(["hat", "cat", "house"], max_edit_fraction=0.34)
    assert lexicon.snap("BAT") == ("HAT", 1)  # tie with CAT: the earlier word
    assert lexicon.snap("CAT") == ("CAT", 0)
    assert lexicon.snap("DOG") is None  # 3 edits from everything; 1 allowed
    assert lexicon.snap("HOUSSE") == ("HOUSE", 1)
    with pytest.raises(ConfigError, match="no words"):
        Lexicon([" ", ""])


def test_runner_up_letters_make_cheap_repairs() -> None:
    """G then U read where the model's runner-ups were T and R: 2 edits from THEIR, more than a
    5-letter word may take (1), but cheap ones (0.5 + 0.4), so the word snaps; without the
    runner-ups it stays unsnapped, and a runner-up cannot beat an exact word."""

    def letter(text: str, confidence: float, *alternatives: tuple[str, float]) -> Letter:
        return Letter(text, confidence, 0.0, 0.1, alternatives)

    letters = [
        letter("G", 0.6, ("T", 0.3)),
        letter("H", 0.9),
        letter("E", 0.9),
        letter("I", 0.9),
        letter("U", 0.5, ("R", 0.3), ("V", 0.1)),
    ]
    lexicon = Lexicon(["there", "their"])
    assert lexicon.snap("GHEIU") is None
    assert lexicon.snap("GHEIU", letters) == ("THEIR", 2)
    assert letters[0].cost("T") == pytest.approx(0.5) and letters[0].cost("X") == 1.0
    assert letters[4].to_dict()["alternatives"][0] == {"letter": "R", "probability": 0.3}
    gold = [letter("G", 0.6, ("T", 0.3)), letter("O", 0.9), letter("L", 0.9), letter("D", 0.9)]
    assert Lexicon(["told", "gold"]).snap("GOLD", gold) == ("GOLD", 0)


def test_edit_distance_and_cer() -> None:
    assert edit_distance("KITTEN", "SITTING") == 3
    assert edit_distance("", "AB") == 2
    assert character_error_rate(["CAB", "HELLO"], ["CAB", "HELO"]) == pytest.approx(1 / 8)
    assert character_error_rate(["AB"], ["XYZW"]) == 2.0  # insertions can exceed 1
    with pytest.raises(ValueError, match="2 references but 1"):
        character_error_rate(["A", "B"], ["A"])


def test_model_without_letters_and_bad_config() -> None:
    with pytest.raises(ConfigError, match="no letter classes"):
        FingerspellingDecoder(SimpleNamespace(classes=["hello", "apple"]))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="settle_speed <= move_speed"):
        SpellingConfig(settle_speed=2.0, move_speed=1.0)


@pytest.mark.parametrize("command", ["transcribe", "live"])
def test_fingerspelling_commands_on_a_video_of_photos(
    command: str, shared_data: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Real pixels: user_3's photos of C, A, B written as a video, tracked and spelled by
    ``transcribe`` and by ``live`` (headless: a JSON line per letter, then the word)."""
    import cv2

    from aslrec.cli import main

    video = tmp_path / "cab.mp4"
    out = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (320, 240))
    blank = np.full((240, 320, 3), 128, np.uint8)
    for frame in [blank] * 5:
        out.write(frame)
    for letter in "CAB":
        photo = cv2.imread(str(shared_data / "fingerspelling16" / PERSON / f"{letter}1.jpg"))
        for _ in range(12):
            out.write(cv2.resize(photo, (320, 240)))
    for frame in [blank] * 5:
        out.write(frame)
    out.release()
    lexicon = tmp_path / "words.txt"
    lexicon.write_text("# two words\ndog\ncat\n")
    source = [str(video), "--json"] if command == "transcribe" else ["--video", str(video)]
    argv = ["aslrec", command, *source, "--fingerspelling", "--lexicon", str(lexicon)]
    if command == "live":
        argv += ["--fast", "--headless"]
    with mock.patch.object(sys, "argv", argv), pytest.raises(SystemExit) as exit_:
        main()  # typer exits 0 after the command
    assert exit_.value.code == 0
    *letters, line = capfd.readouterr().out.splitlines()
    assert [json.loads(x)["letter"] for x in letters] == (
        [] if command == "transcribe" else list("CAB")
    )
    word = json.loads(line)
    assert (word["word"], word["snapped"]) == ("CAB", "CAT")
    assert [item["letter"] for item in word["letters"]] == list("CAB")


class WithoutJZ:
    """A recogniser whose classes lack J and Z, like one trained on the photo sets only."""

    def __init__(self, recognizer: Any) -> None:
        self._recognizer = recognizer
        self._keep = [i for i, c in enumerate(recognizer.classes) if c.upper() not in "JZ"]
        self.classes = [recognizer.classes[i] for i in self._keep]

    def probabilities(self, clips: list[Any]) -> np.ndarray:
        return np.asarray(self._recognizer.probabilities(clips))[:, self._keep]


@pytest.fixture(scope="module")
def z_trace(shared_data: Path, photos: dict[str, np.ndarray]) -> np.ndarray:
    """14 frames of letters_static's signer tracing a Z (3 strokes back), moved onto user_3's O."""
    from aslrec.data.loaders import load_letters_npz
    from benchmarks.fingerspelling import transplanted

    clips = load_letters_npz(shared_data / "letters_static.npz", window=60, stride=60)
    recordings = [c.landmarks[:, RIGHT] for c in clips if c.label == "Z"]
    own = {letter: [hand] for letter, hand in photos.items()}
    return transplanted(recordings, "Z", photos["O"], own, np.random.default_rng(3))


@pytest.mark.parametrize("model", ["with Z", "without J and Z"])
def test_a_traced_z_is_a_letter(
    model: str, photos: dict[str, np.ndarray], recognizer: object, z_trace: np.ndarray
) -> None:
    """The Z never settles, so only the motion rule can emit it: checked by the model's own Z
    when it has one, by the pointing hand shape alone when it has not."""
    speller = recognizer if model == "with Z" else WithoutJZ(recognizer)
    stream = Stream().spell([photos["O"]])
    stream.frames += list(z_trace)
    stream.gone(5)
    events = stream.decode(FingerspellingDecoder(speller))  # type: ignore[arg-type]
    (word,) = [e for e in events if isinstance(e, Word)]
    assert word.text == "OZ"
    z = word.letters[1]
    assert 0.5 <= z.confidence <= 1.0 and z.start_s < z.emitted_s
    off = FingerspellingDecoder(speller, SpellingConfig(motion_letters=""))  # type: ignore[arg-type]
    assert [w.text for w in stream.decode(off) if isinstance(w, Word)] == ["O"]


def test_motion_letters_are_j_and_z_only() -> None:
    with pytest.raises(ConfigError, match="only J and Z"):
        SpellingConfig(motion_letters="JX")
