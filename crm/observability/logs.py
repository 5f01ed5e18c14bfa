"""The JSON log format: one object a line, with the request id of the request being served (if any)."""

from __future__ import annotations

import logging
import os

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from .request_log import request_id_var


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(_JsonFormatter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")  # ISO 8601 in UTC, whatever the business time zone
        super().__init__("%(levelname)s %(name)s %(message)s", *args, **kwargs)

    def add_fields(self, log_record: dict, record: logging.LogRecord, message_dict: dict) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record["pid"] = os.getpid()
        if not log_record.get("request_id"):
            log_record.pop("request_id", None)
