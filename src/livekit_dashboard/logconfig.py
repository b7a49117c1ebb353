"""Logging of the server process, set up once by the CLI: plain text lines, or one JSON object per
line for log shippers (time, level, logger, message, the fields a record carries such as the access
log's method, path, status and duration_ms, and a traceback as `exception`)."""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any, Literal

__all__ = ["JsonFormatter", "configure_logging"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ACCESS_LOGGER = "livekit_dashboard.access"  # api.access_log's logger (this module sits outside the layers)

# what every LogRecord has: anything else on a record came from `extra=` and is logged as a field
# (but uvicorn's copy of its message with terminal colour codes)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str, log_format: Literal["text", "json"], *, access_log: bool = False) -> None:
    """The root logger writes to stderr at `level` in `log_format`. The access log, when on, is written
    whatever the level (it was asked for by itself)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO if access_log else logging.NOTSET)
