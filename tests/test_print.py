"""Printing (issue 18): a department pack with up to ten worklist cases prints on at most two A4 pages, no page
of a printed pack or of the data-quality page is blank or holds only a heading, no table is clipped and
plotly's toolbar does not print.

Pages are printed by headless Chromium (DevTools `Page.printToPDF`, as a person printing from a 1280 px
window would). The PDF is read here with the standard library only: page objects, their content streams
(zlib) and the glyphs they show; the clipping is measured in the page itself under print media.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import WAIT_FOR_CHARTS, BrowserMissing, Chromium
from test_site import department_packs

from pipelines.packs import packs_folder

A4_CONTENT_WIDTH = 703  # CSS px: 210 mm less the 12 mm margins on both sides
MIN_GLYPHS = 120  # a page with less text than two lines holds a heading at most

# Under print media after `beforeprint`: tables wider than their box or the page, and visible toolbars.
PRINT_CHECK = """
(function () {
  window.dispatchEvent(new Event("beforeprint"));
  var clipped = [];
  document.querySelectorAll(".table-wrap").forEach(function (wrap, i) {
    var table = wrap.querySelector("table");
    var right = table.getBoundingClientRect().right;
    if (wrap.scrollWidth > wrap.clientWidth + 1 || right > %d + 1) {
      clipped.push([i, wrap.scrollWidth, wrap.clientWidth, Math.round(right)]);
    }
  });
  var toolbars = Array.prototype.filter.call(document.querySelectorAll(".modebar-container, .modebar"),
    function (bar) { return getComputedStyle(bar).display !== "none"; }).length;
  var charts = Array.prototype.map.call(document.querySelectorAll("div.chart svg.main-svg"),
    function (svg) { return Math.round(svg.getBoundingClientRect().width); });
  return {clipped: clipped, toolbars: toolbars, widest: charts.length ? Math.max.apply(null, charts) : 0};
})()
"""


class PrintingChromium(Chromium):
    """The test helper's browser with two print steps of its own (tests/browser.py stays as it is)."""

    def _open(self, url: str, width: int) -> tuple[str, str]:
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self._send("Page.enable", session=session)
        self._send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        self._send("Page.navigate", {"url": url}, session=session)
        self._wait_for("Page.loadEventFired", session)
        self._send(
            "Runtime.evaluate",
            {"expression": WAIT_FOR_CHARTS % 20000, "awaitPromise": True, "returnByValue": True},
            session=session,
        )
        return target, session

    def _close(self, target: str) -> None:
        self._send("Target.closeTarget", {"targetId": target})
        self._drain_events()

    def print_pdf(self, url: str, width: int = 1280) -> bytes:
        target, session = self._open(url, width)
        try:
            printed = self._send(
                "Page.printToPDF",
                {
                    "paperWidth": 8.27,
                    "paperHeight": 11.69,
                    "printBackground": True,
                    "preferCSSPageSize": True,
                },
                session=session,
            )
            return base64.b64decode(printed["data"])
        finally:
            self._close(target)

    def print_check(self, url: str) -> dict[str, Any]:
        target, session = self._open(url, A4_CONTENT_WIDTH)
        try:
            self._send("Emulation.setEmulatedMedia", {"media": "print"}, session=session)
            result = self._send(
                "Runtime.evaluate",
                {"expression": PRINT_CHECK % A4_CONTENT_WIDTH, "returnByValue": True},
                session=session,
            )
            return result.get("result", {}).get("value") or {}
        finally:
            self._close(target)


# ------------------------------------------------------------------------------------------- reading the PDF
OBJECT_START = re.compile(rb"(\d+) 0 obj\b")
DIRECT_LENGTH = re.compile(rb"/Length\s+(\d+)(?!\s+\d+\s+R)")
STREAM_START = re.compile(rb"stream\r?\n")
SHOWN = re.compile(rb"(<[0-9A-Fa-f\s]*>|\((?:\\.|[^\\)])*\))")
TEXT_OPERATION = re.compile(rb"(\[[^\]]*\]\s*TJ|<[0-9A-Fa-f\s]*>\s*Tj|\((?:\\.|[^\\)])*\)\s*Tj)")


