"""Bearer tokens kept out of the server's logs.

A token belongs in the Authorization header, which no log line names; but one pasted into
a URL (`?access_token=clt_…`, refused as an unknown parameter) was written whole by the
access log, which records the path and the query. Whatever a line holds, a token's secret
is replaced; its id (public: `tokens list` shows it) stays, to tell whose it was.

The lines are redacted as formatted, whole (message, arguments of any kind, traceback):
a filter on the record's parts missed a token inside a dict argument, an exception or a
traceback, and could break a message whose `%s` followed a token's prefix."""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import quote, unquote

from uvicorn.logging import AccessFormatter, DefaultFormatter

from api.tokens import TOKEN_PREFIX

# "clt_<id>_<secret>", its underscores perhaps percent-encoded in a URL ("clt%5F…").
_SECRET = re.compile(r"clt(?:_|%5[fF])([0-9a-fA-F]{1,12})(?:_|%5[fF])[A-Za-z0-9_%-]+")
HIDDEN = "***"


def _hidden(match: re.Match) -> str:
    return f"{TOKEN_PREFIX}{match.group(1)}_{HIDDEN}"  # its id stays: public, it tells whose it was


def redact(text: str) -> str:
    if "clt" in text:
        text = _SECRET.sub(_hidden, text)
    if "%" in text:
        # A token percent-encoded whole ("%63%6C%74%5F…") matched no pattern of its own
        # characters: such a line is logged decoded, its token's secret hidden, and what
        # decoding made unprintable (a CR LF forging a log line, an escape sequence)
        # encoded again.
        decoded = unquote(text)
        if "clt" in decoded and _SECRET.search(decoded):
            hidden = _SECRET.sub(_hidden, decoded)
            return "".join(c if c.isprintable() else quote(c, safe="") for c in hidden)
    return text


class RedactingFormatter(DefaultFormatter):
    """uvicorn's default formatter (and the project's loggers'), its lines redacted; its
    times, when the format has them, in UTC."""

    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RedactingAccessFormatter(AccessFormatter):
    """uvicorn's access-log formatter, its lines redacted; its times in UTC."""

    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
