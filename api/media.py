"""The media types `POST /events` reads: one list, for the route and its OpenAPI document;
and the decoding of a JSON body that the routes read themselves."""

from __future__ import annotations

from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Any

import orjson

from api.problems import ApiProblem, BadRequest
from commands.interchange import exact_json, first_non_utf8

# JSON Lines has no registered media type: these are the names clients send for it.
JSON_LINES_TYPES = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines")
JSON_TYPES = ("application/json",)
ACCEPTED = JSON_LINES_TYPES + JSON_TYPES


class UnsupportedMediaType(ApiProblem):
    status, code = 415, "unsupported-media-type"


def refuse_encoded(content_encoding: str | None) -> None:
    """415 for a body that is content-encoded (gzip …): not decoded, since the body limit
    counts the bytes received, and a small gzip body can inflate far beyond it."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding != "identity":
        raise UnsupportedMediaType(f"the body is {encoding}-encoded; send it unencoded (identity)",
                                   field="Content-Encoding", headers={"Accept-Encoding": "identity"},
                                   extra={"accepted": ["identity"]})


# UTF-8, and ASCII, whose every text is UTF-8 too.
UTF8_CHARSETS = ("utf-8", "utf8", "us-ascii", "ascii")


def refuse_other_charset(content_type: str | None, accepted: tuple[str, ...] = ACCEPTED) -> None:
    """415 for a body whose Content-Type names a charset other than UTF-8: the body is
    read as UTF-8 whatever it says (RFC 8259), and a Latin-1 body whose bytes happen to
    be UTF-8 ("\xc3\xa9", Latin-1's "Ã©") was recorded as other text, without a word."""
    header = Message()  # the standard library's parameter parsing: a quoted ";" is part of a value
    header["content-type"] = content_type or ""
    # Every charset the header names, not its first alone: `charset=utf-8; charset=latin1`
    # does not say the body is UTF-8.
    for name, value in header.get_params(failobj=[])[1:]:
        charset = collapse_rfc2231_value(value).strip().lower()
        if name.lower() == "charset" and charset not in UTF8_CHARSETS:
            raise UnsupportedMediaType(f"the body is said to be {charset or 'of no'} charset; it is read as UTF-8 "
                                       "only: send it as UTF-8 (charset=utf-8, or no charset)",
                                       field="Content-Type", extra={"accepted": list(accepted)})


def is_json(content_type: str | None) -> bool:
    """A JSON body's type: application/json or a JSON-based one (application/…+json), or
    none named (a JSON route reads it as JSON, as FastAPI's body models did)."""
    media_type = (content_type or "application/json").split(";")[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def is_json_array(content_type: str | None, content_encoding: str | None) -> bool:
    """True for a JSON array, False for JSON Lines; 415 for any other body, or none named.

    Read as JSON Lines, a form or a text body was refused line by line as "not valid JSON",
    which hid the real mistake."""
    refuse_encoded(content_encoding)
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in ACCEPTED:
        said = f"a {media_type} body" if media_type else "a body without a Content-Type"
        raise UnsupportedMediaType(f"{said} is not read: send JSON Lines ({', '.join(JSON_LINES_TYPES)}) "
                                   f"or a JSON array ({', '.join(JSON_TYPES)})",
                                   field="Content-Type", extra={"accepted": list(ACCEPTED)})
    refuse_other_charset(content_type)
    return media_type in JSON_TYPES


def json_body(body: bytes) -> Any:
    """A JSON body decoded, every integer exact (an array of events and a what-if's
    proposal alike); a 400 `invalid-json` saying whether it is not UTF-8 text (and where)
    or not JSON."""
    try:
        return exact_json(body)
    except orjson.JSONDecodeError as e:
        bad = first_non_utf8(body)
        if bad is not None:
            raise BadRequest(f"the body is not UTF-8 text: byte 0x{body[bad]:02x} at offset {bad}",
                             code="invalid-json") from None
        raise BadRequest(f"the body is not valid JSON: {e}", code="invalid-json") from None
