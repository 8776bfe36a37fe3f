"""Class names: the seed card's vocabulary, spelling normalisation, and the label encoder.

The public data sets spell the same sign differently (GISLR's ``thankyou``, the card's
``thank_you``, WLASL's lower-case glosses, upper-case letters), so labels from different sources
only line up after :func:`canonical_label`. The loaders keep the sources' own spellings; callers
that merge data sets or compare against the card map them through here.

:class:`LabelEncoder` is a small, pickle-free stand-in for scikit-learn's: same class order
(sorted), same ``label_encoder_classes.npy`` artifact, but saved as a plain unicode array so it
loads with ``allow_pickle=False``.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from aslrec.atomic import atomic_path
from aslrec.errors import DataError
from aslrec.landmarks.clip import LandmarkClip

LETTERS: tuple[str, ...] = tuple(chr(c) for c in range(ord("A"), ord("Z") + 1))

CARD_WORDS: tuple[str, ...] = (
    "hello", "goodbye", "please", "thank_you", "yes", "no", "help", "sorry", "good", "bad",
    "friend", "family", "love", "eat", "drink", "water", "food", "home", "work", "school",
    "teacher", "student", "book", "read", "write", "learn", "understand", "know", "think", "feel",
    "want", "need", "have", "go", "come", "see", "hear", "speak", "sign", "time",
    "today", "tomorrow", "yesterday", "morning", "afternoon", "evening", "night", "happy", "sad",
    "angry", "tired",
)  # fmt: skip
"""The card's 51 words, in the card's order."""

CARD_CLASSES: tuple[str, ...] = LETTERS + CARD_WORDS
"""The seed model card's 77 classes: the letters A-Z, then the 51 words in the card's order.

This is the card's listing order, not the encoder's index order: a :class:`LabelEncoder` fitted
on these sorts them (``A``..``Z`` first, then the words alphabetically), as scikit-learn does.
"""

SYNONYMS: dict[str, str] = {
    # thank_you: GISLR spells it "thankyou"; "thanks" is the same ASL sign.
    "thankyou": "thank_you",
    "thanks": "thank_you",
    "thank": "thank_you",
    # goodbye: "good bye" / "good-bye" normalise to "good_bye"; "bye" is the same sign.
    "good_bye": "goodbye",
    "bye": "goodbye",
    "bye_bye": "goodbye",
    # hello: "hi" is signed the same way (the salute from the forehead).
    "hi": "hello",
}
"""Other spellings of the card's words -> the card's name.

