"""The report in a real browser: headless Chromium draws the charts, a screenshot is not
blank, and the page prints.

Chromium is the Debian package ``chromium`` (``REWARDKIT_CHROMIUM`` may name another
binary).  Without it these tests skip, unless ``CI=true`` or ``REWARDKIT_REQUIRE_BROWSER``
is set, when they fail.

``python -m tests.test_report_browser`` regenerates ``docs/images/report.png``.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from rewardkit.report import write_report

from .test_report import cafe_insights

ROOT = Path(__file__).resolve().parent.parent
DOCS_IMAGE = ROOT / "docs" / "images" / "report.png"
EXPECTED_SERIES = {"flows": 3, "liability": 1, "pareto": 2, "segments": 2, "tiers": 1}
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)


def chromium() -> str | None:
    """``REWARDKIT_CHROMIUM`` (a path), else chromium on the PATH or in /usr/bin."""
    override = os.environ.get("REWARDKIT_CHROMIUM")
    if override is not None:
        return override if Path(override).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _browser_required() -> bool:
    return os.environ.get("CI") == "true" or bool(os.environ.get("REWARDKIT_REQUIRE_BROWSER"))


def run_chromium(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[bytes]:
    binary = chromium()
    assert binary is not None
    with tempfile.TemporaryDirectory(prefix="rewardkit-chromium-") as profile:
        return subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            timeout=timeout,
            check=True,
        )


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if chromium() is None:
        if _browser_required():
            pytest.fail(
                "chromium is required (CI or REWARDKIT_REQUIRE_BROWSER): apt-get install chromium"
            )
        pytest.skip("chromium is not installed (apt-get install chromium): no browser to render in")
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(path, cafe_insights(), currency_symbol="€")
    yield path


# ---------------------------------------------------------------- PNG, by hand


def decode_png(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """Width, height, bytes per pixel and the unfiltered rows of an 8-bit PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, bytearray()
    width = height = color = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0, (depth, interlace)
        elif kind == b"IDAT":
            idat += body
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    raw = zlib.decompress(bytes(idat))
    stride = width * bpp
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(kind, line, previous, bpp)
        rows.append(bytes(line))
        previous = line
    return width, height, bpp, rows


def _unfilter(kind: int, line: bytearray, above: bytearray, bpp: int) -> None:
    if kind == 0:
        return
    if kind == 2:
        line[:] = bytes((a + b) & 255 for a, b in zip(line, above, strict=True))
        return
    for x in range(len(line)):
        left = line[x - bpp] if x >= bpp else 0
        up = above[x]
        if kind == 1:
            line[x] = (line[x] + left) & 255
        elif kind == 3:
            line[x] = (line[x] + (left + up) // 2) & 255
        else:
            corner = above[x - bpp] if x >= bpp else 0
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            line[x] = (
                line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)
            ) & 255


def encode_png(width: int, bpp: int, rows: list[bytes]) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    color = {3: 2, 4: 6}[bpp]
    header = struct.pack(">IIBBBBB", width, len(rows), 8, color, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + row for row in rows), 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def luminance_stats(rows: list[bytes], bpp: int, step: int = 4) -> tuple[float, float, int]:
    """Mean and variance of luminance over a grid of pixels, and the colours seen."""
    values: list[float] = []
    colours: set[bytes] = set()
    for row in rows[::step]:
        for x in range(0, len(row) - bpp + 1, bpp * step):
            r, g, b = row[x], row[x + 1], row[x + 2]
            values.append(0.2126 * r + 0.7152 * g + 0.0722 * b)
            colours.add(row[x : x + 3])
    mean = sum(values) / len(values)
    return mean, sum((v - mean) ** 2 for v in values) / len(values), len(colours)


# ---------------------------------------------------------------- the DOM


class _Charts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, tuple[int, set[str]]] = {}
        self.scripts = 0
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "svg" and found.get("data-chart"):
            self._current = found["data-chart"] or ""
            self.charts[self._current] = (int(found.get("data-series-count") or -1), set())
        elif tag == "g" and self._current and found.get("data-series"):
            self.charts[self._current][1].add(found["data-series"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._current = None


def test_chromium_draws_every_chart_with_its_series(report: Path) -> None:
    dom = run_chromium("--dump-dom", report.as_uri()).stdout.decode("utf-8")
    parser = _Charts()
    parser.feed(dom)
    assert parser.scripts == 0
    drawn = {name: len(series) for name, (_, series) in parser.charts.items()}
    assert drawn == EXPECTED_SERIES
    for name, (declared, series) in parser.charts.items():
        assert declared == len(series), name
    assert "Who to contact this week" in dom and "Café Aroma" in dom


def test_a_screenshot_of_the_report_is_not_blank(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    run_chromium(f"--screenshot={shot}", "--window-size=1200,1400", report.as_uri())
    width, height, bpp, rows = decode_png(shot.read_bytes())
    assert (width, height) == (1200, 1400)
    mean, variance, colours = luminance_stats(rows, bpp)
    assert variance > 300, variance  # a blank page has none
    assert colours > 50, colours  # text, three series, cards: many colours
    assert 150 < mean < 250, mean  # mostly light, not black


def test_the_report_prints(report: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    run_chromium(f"--print-to-pdf={pdf}", "--no-pdf-header-footer", report.as_uri())
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page") >= 2


# ---------------------------------------------------------------- the docs image


def update_docs_image(path: Path = DOCS_IMAGE) -> Path:
    """Render the café report and save a screenshot of it, trailing margin cropped."""
    with tempfile.TemporaryDirectory() as work:
        page, shot = Path(work) / "report.html", Path(work) / "shot.png"
        write_report(page, cafe_insights(), currency_symbol="€")
        run_chromium(f"--screenshot={shot}", "--window-size=1200,5200", page.as_uri())
        width, _, bpp, rows = decode_png(shot.read_bytes())
    background = rows[-1]
    end = len(rows)
    while end > 1 and rows[end - 1] == background:
        end -= 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_png(width, bpp, rows[: min(len(rows), end + 24)]))
    return path


if __name__ == "__main__":
    print(update_docs_image(Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS_IMAGE))
