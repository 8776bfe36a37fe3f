"""``.pose`` files of pose-format (the sign-language-processing ecosystem's format) <-> clips.

pose-format's ``videos_to_poses`` runs MediaPipe Holistic and writes one ``.pose`` per video
with the components ``POSE_LANDMARKS`` (33), ``FACE_LANDMARKS`` (468), ``LEFT_HAND_LANDMARKS``
and ``RIGHT_HAND_LANDMARKS`` (21 each, MediaPipe's hand numbering) and ``POSE_WORLD_LANDMARKS``;
hands-only files hold just the two hand components. How they map onto a
:class:`~aslrec.landmarks.clip.LandmarkClip`, and why:

- Slots: Holistic's ``left_hand_landmarks`` is the signer's own left hand, which is exactly
  aslrec's slot 0 (:data:`~aslrec.landmarks.clip.LEFT`, the convention of the WLASL-50 and
  GISLR data, both Holistic); ``RIGHT_HAND_LANDMARKS`` is slot 1. Nothing is mirrored.
- Coordinates: pose-format stores x and y in pixels (Holistic's normalised x times the header's
  width, y times its height) and z as MediaPipe gives it, so reading divides x, y by the
  header's dimensions and writing multiplies (in float64; the round trip is within one float32
  ulp).
- Confidence -> mask: a hand is present in a frame when all 21 of its points have confidence
  > 0 (Holistic writes 1 or 0 per hand; a partly confident hand is unusable, the GISLR rule).
  The pose keeps the :data:`~aslrec.landmarks.clip.POSE_INDICES` points of ``POSE_LANDMARKS``
  (found by name) with their confidence (Holistic's visibility) as the fourth value; Holistic
  writes a frame without a pose as zeros, aslrec's "no pose". Face and world landmarks are not
  read.
- One person: the first person of the file (Holistic writes one).
- Time: a ``.pose`` holds an fps, not timestamps, so a clip read back is timed ``i / fps`` from
  0; labels, signers and groups are not in the format at all: a folder of ``.pose`` files gets
  its labels from sub-folder names, as ``aslrec extract`` does for videos
  (:func:`~aslrec.landmarks.extract.folder_label`), and ``extract --format pose`` writes
  ``<label>/<clip_id>.pose`` so that reading its output gives the labels back.

pose-format is optional (the ``pose`` extra) and imported only when a ``.pose`` file is used;
writing imports its Holistic header definitions, which import MediaPipe.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from aslrec.atomic import atomic_path
from aslrec.data.loaders import _one_line
from aslrec.errors import ConfigError, DataError
from aslrec.landmarks.clip import (
    HANDS,
    LEFT,
    POINTS,
    POSE_COORDS,
    POSE_POINTS,
    RIGHT,
    LandmarkClip,
    safe_clip_id,
)
from aslrec.landmarks.extract import folder_label
from aslrec.landmarks.video import natural_key, probe

POSE_EXTRA = "pip install 'aslrec[pose]'"
SUFFIX = ".pose"
HAND_COMPONENTS = {"LEFT_HAND_LANDMARKS": LEFT, "RIGHT_HAND_LANDMARKS": RIGHT}
BODY_COMPONENT = "POSE_LANDMARKS"
BODY_POINT_NAMES = (
    "NOSE",
    "LEFT_SHOULDER",
    "RIGHT_SHOULDER",
    "LEFT_ELBOW",
    "RIGHT_ELBOW",
    "LEFT_WRIST",
    "RIGHT_WRIST",
    "LEFT_HIP",
    "RIGHT_HIP",
    "LEFT_KNEE",
    "RIGHT_KNEE",
)
"""MediaPipe's names of :data:`~aslrec.landmarks.clip.POSE_INDICES`, in that order."""


def _pose_class() -> Any:
    try:
        from pose_format import Pose
    except ImportError:
        raise ConfigError(f".pose files need pose-format ({POSE_EXTRA})") from None
    return Pose


def _components(header: Any) -> dict[str, tuple[int, Any]]:
    """Each component by name: (index of its first point in the body, the component)."""
    out: dict[str, tuple[int, Any]] = {}
    start = 0
    for component in header.components:
        out[component.name] = (start, component)
        start += len(component.points)
    return out