def _objects(pdf: bytes) -> tuple[dict[int, bytes], dict[int, bytes]]:
    """Each object's dictionary text and, for stream objects, its raw stream bytes. Objects are read one after
    another and a stream is cut by its /Length, so compressed bytes that happen to spell "endobj" or
    "endstream" cannot end an object early (a regex over the whole file did, now and then)."""
    bodies: dict[int, bytes] = {}
    streams: dict[int, bytes] = {}
    position = 0
    while (start := OBJECT_START.search(pdf, position)) is not None:
        number, begin = int(start.group(1)), start.end()
        end = pdf.find(b"endobj", begin)
        stream = pdf.find(b"stream", begin, end if end >= 0 else len(pdf))
        if stream < 0 or end < 0:
            bodies[number] = pdf[begin:end] if end >= 0 else pdf[begin:]
            position = end + 6 if end >= 0 else len(pdf)
            continue
        head = pdf[begin:stream]
        bodies[number] = head
        data_start = STREAM_START.match(pdf, stream)
        length = DIRECT_LENGTH.search(head)
        if data_start is not None and length is not None:
            data_end = data_start.end() + int(length.group(1))
        else:  # an indirect /Length: fall back to the end marker
            data_end = pdf.find(b"endstream", stream)
        streams[number] = pdf[data_start.end() if data_start else stream + 6 : data_end]
        position = pdf.find(b"endobj", data_end) + 6
    return bodies, streams


def pdf_pages(pdf: bytes) -> list[int]:
    """The number of glyphs each page of the PDF shows (in page order)."""
    objects, streams = _objects(pdf)
    order = _page_order(objects)
    glyphs = []
    for number in order:
        body = objects[number]
        contents = re.search(rb"/Contents\s*(\[[^\]]*\]|\d+ 0 R)", body)
        refs = [int(r) for r in re.findall(rb"(\d+) 0 R", contents.group(1))] if contents else []
        count = 0
        for ref in refs:
            if ref not in streams:
                continue
            data = streams[ref]
            if b"/FlateDecode" in objects[ref]:
                data = zlib.decompress(data)
            count += _glyphs(data)
        glyphs.append(count)
    return glyphs


def _page_order(objects: dict[int, bytes]) -> list[int]:
    """Pages in reading order: the /Kids of the page tree (depth first)."""
    root = next(
        n for n, body in objects.items() if re.search(rb"/Type\s*/Pages\b", body) and b"/Parent" not in body
    )
    order: list[int] = []

    def walk(number: int) -> None:
        body = objects[number]
        if re.search(rb"/Type\s*/Pages\b", body):
            kids = re.search(rb"/Kids\s*\[([^\]]*)\]", body)
            for kid in re.findall(rb"(\d+) 0 R", kids.group(1) if kids else b""):
                walk(int(kid))
        elif re.search(rb"/Type\s*/Page\b", body):
            order.append(number)

    walk(root)
    return order


def _glyphs(content: bytes) -> int:
    count = 0
    for operation in TEXT_OPERATION.findall(content):
        for shown in SHOWN.findall(operation):
            if shown.startswith(b"<"):
                count += len(re.sub(rb"\s", b"", shown[1:-1])) // 4  # two-byte glyph ids
            else:
                count += len(shown) - 2
    return count


# ------------------------------------------------------------------------------------------------ the tests
@pytest.fixture(scope="module")
def chromium() -> Iterator[PrintingChromium]:
    try:
        browser = PrintingChromium.start()
    except BrowserMissing as missing:
        pytest.fail(f"headless Chromium is required for the print tests: {missing}", pytrace=False)
    assert isinstance(browser, PrintingChromium)
    try:
        yield browser
    finally:
        browser.close()


def worklist_rows(page: Path) -> int:
    content = page.read_text(encoding="utf-8")
    if "werklijst" not in content.lower() or "<tbody>" not in content:
        return 0
    return content.rsplit("<tbody>", 1)[1].split("</tbody>", 1)[0].count("<tr")


def test_the_pdf_reader_counts_pages_and_text(chromium: PrintingChromium, tmp_path: Path) -> None:
    """The reader itself: a page of text, a page with a heading only and a blank page."""
    page = tmp_path / "three.html"
    page.write_text(
        "<!DOCTYPE html><html><head><style>@page{size:A4;margin:12mm}.b{break-before:page}</style></head><body>"
        + "<p>" + "Een zin van een paar woorden. " * 60 + "</p>"
        + "<h2 class='b'>Alleen een kop</h2><div class='b'>&nbsp;</div></body></html>",
        encoding="utf-8",
    )  # fmt: skip
    glyphs = pdf_pages(chromium.print_pdf(page.as_uri()))
    assert len(glyphs) == 3
    assert glyphs[0] > 1000 and 0 < glyphs[1] < MIN_GLYPHS and glyphs[2] <= 1  # the blank page holds a space


