"""``aslrec transcribe --fingerspelling``: the spelled words of a video, letter by letter.

Frames are tracked as the live recogniser tracks them (causally, one at a time) and fed to
:class:`~aslrec.inference.fingerspelling.FingerspellingDecoder`; a lexicon file is one word per
line (``#`` starts a comment).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aslrec.errors import AslrecError, DataError, NoHandsError
from aslrec.inference.fingerspelling import (
    FingerspellingDecoder,
    Lexicon,
    SpellingConfig,
    Word,
    read_lexicon,
)
from aslrec.workflows.output import track_progress

if TYPE_CHECKING:
    from aslrec.inference.recognizer import Recognizer

__all__ = ["SpellingTranscript", "read_lexicon", "spell_video", "words_jsonl", "words_text"]


@dataclass
class SpellingTranscript:
    source: str
    words: list[Word]
    frames: int
    hand_frames: int
    error: AslrecError | None = None

    @property
    def summary(self) -> str:
        letters = sum(len(w.letters) for w in self.words)
        hands = self.hand_frames / self.frames if self.frames else 0.0
        return (
            f"{self.frames} frames (hands in {hands:.0%}), {len(self.words)} words, "
            f"{letters} letters"
        )


def spell_video(
    recognizer: Recognizer,
    video: str | os.PathLike[str],
    *,
    config: SpellingConfig | None = None,
    lexicon: list[str] | None = None,
) -> SpellingTranscript:
    """Every spelled word in ``video``. A video that breaks part-way keeps the words found before
    the break (``error``); a video without any hand raises :class:`NoHandsError`."""
    from aslrec.landmarks.hands import HandTracker
    from aslrec.landmarks.video import FrameSource

    path = Path(video)
    cfg = config or SpellingConfig()
    words = Lexicon(lexicon, cfg.max_edit_fraction) if lexicon is not None else None
    decoder = FingerspellingDecoder(recognizer, cfg, words)
    source = FrameSource(path)
    frames = hand_frames = 0
    error: AslrecError | None = None
    with HandTracker(recognizer.tracker_options) as tracker:
        try:
            for rgb, ts in track_progress(source):
                landmarks, presence = tracker.process(rgb, ts)
                frames += 1
                hand_frames += bool(presence.any())
                decoder.push(landmarks, presence, ts)
        except DataError as exc:
            error = exc
        finally:
            source.close()
    decoder.flush()
    if frames and not hand_frames and error is None:
        raise NoHandsError(f"{path}: no hands in any of its {frames} frames")
    return SpellingTranscript(str(path), list(decoder.words), frames, hand_frames, error)


def words_text(words: list[Word]) -> str:
    """One line per word: its span, the spelling (``-> snapped`` with a lexicon), each letter's
    confidence."""
    lines = []
    for w in words:
        snapped = ""
        if w.snapped is not None:
            snapped = f" -> {w.snapped}" + (f" ({w.distance} edits)" if w.distance else "")
        letters = " ".join(f"{item.letter} {item.confidence:.0%}" for item in w.letters)
        lines.append(f"{w.start_s:7.2f} - {w.closed_s:7.2f} s  {w.text}{snapped}   [{letters}]")
    return "".join(line + "\n" for line in lines)


def words_jsonl(words: list[Word]) -> str:
    return "".join(json.dumps(w.to_dict()) + "\n" for w in words)
