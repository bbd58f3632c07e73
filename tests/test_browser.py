"""The static site in a real headless browser (Debian's chromium driven by Playwright), JavaScript off.

Skipped when no browser is installed, unless POLICYKB_REQUIRE_BROWSER=1 (CI), where a missing browser
fails with the command that installs it. POLICYKB_UPDATE_DOCS=1 writes the screenshots and the chart
under docs/ (docs/ranking.png, docs/zone-fz-b.png, docs/ranking-chart.png).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from policykb.cli import main

    out = tmp_path_factory.mktemp("site")
    assert main(["report", "site", str(out), "--scheme", "fujian-2021", "--year", "2021"]) == 0
    return out


@pytest.fixture
def page(_browser):
    """A page with JavaScript off in the one Chromium of this test process (conftest)."""
    context = _browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def _keep(path: Path, name: str) -> None:
    if os.environ.get("POLICYKB_UPDATE_DOCS") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(path, DOCS / name)


def test_the_ranking_page_lists_the_zones_and_links_to_their_forms(site, page, tmp_path):
    page.goto((site / "index.html").as_uri())
    rows = page.locator("#ranking tbody tr")
    assert rows.count() == 21
    assert rows.nth(0).locator("td").all_inner_texts()[:3] == ["1", "样例·厦门丙开发区", "82"]
    assert page.locator("#apart tbody tr").count() == 3
    assert "备注: 自贸试验区范围内开发区不作为评估奖励对象。" in page.locator("#apart").inner_text()
    shot = tmp_path / "ranking.png"
    page.screenshot(path=str(shot), full_page=True)
    _keep(shot, "ranking.png")
    _keep(site / "charts/ranking.png", "ranking-chart.png")
    page.get_by_role("link", name="样例·福州乙开发区").first.click()
    assert page.url.endswith("/zones/fz-b.html")
    assert page.locator("#total").inner_text() == "59.6"


def test_a_zone_page_shows_the_form_the_trace_and_links_to_measures(site, page, tmp_path):
    page.goto((site / "zones/fz-b.html").as_uri())
    assert page.locator("h1").inner_text() == "全省开发区建设创新推广先行区评估细则（暂行）"
    b4 = page.locator("#form tr#B4 td")
    assert b4.all_inner_texts()[-4:-1] == ["12", "14", "12"]
    assert page.locator("#form tr.differs").count() == 5  # B4, B5, B9, B11, B17
    assert "computed by policykb" in page.locator("#digests").inner_text()
    shot = tmp_path / "zone.png"
    page.screenshot(path=str(shot))
    _keep(shot, "zone-fz-b.png")
    page.get_by_role("link", name="C01").click()
    assert page.url.endswith("/measures/c01.html")
    replicators = page.locator("#replicators tbody tr")
    assert replicators.count() >= 1 and "样例·福州乙开发区" in page.locator("#replicators").inner_text()
    page.get_by_role("link", name="样例·福州乙开发区").first.click()
    assert page.url.endswith("/zones/fz-b.html")


def test_the_cjk_font_of_the_site_loads(site, _browser):
    context = _browser.new_context(java_script_enabled=True)
    page = context.new_page()
    page.goto((site / "index.html").as_uri())
    page.evaluate("document.fonts.ready")
    # the @font-face of the stylesheet resolves to the site's own subset (no system CJK font is assumed)
    loaded = page.evaluate("Promise.all([document.fonts.load('16px \"PolicyKB CJK\"', '样例')]).then(r => r[0].length)")
    assert loaded == 1
    context.close()