Keys are already normalised (lower case, spaces and hyphens as underscores), so ``"thank you"``,
``"Thank-You"`` and ``"THANKS"`` all reach ``thank_you`` through :func:`canonical_label`.
Only real synonyms and spellings of one sign belong here, never related-but-different signs
(``mother`` is not ``family``), since a wrong entry silently merges two classes.
"""

_SEPARATORS = re.compile(r"[\s\-]+")


def canonical_label(name: str) -> str:
    """The card's spelling of a label.

    Single letters become upper case (``"a"`` -> ``"A"``: the letters classes), words lower case
    with runs of spaces and hyphens turned into one underscore, then :data:`SYNONYMS` applies.
    Labels not on the card stay as they are, normalised (``"Apple"`` -> ``"apple"``): they are
    real classes of the public data sets.
    """
    text = str(name).strip()
    if not text:
        raise DataError("empty label")
    if len(text) == 1 and text.isalpha():
        return text.upper()
    word = _SEPARATORS.sub("_", text.lower())
    return SYNONYMS.get(word, word)


def _npy_target(path: str | os.PathLike[str]) -> Path:
    """A ``.npy`` path is the file itself; anything else is the folder that holds it."""
    p = Path(path)
    return p if p.suffix == ".npy" else p / LabelEncoder.FILENAME


class LabelEncoder:
    """Maps class names to indices ``0..n-1`` and back, in scikit-learn's (sorted) order.

    Built with :meth:`fit` from training labels, or :meth:`load`-ed from a saved
    ``label_encoder_classes.npy``; ``classes[i]`` is the name of index ``i``.
    """

    FILENAME = "label_encoder_classes.npy"

    def __init__(self, classes: Sequence[str]) -> None:
        names = [str(c) for c in classes]
        if not names:
            raise DataError("a label encoder needs at least one class")
        if len(set(names)) != len(names):
            dupes = sorted({c for c in names if names.count(c) > 1})
            raise DataError(f"duplicate class names: {', '.join(dupes[:5])}")
        self.classes: list[str] = names
        self._index = {c: i for i, c in enumerate(names)}

    @classmethod
    def fit(cls, labels: Iterable[str]) -> LabelEncoder:
        """An encoder for the distinct ``labels``, sorted by code point like ``np.unique``.

        The same order as scikit-learn's ``LabelEncoder.classes_``, so indices (and the saved
        classes file) match a model trained with the card's script on the same labels.
        """
        return cls(sorted({str(label) for label in labels}))

    def __len__(self) -> int:
        return len(self.classes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelEncoder) and self.classes == other.classes

    def __repr__(self) -> str:
        return f"LabelEncoder({len(self.classes)} classes)"

    def __contains__(self, label: object) -> bool:
        return label in self._index

    def encode(self, labels: Iterable[str]) -> np.ndarray:
        """Indices (int64) of ``labels``; DataError naming the first label not in ``classes``."""
        out: list[int] = []
        for label in labels:
            try:
                out.append(self._index[label])
            except KeyError:
                known = ", ".join(self.classes[:8])
                more = f", ... {len(self.classes)} in all" if len(self.classes) > 8 else ""
                raise DataError(f"unknown label {label!r} (known: {known}{more})") from None
        return np.asarray(out, dtype=np.int64)

    def decode(self, indices: Iterable[int] | np.ndarray) -> list[str]:
        """Class names of ``indices``; negative or too-large indices are an error, not wrapped."""
        idx = np.asarray(indices).reshape(-1)
        if idx.size == 0:
            return []
        if not np.issubdtype(idx.dtype, np.integer):
            raise DataError(f"class indices must be integers, got dtype {idx.dtype}")
        bad = idx[(idx < 0) | (idx >= len(self.classes))]
        if bad.size:
            raise DataError(
                f"class index {int(bad[0])} out of range for {len(self.classes)} classes"
            )
        return [self.classes[i] for i in idx.tolist()]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the classes as ``label_encoder_classes.npy``; returns the file written.

        ``path`` is a folder (the file goes inside it) or a ``*.npy`` file name. The array is
        a NumPy unicode array, never object dtype, so it loads with ``allow_pickle=False`` and
        equally with the card's ``np.load(..., allow_pickle=True)``. Written atomically, so an
        interrupted save never leaves a half-written classes file beside a model.
        """
        target = _npy_target(path)
        array = np.asarray(self.classes, dtype=np.str_)
        with atomic_path(target) as tmp, open(tmp, "wb") as fh:
            np.save(fh, array, allow_pickle=False)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LabelEncoder:
        """Read a classes file written by :meth:`save` (or a string-array one from sklearn).

        ``path`` is the ``.npy`` file or the folder holding ``label_encoder_classes.npy``.
        An object-dtype file (``np.save(classes_)`` of an object array) is refused rather than
        unpickled; re-save it with ``np.save(f, classes.astype(str))``.
        """
        target = _npy_target(path)
        if not target.is_file():
            raise DataError(f"{target}: no such label classes file")
        try:
            array = np.load(target, allow_pickle=False)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            if "object arrays" in reason.lower():
                reason = "it holds Python objects, never unpickled; re-save it as a string array"
            elif "pickle" in reason.lower():
                reason = "not a .npy file"
            raise DataError(f"{target}: not a readable label classes file ({reason})") from None
        if not isinstance(array, np.ndarray):
            array.close()
            raise DataError(f"{target}: an .npz archive, expected one .npy array of class names")
        if array.ndim != 1 or array.dtype.kind not in "US":
            raise DataError(
                f"{target}: expected a 1-D array of class names, "
                f"got dtype {array.dtype} shape {array.shape}"
            )
        if array.dtype.kind == "S":
            array = np.char.decode(array, "utf-8")
        try:
            return cls(array.tolist())
        except DataError as exc:
            raise DataError(f"{target}: {exc}") from None


def canonical_clips(clips: Sequence[LandmarkClip]) -> list[LandmarkClip]:
    """Labels mapped to the card's spellings (synonym table) so data sets combine."""
    unlabelled = [c.source for c in clips if not c.label]
    if unlabelled:
        raise DataError(f"{unlabelled[0]}: clip has no label ({len(unlabelled)} unlabelled)")
    return [c.with_label(canonical_label(c.label or "")) for c in clips]
