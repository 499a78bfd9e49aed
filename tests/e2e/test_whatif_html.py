"""The what-if HTML report in a real browser: headless Chromium draws the page, and the
drawn DOM (and a screenshot) must show the comparison's numbers.

Chromium is Debian's `chromium` package (`scripts/test.sh`, which `.ci/run` calls,
installs it when missing). Without it this test fails: it is the issue's acceptance
check, never skipped.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from projections.whatif import (
    CertificationChange,
    CompetenceChange,
    CompetenceLevelChanges,
    ResultSide,
    ScoreDifference,
    StatusTransition,
    WhatIfReport,
)
from projections.whatif_html import CHART_HEIGHT, render_html

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--force-device-scale-factor=1",
]
TRANSITIONS = {
    ("validated", "validated"): 38, ("validated", "rejected"): 3, ("rejected", "validated"): 1,
    ("rejected", "rejected"): 4, ("started", "started"): 2,
}  # 48 compared, 46 with a result on both sides
DIFFERENCES = {-48: 3, -8: 2, 0: 38, 16: 3}  # "no change" dwarfs the others: drawn cut
RED, GREEN = (0xC0, 0x39, 0x2B), (0x1A, 0x7F, 0x37)


def _known_report() -> WhatIfReport:
    change = CertificationChange(
        certification_id="cert-1", started_at=datetime(2024, 6, 12, 8, tzinfo=timezone.utc),
        before=ResultSide(status="validated", pix_score=48, rule_version="pix-v2-2024-05"),
        after=ResultSide(status="rejected", reasons=("NO_PIX_CERTIFIED",), pix_score=0, rule_version="proposal"),
        pix_difference=-48,
        competences=(CompetenceChange(code="1.1", level_before=1, level_after=-1, pix_before=12, pix_after=0),),
        explanation=("status validated -> rejected (NO_PIX_CERTIFIED)", "pix 48 -> 0"),
    )
    return WhatIfReport(
        proposal="proposal", compared=48, changed=8,
        status_transitions=tuple(StatusTransition(before=b, after=a, count=n) for (b, a), n in TRANSITIONS.items()),
        score_differences=tuple(ScoreDifference(difference=d, count=n) for d, n in DIFFERENCES.items()),
        competence_changes=(CompetenceLevelChanges(code="1.1", up=1, down=3),),
        changes=(change,),
    )


def _chromium() -> str:
    path = shutil.which("chromium") or (Path("/usr/bin/chromium").exists() and "/usr/bin/chromium")
    if not path:
        pytest.fail("headless Chromium is needed to check the what-if report's charts: "
                    "apt-get install chromium (Debian's package; scripts/test.sh installs it when run as root)", pytrace=False)
    return path


def _run_chromium(tmp_path: Path, *args: str) -> str:
    profile = tmp_path / "chromium-profile"
    done = subprocess.run([_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []
        self.texts: list[tuple[str, str]] = []  # (class of the enclosing <text>, its text)
        self._text_class: str | None = None
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        self.found.append((tag, attributes))
        self._in_title = tag == "title" and not self.title
        self._text_class = attributes.get("class", "") if tag == "text" else None

    def handle_endtag(self, tag):
        self._in_title = False
        self._text_class = None

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._text_class:
            self.texts.append((self._text_class, data))

    def having(self, tag: str, cls: str | None = None, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.found if t == tag and (cls is None or cls in a.get("class", "").split())
                and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]


def _pixels(png: bytes) -> tuple[int, int, int, list[bytes]]:
    """(width, height, bytes per pixel, rows) of an 8-bit RGB(A), non-interlaced PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data, width = 8, b"", 0
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            data += body
        pos += 12 + length
    raw, rows, prior = zlib.decompress(data), [], bytearray(width * bpp)
    stride = width * bpp + 1
    for y in range(height):
        kind, line = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
        for i in range(len(line)):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = prior[i], prior[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(line))
        prior = line
    return width, height, bpp, rows


def _count_colour(png: bytes, rgb: tuple[int, int, int]) -> int:
    width, _, bpp, rows = _pixels(png)
    target = bytes(rgb)
    return sum(1 for row in rows for x in range(width) if row[x * bpp:x * bpp + 3] == target)


@pytest.fixture
def page(tmp_path: Path) -> Path:
    path = tmp_path / "what-if.html"
    path.write_text(render_html(_known_report()), encoding="utf-8")
    return path


def test_the_browser_draws_the_status_matrix_with_its_counts(tmp_path, page):
    dom = _Elements()
    dom.feed(_run_chromium(tmp_path, "--dump-dom", page.as_uri()))

    assert dom.title == "What-if: proposal against current results"
    assert int(dom.having("html")[0]["data-charts-drawn"]) > 0, "the page's script did not run"
    for before in ("validated", "rejected", "started"):
        for after in ("validated", "rejected", "started"):
            (cell,) = dom.having("g", "cell", data_before=before, data_after=after)
            assert int(cell["data-count"]) == TRANSITIONS.get((before, after), 0)
    drawn_cells = [a for t, a in dom.found if t == "rect" and "data-drawn-height" in a and "bar" not in a.get("class", "")]
    assert len(drawn_cells) == 9 and all(float(a["data-drawn-height"]) > 0 for a in drawn_cells)
    labels = sorted(int(text) for cls, text in dom.texts if cls == "cell-count")
    assert labels == sorted([*TRANSITIONS.values()] + [0] * 4)


def test_the_browser_draws_one_histogram_bar_per_difference_in_proportion(tmp_path, page):
    dom = _Elements()
    dom.feed(_run_chromium(tmp_path, "--dump-dom", page.as_uri()))

    bars = dom.having("rect", "bar")
    assert {(int(b["data-from"]), int(b["data-count"])) for b in bars} == set(DIFFERENCES.items())
    scale = 3  # the tallest bar but the cut one
    for bar in bars:
        count = int(bar["data-count"])
        expected = CHART_HEIGHT if count > scale else max(2.0, CHART_HEIGHT * count / scale)
        assert float(bar["data-drawn-height"]) == pytest.approx(expected, abs=0.2), bar
        assert (bar.get("data-clipped") == "true") == (count > scale)
    assert sorted(int(t) for cls, t in dom.texts if cls == "bar-count") == sorted(DIFFERENCES.values())


def test_the_screenshot_shows_the_bars_in_their_colours(tmp_path, page):
    shot = tmp_path / "what-if.png"
    _run_chromium(tmp_path, f"--screenshot={shot}", "--window-size=1000,1200", page.as_uri())

    png = shot.read_bytes()
    area = lambda n: 26 * CHART_HEIGHT * n / 3  # noqa: E731  (a bar is 26 px wide; 3 is full height)
    # Fewer-pix bars are red, more-pix bars green; text in those colours adds a little.
    assert _count_colour(png, RED) >= 0.9 * (area(3) + area(2))
    assert _count_colour(png, GREEN) >= 0.9 * area(3)
