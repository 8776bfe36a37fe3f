"""Which way round are the hands? Each source's slots against the hands' 3D chirality, and how
often a clip and its mirror image get the same answer (issue #22).

Per source: the share of hands in the RIGHT slot whose shape is a right hand and of hands in
the LEFT slot whose shape is a left hand (:func:`aslrec.landmarks.geometry.track_chirality`,
one vote per clip and slot), what the loader records and does about the source's view, and
how many clips :func:`~aslrec.data.preprocessing.slots_by_chirality` would re-slot. Then
mirror agreement: on real videos (tracked by aslrec as they are and left-right flipped, the
way a selfie view shows them) and on landmark clips (mirrored in x, slots swapped as a
picture-based tracker would), the share whose top-1 is the same, for the bundled model with
its own preprocessing and with ``handedness="chirality"``.

    python -m benchmarks.handedness
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks._common import SHARED_DATA, command_line, header, write_section

TITLE = "Hands the right way round (issue #22)"
LANDMARK_SETS = {
    "wlasl50_mp.npz": "Holistic (complexity 2), un-mirrored WLASL videos; slots from the pose",
    "gislr_hello_thankyou.npz": "Holistic, phone videos; slots from the pose",
    "letters_static.npz": "webcam, one hand, no handedness: a selfie (mirrored) view, "
    "un-mirrored by the loader",
    "fingerspelling16.npz": "un-mirrored photos, the signers' right hands",
}
VIEWS = {"": "as recorded", "flip": "left-right flipped"}


def slot_agreement(clips: Sequence) -> tuple[str, str, int]:
    """``(right slot is a right hand, left slot is a left hand, clips re-slotted)``."""
    from aslrec.data.preprocessing import slots_by_chirality
    from aslrec.landmarks.clip import LEFT, RIGHT
    from aslrec.landmarks.geometry import track_chirality

    scores = np.array([track_chirality(c.landmarks, c.presence) for c in clips])
    seen = np.array([c.presence.any(axis=0) for c in clips])
    moved = sum(slots_by_chirality(c.landmarks, c.presence)[0] is not c.landmarks for c in clips)

    def share(slot: int, sign: float) -> str:
        votes = scores[seen[:, slot], slot]
        return f"{np.mean(votes * sign > 0):.1%} of {len(votes)}" if len(votes) else "-"

    return share(RIGHT, 1.0), share(LEFT, -1.0), moved


def stored_letters_row() -> str:
    """letters_static as its file stores it (before the loader un-mirrors it)."""
    from aslrec.landmarks.geometry import chirality

    hand = np.load(SHARED_DATA / "letters_static.npz", allow_pickle=False)["hand"]
    return (
        f"| letters_static.npz as stored (no slot) | {np.mean(chirality(hand) > 0):.1%} of "
        f"{len(hand)} frames are right hands | - | - | the reason the loader un-mirrors it |"
    )


def tracked_videos() -> list[tuple[str, object, object]]:
    """``(name, clip, clip of the flipped video)`` for every real video that has hands."""
    from aslrec.landmarks.clip import LandmarkClip
    from aslrec.landmarks.hands import HandTracker
    from aslrec.landmarks.video import FrameSource, is_video_file

    paths = sorted((SHARED_DATA / "videos").glob("*.mp4"))
    paths += sorted(p for p in (SHARED_DATA / "msasl6" / "videos").rglob("*") if is_video_file(p))
    out = []
    with HandTracker() as tracker:
        for path in paths:
            views = []
            for frames in (FrameSource(path), FrameSource(path, mirror=True)):
                landmarks, presence, times = tracker.process_video(frames)
                views.append(LandmarkClip(landmarks, presence, times, source=str(path)))
            if all(v.frame_mask.any() for v in views):
                out.append((str(path.relative_to(SHARED_DATA)), *views))
            print(f"tracked {path.name}", flush=True)
    return out


def agreement(recognizer, pairs: Sequence[tuple[object, object]]) -> str:  # type: ignore[no-untyped-def]
    first = recognizer.probabilities([a for a, _ in pairs]).argmax(axis=1)
    second = recognizer.probabilities([b for _, b in pairs]).argmax(axis=1)
    return f"{np.mean(first == second):.1%} of {len(pairs)}"


def mirror_rows(videos: list[tuple[str, object, object]]) -> list[str]:
    from aslrec.data.loaders import load_dataset
    from aslrec.inference.recognizer import Recognizer

    sets = {name: load_dataset(SHARED_DATA / name)[::5] for name in LANDMARK_SETS}
    pairs = {name: [(c, c.mirrored()) for c in clips] for name, clips in sets.items()}
    pairs["real videos (videos/ + msasl6/, flipped and re-tracked)"] = [
        (a, b) for _, a, b in videos
    ]
    rows = []
    for handedness in ("slots", "chirality"):
        recognizer = Recognizer.load()
        for member in recognizer.members:
            member.preprocessing = dataclasses.replace(member.preprocessing, handedness=handedness)
        cells = " | ".join(agreement(recognizer, p) for p in pairs.values())
        rows.append(f"| bundled model, handedness={handedness} | {cells} |")
    head = " | ".join(pairs)
    return [f"| mirror agreement (top-1) | {head} |", "|---" * (len(pairs) + 1) + "|", *rows]


def video_label(name: str) -> str:
    """``videos/hello.mp4`` -> hello; ``msasl6/videos/eat/<id>.mkv`` -> eat."""
    path = Path(name)
    return path.parent.name if name.startswith("msasl6") else path.stem


def both_views_rows(videos: list[tuple[str, object, object]]) -> list[str]:
    """The bundled model on each real video and on its flip, tracked once (the clip of that
    video) or twice (``both_views``: that video and its flip, the flip's clip mirrored back)."""
    from aslrec.inference.recognizer import Recognizer

    recognizer = Recognizer.load()
    classes = np.array(recognizer.classes)
    labels = np.array([video_label(name) for name, _, _ in videos])
    recorded = [a for _, a, _ in videos]
    flipped = [b for _, _, b in videos]
    answers = {
        "tracked once (the video's own clip)": (
            recognizer.probabilities(recorded),
            recognizer.probabilities(flipped),
        ),
        "both views (`aslrec predict`'s default)": (
            recognizer.probabilities(recorded, [b.mirrored() for b in flipped]),
            recognizer.probabilities(flipped, [a.mirrored() for a in recorded]),
        ),
    }
    shared = np.array([name.startswith("videos/") for name, _, _ in videos])
    rows = [
        "| bundled model, a real video | its flip agrees (top-1) | top-1, videos/ (8 people "
        "it never saw) | top-1, msasl6 whole files (signers it trained on) |",
        "|---|---|---|---|",
    ]
    for name, (first, second) in answers.items():
        top1 = classes[first.argmax(axis=1)]
        agree = np.mean(first.argmax(axis=1) == second.argmax(axis=1))
        right = top1 == labels
        rows.append(
            f"| {name} | {agree:.1%} of {len(videos)} | {right[shared].sum()}/{shared.sum()} | "
            f"{right[~shared].sum()}/{(~shared).sum()} |"
        )
    return rows


def main() -> None:
    from aslrec.data.loaders import load_dataset

    lines = [
        "| source | RIGHT-slot hands that are right hands | LEFT-slot hands that are left "
        "hands | clips re-slotted by chirality | view (as the loader records it) |",
        "|---|---|---|---|---|",
    ]
    for name, view in LANDMARK_SETS.items():
        right, left, moved = slot_agreement(load_dataset(SHARED_DATA / name))
        lines.append(f"| {name} | {right} | {left} | {moved} | {view} |")
    lines.append(stored_letters_row())
    videos = tracked_videos()
    right, left, moved = slot_agreement([clip for _, clip, _ in videos])
    lines.append(
        f"| real videos tracked by aslrec ({len(videos)}) | {right} | {left} | {moved} | "
        "MediaPipe Tasks, un-mirrored files |"
    )
    body = "\n".join(
        [
            header(command_line()),
            "One vote per clip and hand: the mean chirality over the frames the hand is seen "
            "in (> 0: a right hand). Flat hands vote weakly either way, so agreement is a floor "
            "on how often the slots are right.",
            "",
            *lines,
            "",
            "Mirror agreement: a clip and its left-right mirror image, same top-1. Landmark sets: "
            "every 5th clip, mirrored in x with the slots swapped (as a picture-based tracker "
            "would give the mirrored video). Real videos: tracked again on flipped frames. The "
            "same bundled weights with their input slotted as the sources gave it (`slots`) and "
            "by the hands' shape (`chirality`, what its model card says it was trained with).",
            "",
            *mirror_rows(videos),
            "",
            "Tracking both views: `aslrec predict` tracks a video as recorded and flipped "
            "left-right and averages the logits of the two clips (the flipped one mirrored "
            "back), so a video and its flip give the same pair of clips. Whole files, as a "
            "user would give them (msasl6's files hold more than the sign).",
            "",
            *both_views_rows(videos),
        ]
    )
    write_section(TITLE, body)
    print(body)


if __name__ == "__main__":
    main()
