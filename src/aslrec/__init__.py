"""aslrec: American Sign Language sign recognition from ordinary video.

Heavy dependencies (torch, mediapipe, cv2) are imported lazily by the modules that need them,
so ``import aslrec`` is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aslrec.version import __version__

if TYPE_CHECKING:
    from aslrec.inference.recognizer import Recognizer

__all__ = ["Recognizer", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Recognizer":
        from aslrec.inference.recognizer import Recognizer

        return Recognizer
    raise AttributeError(f"module 'aslrec' has no attribute {name!r}")
