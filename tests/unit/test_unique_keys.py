"""A JSON text that writes a key twice in one object is found, with the key's path,
whichever of the three steps finds it; texts that repeat names across objects, or only
inside strings, are not mistaken for it."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.unique_keys import dotted, repeated_key_message, repeated_keys


@pytest.mark.parametrize("text, paths", [
    (b'{"a":1,"b":2}', []),
    (b'{"a":1,"a":2}', [("a",)]),
    (b'{"a" : 1 , "a" : 2}', [("a",)]),  # spaced, as people write it
    (b'{"a":1,"\\u0061":2}', [("a",)]),  # the same key, escaped
    (b'{"x":{"pix":1},"y":{"pix":2}}', []),  # a name repeated across objects is fine
    (b'{"p":{"x":{"pix":1},"y":{"pix":2,"pix":3}},"l":[{"k":1},{"k":2,"s":"k\\":","k":4}]}',
     [("p", "y", "pix"), ("l", 1, "k")]),
    (b'[{"a":1},{"a":[1,{"b":1,"b":2}]}]', [(1, "a", 1, "b")]),
    (b'{"v":"\\"a\\":1,\\"a\\":2", "w": ["a", "a"]}', []),  # only inside strings and values
    (b'{"a":{},"a":[]}', [("a",)]),
])
def test_a_repeated_key_is_found_with_its_path(text, paths):
    assert repeated_keys(text) == paths
    assert repeated_keys(text, orjson.loads(text)) == paths  # with the fast step tried first
    assert repeated_keys(text.decode()) == paths


@pytest.mark.parametrize("depth", [10, 999, 1020])
def test_nesting_deeper_than_pythons_decoder_is_still_checked(depth):
    repeated = b'{"a":' * depth + b'{"k":1,"k":2}' + b"}" * depth
    once = b'{"a":' * depth + b'{"k":1,"j":2}' + b"}" * depth
    assert repeated_keys(repeated) == [("a",) * depth + ("k",)]
    assert repeated_keys(once, orjson.loads(once)) == []


def test_the_message_names_the_key_and_where():
    assert dotted(("jury", 0, "member_id")) == "jury.0.member_id"
    message = repeated_key_message(("jury", 0, "member_id"))
    assert "'member_id'" in message and "(in jury.0)" in message
    assert "(in" not in repeated_key_message(("at",))


_KEYS = st.sampled_from(["a", "b", "pix", "k\u00e9", 'q"'])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(alphabet='ab":\\{', max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.lists(st.tuples(_KEYS, inner), max_size=4),
    max_leaves=12)


def _write(value) -> str:
    """JSON text of `value`, where a list of (key, value) pairs is an object written with
    its pairs as they are, repeats included."""
    if isinstance(value, list) and value and all(isinstance(p, tuple) for p in value):
        return "{" + ",".join(f"{json.dumps(k)}:{_write(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_write(v) for v in value) + "]"
    return json.dumps(value)


def _expected(value, path=()) -> list:
    found = []
    if isinstance(value, list) and value and all(isinstance(p, tuple) for p in value):
        seen = set()
        for k, v in value:  # in document order: a repeat, then what its value holds
            if k in seen:
                found.append((*path, k))
            seen.add(k)
            found.extend(_expected(v, (*path, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(_expected(v, (*path, i)))
    return found


@settings(max_examples=300, deadline=None)
@given(_JSON)
def test_every_repeat_is_found_and_nothing_else(value):
    text = _write(value).encode()
    expected = _expected(value)
    assert repeated_keys(text) == expected
    assert repeated_keys(text, orjson.loads(text)) == expected


@settings(max_examples=300, deadline=None)
@given(_JSON)
def test_text_spaced_as_python_writes_it_is_judged_alike(value):
    """The fast step also takes `json.dumps`'s spacing (", " and ": "): strings holding
    those, and repeats, still go to the exact steps."""
    compact = _write(value)
    spaced = compact.replace('":', '": ').replace(",", ", ")  # (inside strings too: another text, still valid)
    try:
        decoded = orjson.loads(spaced)
    except orjson.JSONDecodeError:
        return
    assert repeated_keys(spaced.encode(), decoded) == repeated_keys(spaced.encode())


def test_compact_and_python_spaced_texts_take_the_fast_step(monkeypatch):
    """The decoders' steps are for other texts: orjson's and json.dumps's own forms are
    judged by one dump and a comparison (about 1 µs a line on the import path)."""
    import ledger.unique_keys as unique_keys

    line = {"type": "AnswerRecorded", "certification_id": "c1", "question_id": "q1", "status": "ok",
            "nested": {"a": [1, {"b": "x, y"}]}}

    def not_here(*args, **kwargs):
        raise AssertionError("the slower step was taken")

    monkeypatch.setattr(unique_keys.json, "loads", not_here)
    monkeypatch.setattr(unique_keys, "_walk", not_here)
    for text in (orjson.dumps(line), json.dumps({k: v for k, v in line.items() if k != "nested"}).encode()):
        assert repeated_keys(text, orjson.loads(text)) == []