def test_the_pdf_reader_cuts_streams_by_their_length() -> None:
    """Stream bytes that spell the end markers do not end an object early: the reader cuts each stream by its
    /Length (a regex reader failed now and then on Chromium's compressed page contents)."""
    content = b"BT (endobj) Tj (x\nendstream) Tj ET"
    compressed = zlib.compress(b"BT (endobj endstream) Tj ET")
    pdf = b"\n".join(
        [
            b"%PDF-1.4",
            b"1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj",
            b"2 0 obj <</Type /Pages /Kids [3 0 R 5 0 R] /Count 2>> endobj",
            b"3 0 obj <</Type /Page /Parent 2 0 R /Contents 4 0 R>> endobj",
            b"4 0 obj <</Length %d>> stream\n" % len(content) + content + b"\nendstream endobj",
            b"5 0 obj <</Type /Page /Parent 2 0 R /Contents [6 0 R]>> endobj",
            b"6 0 obj <</Length %d /Filter /FlateDecode>> stream\n" % len(compressed)
            + compressed
            + b"\nendstream endobj",
            b"%%EOF",
        ]
    )
    assert pdf_pages(pdf) == [len("endobj") + len("x\nendstream"), len("endobj endstream")]


def test_department_packs_print_on_two_pages_without_blank_pages(
    chromium: PrintingChromium, sample_run
) -> None:  # type: ignore[no-untyped-def]
    site = packs_folder(sample_run.settings)  # the meeting packs (issue 16: the site has no worklist)
    packs = [p for org in ("zeeland-demo", "vo-demo") for p in department_packs(site / org / "2024")]
    small = [p for p in packs if 0 < worklist_rows(p) <= 10]
    assert len(small) >= 3, "the sample has packs with up to ten worklist cases"
    economie = site / "zeeland-demo" / "2024" / "calibration" / "economie.html"
    printed = 0
    for pack in sorted({*small[:4], economie}):
        glyphs = pdf_pages(chromium.print_pdf(pack.as_uri()))
        where = pack.relative_to(site)
        assert all(g >= MIN_GLYPHS for g in glyphs), f"{where}: a blank or heading-only page {glyphs}"
        # Up to ten cases on two A4 pages (issue 18). Economie's re-identified pack has 11 cases and, with the
        # pack's confidential banner, takes a third page: measured since the packs (not the site's pages) are
        # printed here (issue 16); its pages must still be full ones (above).
        if worklist_rows(pack) <= 10:
            assert len(glyphs) <= 2, (
                f"{where}: {len(glyphs)} A4 pages for {worklist_rows(pack)} worklist cases"
            )
        printed += 1
    assert printed >= 3


def test_no_printed_page_is_blank_or_only_a_heading(chromium: PrintingChromium, sample_run) -> None:  # type: ignore[no-untyped-def]
    site = sample_run.settings.site
    cycle = site / "management" / "zeeland-demo" / "2024"
    longest = max(
        department_packs(packs_folder(sample_run.settings) / "zeeland-demo" / "2024"), key=worklist_rows
    )
    budget = site / "organisatie" / "zeeland-demo" / "2024" / "budget.html"
    pages = (site / "management" / "data_quality.html", cycle / "data_quality.html", budget, longest)
    for page in (*pages, department_packs(cycle)[0]):
        glyphs = pdf_pages(chromium.print_pdf(page.as_uri()))
        assert glyphs and all(g >= MIN_GLYPHS for g in glyphs), f"{page}: {glyphs}"


def test_printed_tables_are_not_clipped_and_the_toolbar_does_not_print(
    chromium: PrintingChromium, sample_run
) -> None:  # type: ignore[no-untyped-def]
    site = sample_run.settings.site
    cycle = site / "management" / "zeeland-demo" / "2024"
    staff = site / "organisatie" / "zeeland-demo" / "2024"
    checked = 0
    for page in (
        site / "management" / "data_quality.html",
        cycle / "data_quality.html",
        staff / "process.html",
        staff / "budget.html",
        staff / "fairness.html",
        site / "organisatie" / "vo-demo" / "2024" / "process.html",
        max(department_packs(packs_folder(sample_run.settings) / "zeeland-demo" / "2024"), key=worklist_rows),
    ):
        result = chromium.print_check(page.as_uri())
        where = page
        assert not result["clipped"], (
            f"{where}: clipped tables (index, scroll, box, right) {result['clipped']}"
        )
        assert result["toolbars"] == 0, f"{where}: plotly's toolbar prints"
        assert result["widest"] <= A4_CONTENT_WIDTH, f"{where}: a chart wider than the page"
        checked += 1
    assert checked == 7
