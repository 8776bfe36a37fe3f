"""Reading frames from a video file or a folder of images, as RGB arrays with timestamps.

Why this module is strict: ``cv2.VideoCapture`` never raises. A missing file, an empty file, a
text file named ``.mp4`` and an mp4 cut short before its ``moov`` atom (the usual state of an
interrupted download or copy: the index sits at the end of the file) all give a capture whose
``isOpened()`` is False; an AVI cut in half opens and quietly ends early (a copy of ``table.mp4``
re-encoded as AVI and truncated to half its bytes decodes 33-35 of its 70 frames, without an
error). Left alone, each of these turns into an empty or short landmark clip far downstream.
Here each one is a :class:`~aslrec.errors.DataError` whose one-line message names the file.

What counts as truncated: a file that ends before its container says it does (the RIFF size of
an AVI, a top-level box of an MP4/MOV, the Segment size of a Matroska/WebM file run past the
end of the file), read from the file's own structure when it is opened and reported once the
frames before the cut are decoded. The frame count a
header announces is *not* a test: it is an estimate (OpenCV derives it from the container
duration, which the audio track can make longer, or counts samples an edit list skips), and 19
of the 46 cut YouTube downloads in ``msasl6`` decode fewer frames than it says (71 of 95, 180 of
241) while ffprobe and players show the whole clip. Whatever decodes is the video;
:attr:`FrameSource.decoded_frames` reports how much that was.

Timestamps are the container's presentation time of each frame (``CAP_PROP_POS_MSEC``), so
variable-frame-rate phone videos keep their real timing; where the backend reports no usable
time (zero, going backwards) the frame index over the frame rate is used instead. The frame
rate comes from the container, falling back to 30 fps (:data:`DEFAULT_FPS`) when it reports
none, as image sequences never do.

``max_side`` (downscaling before tracking; off by default) was meant to save time, since
MediaPipe resizes every frame to its 192x192 palm and 224x224 landmark inputs anyway. Measured by
``benchmarks/extraction.py`` (Tasks/full, 8 real videos, 6 of them 1280x720): ``max_side=640``
gives no speed-up (20.5 vs 20.0 ms per frame, resize included; within noise) and finds hands in
slightly fewer frames (71.2 % vs 71.5 %), so it is not worth it for these sizes. It remains for
very large inputs (4K phone video), where decoding and copying dominate. Coordinates stay
comparable because MediaPipe's x and y are normalised to the image width and height and the
aspect ratio is kept.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from aslrec.errors import DataError

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".ts", ".mts", ".m2ts", ".mpg", ".mpeg"}
)
"""File suffixes (lower case) that are videos, the one rule every command uses: ``predict``
decodes such a file instead of reading it as landmarks, ``extract`` picks them out of folders.
All decode with the FFmpeg that OpenCV bundles (MPEG transport and program streams included)."""
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
"""File suffixes (lower case) treated as frames of an image sequence."""
DEFAULT_FPS = 30.0
"""Frame rate used when the container reports none (and for image sequences)."""


_DIGITS = re.compile(r"(\d+)")

SourceKind = Literal["video", "images"]


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key putting ``frame2.png`` before ``frame10.png`` (numbers compared as numbers)."""
    parts = _DIGITS.split(name.lower())
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p)


def is_video_file(path: Path) -> bool:
    """True when ``path``'s suffix is one of :data:`VIDEO_EXTENSIONS` (the file need not exist)."""
    return path.suffix.lower() in VIDEO_EXTENSIONS


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def is_trackable_file(path: Path) -> bool:
    """A file to track rather than read as landmarks: a video, or a photo (one frame, e.g. a
    held letter), by suffix."""
    return is_video_file(path) or is_image_file(path)


def list_images(folder: Path) -> list[Path]:
    """The image files directly in ``folder`` (hidden files ignored), in natural order."""
    images = [
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and is_image_file(p)
    ]
    return sorted(images, key=lambda p: natural_key(p.name))


def is_image_sequence(folder: Path) -> bool:
    """True for a folder holding images and nothing else but hidden files (one clip)."""
    if not folder.is_dir():
        return False
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    return bool(entries) and all(p.is_file() and is_image_file(p) for p in entries)


def _downscale(frame: np.ndarray, max_side: int | None) -> np.ndarray:
    if max_side is None:
        return frame
    h, w = frame.shape[:2]
    longest = max(h, w)
    if longest <= max_side:
        return frame
    import cv2

    scale = max_side / longest
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


_ISO_BOX_TYPES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"})
"""Types an MP4/MOV file's first top-level box can have; anything else is not ISO BMFF."""
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_MATROSKA_SEGMENT = b"\x18\x53\x80\x67"


