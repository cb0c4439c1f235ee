"""Secrets masked wherever ecohub prints or logs: stdout, stderr and every library's log records.

Why one module: a secret leaks through whichever path was forgotten - a URL with user-info in
``ecohub config``, a ``?password=`` in ``ecohub doctor``, the access key id in botocore's DEBUG
log under ``-v``, a portal echoing our Authorization header. :func:`mask_text` applies every rule
(known secret values first, then the shapes secrets take in text) and :class:`SecretFilter`
applies it to each log record before any handler formats it, whatever library emitted it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

__all__ = ["MASK", "MIN_SECRET_LENGTH", "SecretFilter", "install_log_masking", "mask_text"]

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter "secrets" would mask ordinary text everywhere

_SHAPES: list[tuple[re.Pattern[str], str]] = [
    # user-info in any URL: scheme://user:password@host -> scheme://user:***@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@'\"]*:)[^@\s/'\"]+@"), rf"\1{MASK}@"),
    # secret-looking query parameters
    (re.compile(
        r"(?i)([?&;](?:password|passwd|pwd|sslpassword|secret|client_secret|token|access_token"
        r"|api_?key|apikey|key|signature|x-amz-signature|x-amz-credential|x-amz-security-token)=)"
        r"[^&\s'\"#]+"
    ), rf"\1{MASK}"),
    # whole header values: Authorization (any scheme), API keys, AWS session tokens
    (re.compile(
        r"(?i)((?:proxy-)?authorization|x-api-key|x-amz-security-token)(['\"]?\s*[:=]\s*(?-i:b)?['\"]?)"
        r"[^'\"\r\n]+"
    ), rf"\1\2{MASK}"),
    # AWS SigV4 credential scope (access key id) wherever it appears
    (re.compile(r"(?i)(credential=)[^/,\s'\"&;]+"), rf"\1{MASK}"),
    # name = value pairs in JSON or text: "client_secret": "...", password=...
    (re.compile(
        r"""(?i)(?<![\w-])(["']?[\w-]*(?:secret|password|passwd|api[_-]?key|access[_-]?key)[\w-]*["']?"""
        r"""\s*[:=]\s*)(?!b?['"]?\*\*\*)("[^"]*"|'[^']*'|[^\s,&;}]+)"""
    ), rf"\1{MASK}"),
]


def mask_text(text: str, known: Iterable[str] = ()) -> str:
    """``text`` with every known secret value and every secret-shaped substring masked."""
    for secret in sorted({s for s in known if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text


class SecretFilter(logging.Filter):
    """Masks secrets in a log record's message and traceback, whoever logged it."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        super().__init__()
        self.known = list(known)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the library's bug, not a leak
            message = str(record.msg)
        masked = mask_text(message, self.known)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text, self.known)
        return True


def install_log_masking(known: Iterable[str] = ()) -> SecretFilter:
    """Attach one :class:`SecretFilter` to every handler of the root logger."""
    secret_filter = SecretFilter(known)
    for handler in logging.getLogger().handlers:
        handler.addFilter(secret_filter)
    return secret_filter
