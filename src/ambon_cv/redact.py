"""Credentials never leave the process: a stream URL's user and password are blanked in
anything written or printed (reports, logs, manifests, error messages).

Example:
    >>> redact("OSError: rtsp://admin:S3cret@cam-12.pemkot:554/live: Input/output error")
    'OSError: rtsp://***@cam-12.pemkot:554/live: Input/output error'
    >>> redact_all({"last_error": ["rtsp://u:p@h/x"], "streams": 2})
    {'last_error': ['rtsp://***@h/x'], 'streams': 2}
"""

from __future__ import annotations

import re
from typing import Any

# scheme://user:password@ or scheme://user@ (a token in the user part is a secret too)
CREDENTIALS = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


def redact(text: str) -> str:
    return CREDENTIALS.sub(r"\g<scheme>***@", text)


def redact_all(data: Any) -> Any:
    """`data` (dicts, lists, tuples, strings) with every string redacted."""
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {k: redact_all(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return type(data)(redact_all(v) for v in data)
    return data
