"""Every page of the site in headless Chromium (DevTools protocol): no console errors, every chart drawn
(plotly's svg.main-svg in each chart div), no request leaves the machine (the browser's proxy is a closed port
and every request is recorded), hostile data shows as text, the calibration pack prints on A4, and the site
works through `calibra serve`.

Chromium is required: when /usr/bin/chromium is missing these tests FAIL (the Makefile installs it).

Tiers: `make test` loads one page of every kind, of the hand-built site and of the sample; every page of
both is the soak tier (`make soak`), as tests/conftest.py says.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from browser import CHROMIUM, BrowserMissing, Chromium, PageResult
from test_site import HOSTILE, build_hand_site, department_packs, hand_packs, pages

from dashboards.site import SITES

LOCAL = ("file://", "data:", "blob:", "about:")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    try:
        browser = Chromium.start()
    except BrowserMissing as missing:
        pytest.fail(f"headless Chromium is required for the site's browser tests: {missing}", pytrace=False)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="module")
def hand_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hand_site(tmp_path_factory.mktemp("browser") / "site", "nl")


def check_page(result: PageResult, allowed: tuple[str, ...] = LOCAL) -> None:
    where = result.url.rsplit("/site/", 1)[-1]
    assert result.title, f"{where}: page did not load"
    assert not result.problems, (
        f"{where}: console errors, exceptions or failed requests: {result.problems[:3]}"
    )
    assert set(result.drawn) == set(result.charts), (
        f"{where}: charts not drawn: {set(result.charts) - set(result.drawn)}"
    )
    outside = [r for r in result.requests if not r.startswith(allowed)]
    assert not outside, f"{where}: network requests {outside[:3]}"


def without_missing_manifest(result: PageResult) -> PageResult:
    """`result` without the errors of a manifest.js that is not beside the page (a meeting pack's cycle menu:
    the packs folder has none, docs/privacy.md); any other missing file is still a problem."""
    missing = [r for r in result.requests if r.startswith("file://") and not Path(r[7:]).exists()]
    assert all(r.endswith("/manifest.js") for r in missing), missing
    if not missing:
        return result
    return replace(
        result,
        console_errors=[e for e in result.console_errors if "ERR_FILE_NOT_FOUND" not in e],
        log_errors=[e for e in result.log_errors if "ERR_FILE_NOT_FOUND" not in e],
        failed_requests=[e for e in result.failed_requests if "ERR_FILE_NOT_FOUND" not in e],
    )


def test_chromium_is_installed() -> None:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: install Debian's chromium (the Makefile does)"


def test_one_hand_built_page_of_every_kind_renders_offline(chromium: Chromium, hand_site: Path) -> None:
    charts = 0
    for page in one_page_of_every_kind(hand_site).values():
        result = chromium.load(page.as_uri())
        check_page(result)
        charts += len(result.drawn)
    assert charts > 10


def test_every_hand_built_page_renders_offline(chromium: Chromium, hand_site: Path) -> None:
    charts = 0
    for page in pages(hand_site):
        result = chromium.load(page.as_uri())
        check_page(result)
        charts += len(result.drawn)
    assert charts > 10


def test_every_hand_built_meeting_pack_renders_offline(chromium: Chromium, hand_site: Path) -> None:
    """The meeting packs (rendered into no site) draw every chart offline. Their cycle menu's manifest.js is
    not beside them (a known limit of the packs folder, docs/privacy.md): that missing file is the only
    problem allowed."""
    packs = pages(hand_packs(hand_site))
    assert packs, "no meeting pack was rendered"
    charts = 0
    for page in packs:
        result = chromium.load(page.as_uri())
        check_page(without_missing_manifest(result))
        charts += len(result.drawn)
    assert charts > 10


def test_hostile_department_name_shows_as_text(chromium: Chromium, hand_site: Path) -> None:
    # The hostile department's own page on the management site and its meeting pack: the heading carries the
    # name (every department menu lists it; its download links carry the readable slug "...-evil-example",
    # which is no link from the data).
    for folder in (hand_site / "management", hand_packs(hand_site)):
        pack = next(
            p
            for p in department_packs(folder / "zeeland-demo" / "2024")
            if "evil" in p.read_text(encoding="utf-8").split("<h1>", 1)[-1].split("</h1>", 1)[0]
        )
        hostile_page_reads_literally(chromium, pack)


def hostile_page_reads_literally(chromium: Chromium, pack: Path) -> None:
    result = chromium.load(pack.as_uri())
    check_page(without_missing_manifest(result))
    assert not result.dialogs, "a script from the data ran"
    assert HOSTILE in result.text, "the department name must read literally on the page"
    assert "evil.example" not in " ".join(result.links), "a link from the data became a real link"
    assert HOSTILE in result.svg_text, "plotly must show the name as text, not as markup"
    injected = chromium.evaluate(
        pack.as_uri(),
        "[document.querySelectorAll('img[src=x]').length, document.querySelectorAll('a[href*=\"evil.example\"]').length,"
        " Array.prototype.filter.call(document.scripts, s => s.textContent.indexOf('alert') >= 0 && !s.type).length]",
    )
    assert injected == [0, 0, 0]


# Per chart with a category y axis: its id, how many categories it has and how many tick labels plotly drew.
CATEGORY_LABELS = (
    "Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => {"
    " const ya = gd._fullLayout && gd._fullLayout.yaxis;"
    " if (!ya || ya.type !== 'category') return null;"
    " return [gd.id, (ya._categories || []).length, gd.querySelectorAll('.ytick text').length]; })"
    ".filter(x => x)"
)


def test_every_category_on_a_y_axis_has_its_label(chromium: Chromium, sample_run) -> None:  # type: ignore[no-untyped-def]
    """plotly silently drops category labels that do not fit the chart's height: a bar without its label
    cannot be read (the process page's seven steps once showed four labels)."""
    checked = 0
    site = sample_run.settings.site
    for page in sorted(site.glob("*/*/*/process.html")) + sorted(site.glob("*/*/*/norming.html")):
        for chart, categories, labels in chromium.evaluate(page.as_uri(), CATEGORY_LABELS) or []:
            assert labels >= categories, f"{page.name} {chart}: {labels} labels for {categories} categories"
            checked += 1
    assert checked >= 5


def test_calibration_pack_prints_on_a4(chromium: Chromium, hand_site: Path) -> None:
    pack = department_packs(hand_packs(hand_site) / "zeeland-demo" / "2024")[0]
    pdf = chromium.pdf(pack.as_uri())
    assert pdf.startswith(b"%PDF")
    assert b"/MediaBox [0 0 595" in pdf or b"/MediaBox [0 0 594" in pdf, "A4 is 595 × 842 points"
    widths = chromium.print_layout(pack.as_uri())
    assert widths["nav"] == "none" and widths["header"] == "none", "menus do not print"
    assert 0 < widths["widest_chart"] <= 720, "charts fit the width of an A4 page"


def page_kind(site: Path, page: Path) -> str:
    """What kind of page this is: its path in the site with the organisation, the cycle and the department
    taken out (`<org>/<cycle>/calibration/economie.html` → `calibration/*.html`)."""
    parts = list(page.relative_to(site).parts)
    if parts and parts[0] in SITES.values():  # the audience's site (organisatie/, management/)
        site, parts = site / parts[0], parts[1:]
    organizations = {p.name for p in site.iterdir() if p.is_dir()}
    if parts and parts[0] in organizations:
        parts = parts[1:]
    if parts and re.fullmatch(r"\d{4}", parts[0]):
        parts = parts[1:]
    kind = "/".join(parts) or page.name
    if len(parts) == 2 and parts[0] == "calibration" and parts[1] != "index.html":
        return "calibration/*.html"
    return kind


def one_page_of_every_kind(site: Path) -> dict[str, Path]:
    """Per kind the last page in path order: the latest cycle of the last organisation that has one."""
    return {page_kind(site, page): page for page in pages(site)}


def test_page_kind_takes_out_organisation_cycle_and_department(tmp_path: Path) -> None:
    (tmp_path / "management" / "zeeland-demo" / "2024" / "calibration").mkdir(parents=True)
    for name in (
        "management/index.html",
        "management/zeeland-demo/2024/norming.html",
        "management/zeeland-demo/2024/calibration/economie.html",
    ):
        (tmp_path / name).write_text("<html></html>")
    assert sorted(one_page_of_every_kind(tmp_path)) == ["calibration/*.html", "index.html", "norming.html"]


def test_one_sample_page_of_every_kind_renders_offline(chromium: Chromium, sample_run) -> None:  # type: ignore[no-untyped-def]
    """`make test`'s browser pass over the sample: one page of each kind (index, calibration overview and pack,
    norming, fairness, budget, process, data quality); every page is the soak tier's test below."""
    assert sample_run.success
    chosen = one_page_of_every_kind(sample_run.settings.site)
    assert {"index.html", "calibration/*.html", "norming.html", "fairness.html", "budget.html"} <= set(chosen)
    charts = 0
    for page in chosen.values():
        result = chromium.load(page.as_uri())
        check_page(result)
        charts += len(result.drawn)
    assert charts > 10


def test_every_sample_page_renders_offline(chromium: Chromium, sample_run) -> None:  # type: ignore[no-untyped-def]
    assert sample_run.success
    site = sample_run.settings.site
    all_pages = pages(site)
    assert len(all_pages) > 20
    charts = 0
    for page in all_pages:
        result = chromium.load(page.as_uri())
        check_page(result)
        charts += len(result.drawn)
    assert charts > 50


def test_site_works_through_calibra_serve(chromium: Chromium, hand_site: Path) -> None:
    from pipelines.serve import make_server

    server = make_server(hand_site / "organisatie", 0)  # one audience's site at a time
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    base = f"http://{host}:{port}"
    try:
        for path in ("index.html", "zeeland-demo/2024/fairness.html", "zeeland-demo/2024/budget.html"):
            result = chromium.load(f"{base}/{path}")
            check_page(result, allowed=(base, "data:", "blob:", "about:"))
            assert result.requests and all(r.startswith((base, "data:")) for r in result.requests)
    finally:
        server.shutdown()
        server.server_close()