def _ebml_vint(data: bytes, pos: int) -> tuple[int | None, int]:
    """A Matroska variable-length size at ``pos``: ``(value or None if unknown, next pos)``."""
    first = data[pos]
    length = 9 - first.bit_length() if first else 9
    if length > 8 or pos + length > len(data):
        raise ValueError("bad EBML size")
    value = first & (0xFF >> length)
    for byte in data[pos + 1 : pos + length]:
        value = (value << 8) | byte
    unknown = value == (1 << (7 * length)) - 1
    return (None if unknown else value), pos + length


def _declared_size(path: Path, size: int) -> tuple[str, int] | None:
    """``(container, bytes its structure declares)`` for an AVI, MP4/MOV or Matroska/WebM file
    that declares more bytes than it has (``size``), else None.

    This is what "truncated" means for a file these containers hold: an interrupted download
    or copy loses the end the container still counts on. Containers without sizes (MPEG-TS,
    MPEG-PS), sizes left open by live recorders and unparseable headers give None: the
    decoder decides for those.
    """
    with path.open("rb") as fh:
        head = fh.read(64)
        if head[:4] == b"RIFF":  # AVI: a chain of RIFF chunks (AVIX after the first 1 GB)
            pos = 0
            while pos + 8 <= size:
                fh.seek(pos)
                chunk = fh.read(8)
                if chunk[:4] != b"RIFF":
                    return None
                end = pos + 8 + int.from_bytes(chunk[4:8], "little")
                if end > size:
                    return "AVI", end
                pos = end + (end & 1)
            return None
        if head[4:8] in _ISO_BOX_TYPES:  # MP4/MOV: top-level boxes back to back
            pos = 0
            while pos + 8 <= size:
                fh.seek(pos)
                box = fh.read(16)
                length = int.from_bytes(box[:4], "big")
                if length == 1:
                    length = int.from_bytes(box[8:16], "big")
                if length < 8:  # 0: the last box runs to the end of the file; else not a box
                    return None
                if pos + length > size:
                    return "MP4", pos + length
                pos += length
            return None
        if head[:4] == _EBML_MAGIC:  # Matroska/WebM: EBML header, then one Segment
            try:
                header_size, pos = _ebml_vint(head, 4)
                if header_size is None:
                    return None
                fh.seek(pos + header_size)
                segment = fh.read(12)
                if segment[:4] != _MATROSKA_SEGMENT:
                    return None
                segment_size, data_pos = _ebml_vint(segment, 4)
            except (ValueError, IndexError):
                return None
            if segment_size is None:
                return None
            end = pos + header_size + data_pos + segment_size
            return ("Matroska", end) if end > size else None
    return None


@dataclass(frozen=True)
class VideoInfo:
    """What is known about a source before decoding it.

    ``frame_count`` is the container's claim, an estimate (0 when unknown; exact for image
    sequences): how many frames a video really has is known only once it is decoded.
    """

    path: Path
    kind: SourceKind
    fps: float
    frame_count: int
    width: int
    height: int


