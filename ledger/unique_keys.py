"""Where a JSON text repeats a key within one object.

JSON decoders keep one of the two values (orjson, pydantic and Python's `json` the last;
others the first), so a line `{"session_id": "a", "session_id": "b"}` is a different fact
to each reader of the same file: the ledger refuses it, naming the key, rather than pick.

Checked only on text that decoded, in up to three steps, each exact:
* text that is the canonical form of what it decoded to (what orjson writes, as export
  and the simulation do), or that form spaced as Python's `json.dumps` spaces it,
  repeats no key: a decoded object holds each key once, and a repeat would be missing
  from it. One dump and a comparison or two, about 1 µs a line;
* else Python's `json` decodes it again, counting each object's keys as it goes (its
  scanner is C; about 5 µs for a line, 1.6 µs an event in a JSON array);
* a text that repeats a key, or nests deeper than that decoder goes (1,000 levels;
  orjson accepts 1,024), is walked token by token, without recursion, for the path of
  each repeat.
"""

from __future__ import annotations

import json
import re

import orjson

Path = tuple[str | int, ...]

# The strings of a JSON text and its structure's punctuation. Outside strings JSON holds
# no quote, so on valid JSON the string matches are exactly its strings.
_TOKENS = re.compile(rb'"([^"\\]*(?:\\.[^"\\]*)*)"|([{}\[\],])')


class _Repeated(Exception):
    pass


def _once_each(pairs: list[tuple[str, object]]) -> None:
    if len(pairs) != len({key for key, _ in pairs}):
        raise _Repeated
    # (None: the values are not needed, only whether some object repeats a key)


def repeated_keys(text: bytes | str, decoded: object = None) -> list[Path]:
    """The path of each key written again in an object that already has it, in document
    order; empty for most texts, cheaply. `text` must be valid JSON (decode it first),
    and `decoded` what it decoded to, if at hand (the fast step)."""
    raw = text.encode() if isinstance(text, str) else text
    if decoded is not None:
        try:
            canonical = orjson.dumps(decoded)
        except orjson.JSONEncodeError:
            canonical = None  # nested deeper than orjson writes (254 levels): the next steps tell
        if canonical is not None:
            text = raw.strip(b" \t\r\n")
            # Compact, or spaced as Python's `json.dumps` and most writers space it: taking
            # the space out after each ", " and ": " changes no object's count of keys (in
            # a string it changes the string, and the texts then differ), so equal to the
            # canonical text it holds each key once, as that does.
            if canonical == text or canonical == text.replace(b", ", b",").replace(b": ", b":"):
                return []
    try:
        json.loads(raw, object_pairs_hook=_once_each)
        return []
    except _Repeated:
        pass
    except RecursionError:
        pass  # deeper than Python's decoder goes: walked below
    return _walk(raw)


def _walk(raw: bytes) -> list[Path]:
    found: list[Path] = []
    # One frame per open object or array: [is an object, its keys so far, the key or index
    # being read]; a string is a key right after an object's `{` or `,`.
    frames: list[list] = []
    key_next = False
    for string, mark in _TOKENS.findall(raw):
        if mark == b"{":
            frames.append([True, set(), None])
            key_next = True
        elif mark == b"[":
            frames.append([False, None, 0])
            key_next = False
        elif mark in (b"}", b"]"):
            frames.pop()
            key_next = False
        elif mark == b",":
            top = frames[-1]
            if top[0]:
                key_next = True
            else:
                top[2] += 1
        elif key_next:
            key = json.loads(b'"' + string + b'"') if b"\\" in string else string.decode()
            top = frames[-1]
            if key in top[1]:
                found.append((*(frame[2] for frame in frames[:-1]), key))
            top[1].add(key)
            top[2] = key
            key_next = False
    return found


def dotted(path: Path) -> str:
    """A path as the ledger's errors name fields: `jury.0.member_id`."""
    return ".".join(str(part) for part in path)


def repeated_key_message(path: Path) -> str:
    where = f" (in {dotted(path[:-1])})" if len(path) > 1 else ""
    return (f"the key {path[-1]!r} is written twice in one object{where}: a reader would keep one of the two "
            "values, and readers differ on which; write it once")
