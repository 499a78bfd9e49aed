"""Bearer tokens kept out of the server's logs.

A token belongs in the Authorization header, which no log line names; but one pasted into
a URL (`?access_token=clt_…`, refused as an unknown parameter) was written whole by the
access log, which records the path and the query. Whatever a line holds, a token's secret
is replaced; its id (public: `tokens list` shows it) stays, to tell whose it was."""

from __future__ import annotations

import logging
import re

from api.tokens import TOKEN_PREFIX

_SECRET = re.compile(re.escape(TOKEN_PREFIX) + r"([0-9a-fA-F]{1,12})_[A-Za-z0-9_%-]+")
HIDDEN = "***"


def redact(text: str) -> str:
    return _SECRET.sub(lambda m: f"{TOKEN_PREFIX}{m.group(1)}_{HIDDEN}", text) if TOKEN_PREFIX in text else text


class TokenSecretsHidden(logging.Filter):
    """A filter for any handler: the message and its arguments, each redacted in place (the
    access log's formatter reads its five arguments by position)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True