def read_pose_file(path: str | os.PathLike[str], *, label: str | None = None) -> LandmarkClip:
    """One ``.pose`` file as a clip (see the module docstring for the mapping).

    Raises :class:`DataError` naming the file when it is not a readable ``.pose`` file, holds
    no hand component, or has a hand component that is not 21 points.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file")
    pose_cls = _pose_class()
    try:
        pose = pose_cls.read(p.read_bytes())
        data = np.asarray(pose.body.data.data, dtype=np.float64)
        confidence = np.asarray(pose.body.confidence, dtype=np.float64)
        fps = float(pose.body.fps)
    except Exception as exc:  # struct.error, ValueError, EOF: whatever a broken file raises
        raise DataError(f"{p}: not a readable .pose file ({_one_line(exc)})") from None
    parts = _components(pose.header)
    if not HAND_COMPONENTS.keys() & parts.keys():
        raise DataError(
            f"{p}: no hand component (has {', '.join(parts) or 'none'}; expected "
            f"{' and/or '.join(HAND_COMPONENTS)})"
        )
    if data.ndim != 4 or data.shape[1] < 1 or data.shape[3] < 2:
        raise DataError(
            f"{p}: pose data of shape {data.shape}, not (frames, people, points, xy[z])"
        )
    width, height = pose.header.dimensions.width, pose.header.dimensions.height
    if width <= 0 or height <= 0:
        raise DataError(f"{p}: header dimensions {width}x{height}: cannot normalise pixels")
    dims = min(3, data.shape[3])  # XY files have no z: it stays 0
    xyz = np.zeros((*data.shape[:3], 3))
    xyz[..., :dims] = data[..., :dims] / np.array([width, height, 1.0])[:dims]
    xyz, confidence = xyz[:, 0], confidence[:, 0]  # the first person
    frames = data.shape[0]
    landmarks = np.zeros((frames, HANDS, POINTS, 3), dtype=np.float32)
    presence = np.zeros((frames, HANDS), dtype=bool)
    for name, slot in HAND_COMPONENTS.items():
        if name not in parts:
            continue
        start, component = parts[name]
        if len(component.points) != POINTS:
            raise DataError(f"{p}: {name} has {len(component.points)} points, not {POINTS}")
        presence[:, slot] = (confidence[:, start : start + POINTS] > 0).all(axis=1)
        landmarks[:, slot] = xyz[:, start : start + POINTS]
    return LandmarkClip(
        landmarks=landmarks,
        presence=presence,
        timestamps=np.arange(frames) / fps if fps > 0 else None,
        label=label,
        source=str(p),
        pose=_body(p, parts, xyz, confidence),
    )


def _body(
    path: Path, parts: dict[str, tuple[int, Any]], xyz: np.ndarray, confidence: np.ndarray
) -> np.ndarray | None:
    """``(T, 11, 4)`` from ``POSE_LANDMARKS`` (None without it): the points as they are, with
    their confidence. Not masked: Holistic leaves a frame without a pose all zeros, which is
    aslrec's "no pose" already, and a point's confidence plays the part of its visibility."""
    if BODY_COMPONENT not in parts:
        return None
    start, component = parts[BODY_COMPONENT]
    missing = [n for n in BODY_POINT_NAMES if n not in component.points]
    if missing:
        raise DataError(f"{path}: {BODY_COMPONENT} lacks {', '.join(missing)}")
    rows = start + np.array([component.points.index(n) for n in BODY_POINT_NAMES])
    pose = np.zeros((len(xyz), POSE_POINTS, POSE_COORDS), dtype=np.float32)
    pose[..., :3] = xyz[:, rows]
    pose[..., 3] = confidence[:, rows]
    return pose


def write_pose_file(
    clip: LandmarkClip,
    path: str | os.PathLike[str],
    *,
    width: int,
    height: int,
    fps: float,
) -> Path:
    """Write ``clip`` atomically as a ``.pose`` file of pose-format's Holistic layout.

    Components: ``POSE_LANDMARKS`` (only when the clip has a pose: its 11 points, the other 22
    at confidence 0), ``LEFT_HAND_LANDMARKS``, ``RIGHT_HAND_LANDMARKS`` (confidence 1 where the
    hand is present, else 0), built with pose-format's own Holistic header definitions so its
    tools (``visualize_pose``, ``mirror_horizontal``) know them. No face: aslrec does not track
    it. ``width`` and ``height`` are the source video's pixels (x, y are stored in pixels).
    """
    pose_cls = _pose_class()
    from pose_format.numpy.pose_body import NumPyPoseBody
    from pose_format.pose_header import PoseHeader, PoseHeaderDimensions
    from pose_format.utils.holistic import holistic_components, holistic_hand_component

    components = [holistic_hand_component(name) for name in HAND_COMPONENTS]
    if clip.pose is not None:
        components.insert(0, holistic_components()[0])
    header = PoseHeader(0.2, PoseHeaderDimensions(width, height, 0), components)
    parts = _components(header)
    frames = clip.num_frames
    data = np.zeros((frames, 1, header.total_points(), 3), dtype=np.float32)
    confidence = np.zeros((frames, 1, header.total_points()), dtype=np.float32)
    scale = np.array([width, height, 1.0])
    for name, slot in HAND_COMPONENTS.items():
        start = parts[name][0]
        data[:, 0, start : start + POINTS] = clip.landmarks[:, slot].astype(np.float64) * scale
        confidence[:, 0, start : start + POINTS] = clip.presence[:, slot, None]
    if clip.pose is not None:
        start, component = parts[BODY_COMPONENT]
        rows = start + np.array([component.points.index(n) for n in BODY_POINT_NAMES])
        data[:, 0, rows] = clip.pose[..., :3].astype(np.float64) * scale
        confidence[:, 0, rows] = clip.pose[..., 3]
    pose = pose_cls(header, NumPyPoseBody(fps=fps, data=data, confidence=confidence))
    target = Path(path)
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        pose.write(fh)
    return target


def pose_files_under(root: Path) -> list[Path]:
    """The ``.pose`` files below ``root``, in natural order, hidden entries skipped."""
    found = [
        f
        for f in root.rglob(f"*{SUFFIX}")
        if f.is_file() and not any(part.startswith(".") for part in f.relative_to(root).parts)
    ]
    return sorted(found, key=lambda f: [natural_key(part) for part in f.relative_to(root).parts])


def load_pose_folder(root: str | os.PathLike[str]) -> list[LandmarkClip]:
    """Every ``.pose`` file below ``root``, labelled by the folder convention of ``aslrec
    extract`` (:func:`~aslrec.landmarks.extract.folder_label`: ``root/hello/01.pose`` ->
    ``hello``, ``root/hello.pose`` -> ``hello``)."""
    base = Path(root)
    files = pose_files_under(base)
    if not files:
        raise DataError(f"{base}: folder holds no {SUFFIX} files")
    clips = []
    for f in files:
        rel = f.relative_to(base)
        clips.append(read_pose_file(f, label=folder_label(rel, rel.with_suffix(""))))
    return clips


class PoseFolder:
    """``aslrec extract --format pose``'s output: ``root/<label>/<clip_id>.pose``, one file per
    video, written atomically, with the interface of :class:`~aslrec.data.store.ClipStore`
    that extraction uses (so runs resume the same way).

    A clip's pixel size and fps are those of its source video (:func:`probe` on
    ``clip.source``, cheap: no frame is decoded), so the file says what pose-format's own
    ``videos_to_poses`` would say about that video.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        _pose_class()  # without pose-format, say so before any video is tracked
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise DataError(f"{self.root}: exists and is not a folder")
        self.root.mkdir(parents=True, exist_ok=True)
        self._paths = {f.stem: f for f in pose_files_under(self.root)}

    def has(self, clip_id: str) -> bool:
        return safe_clip_id(clip_id) in self._paths

    def add(self, clip: LandmarkClip, clip_id: str) -> Path:
        info = probe(clip.source)
        name = safe_clip_id(clip_id)
        folder = self.root / safe_clip_id(clip.label) if clip.label else self.root
        path = write_pose_file(
            clip, folder / f"{name}{SUFFIX}", width=info.width, height=info.height, fps=info.fps
        )
        self._paths[name] = path
        return path

    def remove_stale_temp_files(self) -> None:
        """Leftovers of an interrupted run (``atomic_path`` names them ``.<stem>.<random>``)."""
        for tmp in self.root.rglob(f".*{SUFFIX}"):
            tmp.unlink(missing_ok=True)

    def __len__(self) -> int:
        return len(self._paths)
