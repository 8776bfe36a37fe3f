"""Structured logs: one JSON object per line (``aslrec.access``: one line per request/socket)."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from typing import Any

from starlette.types import Scope

ACCESS_LOGGER = "aslrec.access"
access_log = logging.getLogger(ACCESS_LOGGER)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any ``extra={"fields": {}}``."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        payload.update(getattr(record, "fields", {}))
        if record.exc_info:
            payload["exc"] = "".join(traceback.format_exception(*record.exc_info))[-4000:]
        return json.dumps(payload, default=str)


def configure_logging(level: int = logging.INFO, stream: Any = None) -> None:
    """Send ``aslrec.access`` and ``aslrec.serving`` to stderr as JSON lines (once)."""
    for name in (ACCESS_LOGGER, "aslrec.serving"):
        logger = logging.getLogger(name)
        if not any(getattr(h, "_aslrec_json", False) for h in logger.handlers):
            handler = logging.StreamHandler(stream or sys.stderr)
            handler.setFormatter(JsonFormatter())
            handler._aslrec_json = True  # type: ignore[attr-defined]
            logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False


def client_address(scope: Scope) -> str | None:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else None
