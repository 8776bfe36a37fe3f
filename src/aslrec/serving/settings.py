"""The service's limits and switches, as one value (``create_app(settings=...)``).

:class:`ServiceSettings` is the one place a limit is defined: its default, what it means to an
operator, its unit and its smallest valid value (field metadata, :func:`settable`). The
environment (``$ASLREC_<FIELD>``, :meth:`ServiceSettings.from_env`) and ``aslrec serve``'s
options are derived from it, so a new limit needs no second list to stay in step with.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import NoneType, UnionType
from typing import TYPE_CHECKING, Any

from aslrec.errors import ConfigError

if TYPE_CHECKING:
    from aslrec.inference.fingerspelling import SpellingConfig
    from aslrec.inference.streaming import SegmenterConfig

ENV_PREFIX = "ASLREC_"
MIB = 1024 * 1024
_SETTING = "aslrec.setting"


@dataclass(frozen=True)
class StreamSettings:
    """How the WebSocket stream reports progress and segments signs.

    Signs are segmented and classified by :class:`~aslrec.inference.streaming.StreamingRecognizer`
    with ``segmenter`` (default: its own defaults). While a sign is in progress its provisional
    top-k is sent as a ``partial`` message at most every ``partial_every_s`` seconds of stream
    time (each frame when frames come slower), recomputed at most every
    ``provisional_every_s``. Fingerspelling sockets (``mode=fingerspelling``) decode with
    ``spelling`` (default: :class:`~aslrec.inference.fingerspelling.SpellingConfig`'s defaults).
    """

    partial_every_s: float = 0.25
    provisional_every_s: float = 0.2
    segmenter: SegmenterConfig | None = None
    spelling: SpellingConfig | None = None


@dataclass(frozen=True)
class Setting:
    """One :class:`ServiceSettings` field an operator sets (``--name`` or ``$ASLREC_NAME``).

    ``kind`` is the value's type (``int``, ``float`` or ``str``); a value below ``minimum`` (at
    or below it when ``exclusive``: a zero timeout) is refused, so a typo cannot start a server
    that refuses every upload or closes every connection at once.
    """

    name: str
    kind: type
    default: object
    help: str
    unit: str = ""
    minimum: float | None = None
    exclusive: bool = False

    @property
    def env(self) -> str:
        """The environment variable that sets it."""
        return ENV_PREFIX + self.name.upper()

    def problem(self, value: object) -> str | None:
        """What is wrong with ``value`` ("must be above 0, got 0"), or None when it is valid."""
        if self.minimum is None or value is None:
            return None
        assert isinstance(value, int | float)
        if value < self.minimum or (self.exclusive and value == self.minimum):
            bound = "above" if self.exclusive else "at least"
            return f"must be {bound} {self.minimum:g}, got {value:g}"
        return None

    def check(self, value: object, source: str) -> None:
        """A one-line ``ConfigError`` naming ``source`` when ``value`` is out of range."""
        problem = self.problem(value)
        if problem is not None:
            raise ConfigError(f"{source} {problem}")

    def parse(self, raw: str) -> object:
        """The value of ``$ENV`` set to ``raw``, checked (errors name the variable)."""
        if self.kind is str:
            return raw
        if self.kind is bool:
            words = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
            if raw.strip().lower() not in words:
                raise ConfigError(f"${self.env} must be true or false, got {raw!r}")
            return words[raw.strip().lower()]
        try:
            value = self.kind(raw)
        except ValueError:
            kind = "an integer" if self.kind is int else "a number"
            raise ConfigError(f"${self.env} must be {kind}, got {raw!r}") from None
        self.check(value, f"${self.env}")
        return value


def _setting(
    default: object, help: str, unit: str = "", minimum: float | None = 1, exclusive: bool = False
) -> Any:
    """A settable field: its default and what :class:`Setting` says about it."""
    meta = {"help": help, "unit": unit, "minimum": minimum, "exclusive": exclusive}
    return field(default=default, metadata={_SETTING: meta})


@dataclass(frozen=True)
class ServiceSettings:
    """Limits of ``aslrec serve``; every input beyond them gets a 4xx JSON answer.

    Attributes:
        max_upload_bytes: request body cap for a video upload (413 beyond).
        max_json_bytes: request body cap for a JSON landmark clip (413 beyond).
        max_inflight_upload_bytes: the most ``/v1/predict`` body bytes all requests together
            may have in flight (a request counts its ``Content-Length``, else its cap, until it
            is answered); one beyond it is refused at once with 503 and ``Retry-After``
            instead of queueing. Uploads stream to temporary files, so this bounds the disk
            and the waiting work; the default admits eight full-size uploads.
        header_timeout_s: a connection must send a request's headers within this many seconds
            (of connecting, or of its previous response), else it is closed: half-sent
            headers would otherwise hold a connection for ever.
        body_timeout_s: a request body may pause this long between bytes, else the
            connection is closed (logged as a client disconnect, status 499). Pauses while the
            server itself is not reading do not count.
        keep_alive_timeout_s: an idle keep-alive connection is closed after this long.
        max_clip_frames: most frames in one clip (a landmark clip, or a video's frames).
        max_clip_seconds: longest clip (video duration, or the span of a clip's timestamps).
        max_stream_fps: frames per second one WebSocket may send; the excess is dropped and
            the client told so (``warning`` message, ``rate_limited``).
        max_message_bytes: largest WebSocket message (closes with 1009 beyond).
        max_bad_messages: invalid WebSocket messages tolerated before the socket is closed.
        inference_workers: model calls running at once in the thread pool.
        video_workers: videos tracked at once (each holds one MediaPipe tracker).
        max_top_k: largest ``top_k`` a request may ask for.
        torch_threads: PyTorch intra-op threads, set by ``aslrec serve`` for its process (None
            or 0: leave PyTorch's default). 1, because requests run in parallel in worker
            threads: with PyTorch's default (one thread per core) the concurrent calls fight
            over the cores; on the 2-core test machine one clip took ~900 ms that way against
            ~8 ms with one thread.
        api_key: when set, every ``/v1`` route but ``/v1/health`` needs it in the
            ``X-API-Key`` header (or, for the WebSocket, where browsers cannot set headers, the
            ``api_key`` query parameter). ``from_env`` reads ``ASLREC_API_KEY``.
        both_views: track an uploaded video twice, as recorded and flipped left-right
            (:class:`~aslrec.inference.recognizer.Recognizer`'s ``both_views``).
        lexicon: a word list file (one word a line, ``#`` comments) for ``/v1/stream?mode=
            fingerspelling``: each closed word is also sent snapped to its nearest word. Read
            once when the app is made, so a bad file stops ``aslrec serve`` before it listens.
        signs: only these signs (comma-separated) may win, in every answer
            (:meth:`~aslrec.inference.recognizer.Recognizer.restrict`); an unknown one stops
            ``aslrec serve`` before it listens.
    """

    max_upload_bytes: int = _setting(50 * MIB, "Largest video upload; 413 beyond.", "bytes")
    max_json_bytes: int = _setting(8 * MIB, "Largest JSON landmark clip; 413 beyond.", "bytes")
    max_inflight_upload_bytes: int = _setting(
        400 * MIB,
        "Upload bytes of all requests in flight together; 503 + Retry-After beyond. "
        "At least the larger of the two caps above.",
        "bytes",
    )
    header_timeout_s: float = _setting(
        5.0, "A connection's time to send a request's headers.", "seconds", 0, exclusive=True
    )
    body_timeout_s: float = _setting(
        10.0, "Longest pause within a request body.", "seconds", 0, exclusive=True
    )
    keep_alive_timeout_s: int = _setting(
        5, "An idle keep-alive connection is closed after this.", "seconds"
    )
    max_clip_frames: int = _setting(900, "Most frames in one clip or video.", "frames")
    max_clip_seconds: float = _setting(60.0, "Longest clip or video.", "seconds", 0, exclusive=True)
    max_stream_fps: float = _setting(
        60.0,
        "Frames per second one WebSocket may send; the excess is dropped.",
        "frames/s",
        0,
        exclusive=True,
    )
    max_message_bytes: int = _setting(
        256 * 1024, "Largest WebSocket message; closed with 1009 beyond.", "bytes"
    )
    max_bad_messages: int = _setting(
        20, "Invalid WebSocket messages tolerated before closing it.", "messages", 0
    )
    inference_workers: int = _setting(4, "Model calls running at once.", "threads")
    video_workers: int = _setting(2, "Videos tracked at once (a tracker each).", "threads")
    max_top_k: int = _setting(50, "Largest top_k a request may ask for.", "labels")
    torch_threads: int | None = _setting(
        1, "PyTorch threads of the process; 0: PyTorch's default.", "threads", 0
    )
    api_key: str | None = _setting(
        None, "Require this key in X-API-Key (none: open).", minimum=None
    )
    lexicon: str | None = _setting(
        None,
        "Word list (one a line) the stream's fingerspelling mode snaps spelled words to.",
        minimum=None,
    )
    both_views: bool = _setting(
        True,
        "Track an uploaded video as recorded and flipped left-right, as aslrec predict does: a "
        "video and its mirror image get the same answer, at twice the tracking time.",
        minimum=None,
    )
    signs: str | None = _setting(
        None,
        "Only these signs may win, comma-separated (e.g. eat,hello,no); none: every sign.",
        minimum=None,
    )
    stream: StreamSettings = field(default_factory=StreamSettings)

    def __post_init__(self) -> None:
        for setting in settable():
            setting.check(getattr(self, setting.name), setting.name)
        if self.max_inflight_upload_bytes < max(self.max_upload_bytes, self.max_json_bytes):
            raise ConfigError(
                f"max_inflight_upload_bytes ({self.max_inflight_upload_bytes:,}) is below one "
                "upload's cap: no full-size upload could ever be accepted"
            )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> ServiceSettings:
        """Each setting from ``overrides`` (``None``: not given), else ``$ASLREC_<NAME>`` in
        ``environ`` (default ``os.environ``; empty: unset), else its default: so a command
        line beats the environment, which beats the code. Bad values: a one-line
        ``ConfigError``."""
        environ = os.environ if environ is None else environ
        given = {name: value for name, value in overrides.items() if value is not None}
        from_environ = {
            s.name: s.parse(environ[s.env])
            for s in settable()
            if s.name not in given and environ.get(s.env)
        }
        return cls(**from_environ, **given)  # type: ignore[arg-type]

    def loggable(self) -> dict[str, object]:
        """The settable values for the startup log line, the API key shown only as set or not."""
        values = {s.name: getattr(self, s.name) for s in settable()}
        values["api_key"] = "set" if self.api_key else None
        return values


@functools.cache
def settable() -> tuple[Setting, ...]:
    """The fields of :class:`ServiceSettings` an operator sets, in declaration order."""
    hints = typing.get_type_hints(ServiceSettings)
    return tuple(
        Setting(f.name, _value_type(hints[f.name]), f.default, **f.metadata[_SETTING])
        for f in dataclasses.fields(ServiceSettings)
        if _SETTING in f.metadata
    )


def _value_type(hint: object) -> type:
    """``int`` for ``int`` or ``int | None``."""
    if isinstance(hint, UnionType):
        (kind,) = (arg for arg in typing.get_args(hint) if arg is not NoneType)
        return kind  # type: ignore[no-any-return]
    assert isinstance(hint, type)
    return hint