class FrameSource:
    """Frames of one video file, image-sequence folder or photo (one frame), decoded lazily.

    Iterating yields ``(rgb, timestamp_s)``: ``rgb`` a contiguous uint8 ``(H, W, 3)`` array in
    RGB order (what MediaPipe expects), ``timestamp_s`` strictly increasing seconds from the
    start. Opening checks the file at once, so a missing or undecodable file fails at
    construction. Iteration raises :class:`DataError` (naming the file) after the last frame
    when the file is truncated (it ends before its container says it does: the frames before
    the cut are still yielded, so a live transcript keeps the signs it found) or when not a
    single frame decodes. A video that decodes fewer frames than its header's estimate is not
    an error: :attr:`decoded_frames` says how many there were.

    ``mirror=True`` yields every frame flipped left-right: the video as a selfie camera would
    show it, so a recognizer can track both views (MediaPipe's landmarks of a flipped frame
    are not the exact mirror of its landmarks of the frame).

    Use as a context manager (or call :meth:`close`) to release the decoder early.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, max_side: int | None = None, mirror: bool = False
    ) -> None:
        self._cap: object | None = None
        self.path = Path(path)
        if max_side is not None and max_side < 16:
            raise ValueError(f"max_side must be at least 16 pixels, not {max_side}")
        self.max_side = max_side
        self.mirror = mirror
        self._images: list[Path] = []
        self._used = False
        self.decoded_frames = 0
        """Frames iteration has yielded so far; after a full pass, the video's real length."""
        self._truncation: str | None = None
        if not self.path.exists():
            raise DataError(f"{self.path}: no such file or folder")
        if self.path.is_dir() or is_image_file(self.path):
            self._images = list_images(self.path) if self.path.is_dir() else [self.path]
            if not self._images:
                raise DataError(f"{self.path}: folder holds no images ({_image_ext_list()})")
            first = self._read_image(self._images[0])
            self.info = VideoInfo(
                path=self.path,
                kind="images",
                fps=DEFAULT_FPS,
                frame_count=len(self._images),
                width=int(first.shape[1]),
                height=int(first.shape[0]),
            )
            return
        self.info = self._open_video()

    # -- opening -------------------------------------------------------------------------
    def _open_video(self) -> VideoInfo:
        import cv2

        try:
            size = self.path.stat().st_size
        except OSError as exc:
            raise DataError(f"{self.path}: cannot read ({exc.strerror or exc})") from None
        if size == 0:
            raise DataError(f"{self.path}: file is empty (0 bytes)")
        try:
            declared = _declared_size(self.path, size)
        except OSError as exc:
            raise DataError(f"{self.path}: cannot read ({exc.strerror or exc})") from None
        if declared is not None:
            container, needed = declared
            self._truncation = (
                f"the file ends after {size:,} bytes but its {container} container declares "
                f"{needed:,} (an interrupted download or copy?)"
            )
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            if self._truncation is not None:  # e.g. an MP4 cut before its index (moov)
                raise DataError(f"{self.path}: truncated or corrupt: {self._truncation}")
            raise DataError(
                f"{self.path}: cannot be decoded as a video (corrupt, truncated, or not a video)"
            )
        self._cap = cap
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not np.isfinite(fps) or fps <= 0 or fps > 1000:
            fps = DEFAULT_FPS
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        frame_count = int(count) if np.isfinite(count) and count > 0 else 0
        return VideoInfo(
            path=self.path,
            kind="video",
            fps=fps,
            frame_count=frame_count,
            width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
            height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0),
        )

    def _read_image(self, path: Path) -> np.ndarray:
        import cv2

        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise DataError(f"{path}: cannot be read as an image")
        return bgr

    # -- properties ----------------------------------------------------------------------
    @property
    def fps(self) -> float:
        return self.info.fps

    @property
    def frame_count(self) -> int:
        return self.info.frame_count

    # -- iteration -----------------------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[np.ndarray, float]]:
        if self._used:
            raise RuntimeError("a FrameSource can be iterated once; open the file again")
        self._used = True
        if self.info.kind == "images":
            yield from self._iter_images()
        else:
            yield from self._iter_video()

    def _rgb(self, bgr: np.ndarray) -> np.ndarray:
        import cv2

        rgb = cv2.cvtColor(_downscale(bgr, self.max_side), cv2.COLOR_BGR2RGB)
        return cv2.flip(rgb, 1) if self.mirror else rgb

    def _iter_images(self) -> Iterator[tuple[np.ndarray, float]]:
        for i, path in enumerate(self._images):
            rgb = self._rgb(self._read_image(path))
            self.decoded_frames += 1
            yield rgb, i / self.info.fps

    def _iter_video(self) -> Iterator[tuple[np.ndarray, float]]:
        import cv2

        cap = self._cap
        if cap is None:
            raise RuntimeError(f"{self.path}: source already closed")
        period = 1.0 / self.info.fps
        last_ts = -np.inf
        try:
            while True:
                ok, bgr = cap.read()  # type: ignore[attr-defined]
                if not ok or bgr is None:
                    break
                pos_ms = cap.get(cv2.CAP_PROP_POS_MSEC)  # type: ignore[attr-defined]
                ts = pos_ms / 1000.0 if np.isfinite(pos_ms) else -1.0
                decoded = self.decoded_frames
                if ts <= last_ts or (decoded > 0 and ts <= 0):
                    ts = decoded * period if decoded * period > last_ts else last_ts + period
                last_ts = ts
                self.decoded_frames += 1
                yield self._rgb(bgr), float(ts)
        finally:
            self.close()
        if self._truncation is not None:
            raise DataError(
                f"{self.path}: truncated or corrupt: decoded {self.decoded_frames} frames, but "
                f"{self._truncation}"
            )
        if self.decoded_frames == 0:
            raise DataError(f"{self.path}: no frame could be decoded (corrupt or not a video)")

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()  # type: ignore[attr-defined]
            self._cap = None

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


def _image_ext_list() -> str:
    return ", ".join(sorted(e.lstrip(".") for e in IMAGE_EXTENSIONS))


def read_frames(
    path: str | os.PathLike[str], *, max_side: int | None = None
) -> Iterator[tuple[np.ndarray, float]]:
    """Yield ``(rgb uint8 HxWx3, timestamp_s)`` for every frame of a video or image folder.

    A convenience over :class:`FrameSource` (which also exposes ``fps`` and the frame count).
    Raises :class:`DataError` naming the file for a missing, empty, corrupt, truncated or
    non-video file, or an image folder without images.
    """
    with FrameSource(path, max_side=max_side) as source:
        yield from source


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Open ``path`` and report fps, frame count and size without decoding frames."""
    with FrameSource(path) as source:
        return source.info
