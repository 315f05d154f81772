"""The report of the demo's real gold tables, written by `pipeline-monitor report` and opened in headless Chromium.

Needs Debian's chromium at /usr/bin/chromium (`make test` installs it where it can: as root with apt-get, as in CI);
Playwright drives it, no browser download. Without it these tests skip, saying how to get it, unless
REQUIRE_BROWSER_TESTS=1 (CI sets it) turns that skip into a failure. PIPELINE_MONITOR_CHROMIUM names another binary.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from monitoring import report
from monitoring.cli import main
from monitoring.nightly import local_today
from monitoring.report import ReportData, load_report_data, render_report, write_report
from monitoring.vocabulary import KO, OK, STATUS_COLORS, WARNING
from test_report import HOSTILE_ERROR, HOSTILE_PIPELINE, NOW, sample_data

CHROMIUM = Path(os.environ.get("PIPELINE_MONITOR_CHROMIUM", "/usr/bin/chromium"))
MISSING = f"{CHROMIUM} is missing: `sudo apt-get install chromium` (or `make test` as root) runs the browser tests"
DESKTOP = {"width": 1440, "height": 900}
DAYS = 21  # the whole demo history

pytestmark = pytest.mark.slow


def rgb(hex_color: str) -> str:
    """'#C62828' -> 'rgb(198, 40, 40)', as getComputedStyle reports colours."""
    red, green, blue = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


@pytest.fixture(scope="module")
def demo_report(demo_lakehouse, tmp_path_factory) -> tuple[Path, ReportData]:
    """The HTML the CLI writes from the demo's gold tables, and the rows it loaded for it.

    A spy keeps the rows `load_report_data` returns to the CLI: reading them again would cost seconds of Spark.
    """
    lakehouse = demo_lakehouse.lakehouse
    out = tmp_path_factory.mktemp("report") / "report.html"
    loaded: list[ReportData] = []

    def spy(*args: object, **kwargs: object) -> ReportData:
        loaded.append(load_report_data(*args, **kwargs))
        return loaded[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report, "load_report_data", spy)
        assert main(["report", "--lakehouse", str(lakehouse), "--days", str(DAYS), "--out", str(out)]) == 0
    (data,) = loaded
    return out, data


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{MISSING} (REQUIRE_BROWSER_TESTS=1: CI never skips them)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        yield browser
        browser.close()


class Console:
    """Every console error and uncaught exception of a page, and any dialog (alert) it tries to open."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))


def open_report(browser: Browser, path: Path) -> tuple[Page, Console]:
    page = browser.new_page(viewport=DESKTOP)
    console = Console(page)
    page.goto(path.as_uri())
    page.wait_for_selector("html[data-ready=true]", timeout=15_000)
    return page, console


def visible_count(page: Page, selector: str) -> int:
    return page.eval_on_selector_all(selector, "els => els.filter(e => e.offsetParent !== null).length")


def test_load_report_data_keeps_the_window(demo_lakehouse, demo_report):
    config, now = demo_lakehouse.config, demo_lakehouse.now
    _, data = demo_report
    today = local_today(config, now)
    assert data.business_date == today
    assert {r.business_date for r in data.flows} == {today - timedelta(days=d) for d in range(DAYS)}
    assert {r.flow for r in data.flows} == {flow.name for flow in config.flows}
    assert data.evaluated_at is not None and data.evaluated_at.tzinfo is not None


def in_chromium(tests: type) -> type:
    """Skips the class's tests where Chromium is missing (unless REQUIRE_BROWSER_TESTS=1), before any fixture is set
    up: a machine without the browser does not build the demo lakehouse for them. A skip mark on a class, not
    skipif, so pytest folds the skips into one summary line."""
    missing = not CHROMIUM.exists() and os.environ.get("REQUIRE_BROWSER_TESTS") != "1"
    return pytest.mark.skip(reason=MISSING)(tests) if missing else tests


@in_chromium
class TestInChromium:
    def test_the_demo_report_renders_cards_heatmap_and_charts(self, browser, demo_report, tmp_path):
        path, data = demo_report
        page, console = open_report(browser, path)
        shown = [r for r in data.flows if r.business_date == data.business_date]

        cards = page.locator(f'.day-overview[data-day="{data.business_date}"] .flow-card')
        assert cards.count() == len(shown) == visible_count(page, ".flow-card")
        colours = cards.evaluate_all("cs => cs.map(c => [c.dataset.flow, getComputedStyle(c).borderTopColor])")
        assert sorted(map(tuple, colours)) == sorted((r.flow, rgb(STATUS_COLORS[r.status])) for r in shown)

        cells = page.locator("#heatmap .hm-cell[data-status]")
        assert cells.count() == len(data.flows) + len(data.pipelines)
        painted = cells.evaluate_all("cs => cs.map(c => [c.dataset.status, getComputedStyle(c).backgroundColor])")
        assert {(status, colour) for status, colour in painted} <= {(s, rgb(c)) for s, c in STATUS_COLORS.items()}
        assert {status for status, _ in painted} >= {OK, WARNING, KO}  # the demo plants all of them

        # The pipeline chart has one bar per day; the KPI charts have a line per flow or say there is no data yet.
        bars = page.locator("#chart-pipeline .barlayer .point")
        assert bars.count() == DAYS
        weekly = {k.flow for k in data.flow_kpis if k.granularity == "week"}
        if weekly:
            assert page.locator("#chart-availability .barlayer .trace").count() == len(weekly)
        else:
            assert "No data yet" in page.locator("#chart-availability").inner_text()

        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        assert console.errors == []

    def test_filters_hide_what_does_not_match(self, browser, demo_report):
        path, data = demo_report
        page, console = open_report(browser, path)
        today = [r for r in data.pipelines if r.business_date == data.business_date]
        rows = f'.day-pipelines[data-day="{data.business_date}"] tr.pipeline-row'
        assert visible_count(page, rows) == len(today)

        page.fill("#text-filter", "solaris_master")
        assert visible_count(page, rows) == 1
        assert visible_count(page, "#heatmap .hm-pipeline") == 1  # rows are display:contents: count their labels
        assert visible_count(page, ".flow-card") == 1  # Solaris: a member matches

        page.click("#reset-filters")
        page.select_option("#flow-filter", "Telephonie")
        assert visible_count(page, rows) == sum(r.flow == "Telephonie" for r in today)
        assert page.locator(".flow-card:visible").evaluate_all("cs => cs.map(c => c.dataset.flow)") == ["Telephonie"]

        page.click("#reset-filters")
        page.click("label.chip:has(input[value=OK])")  # hide the OK ones
        assert visible_count(page, rows) == sum(r.status != OK for r in today)

        page.click("#reset-filters")
        if data.pipeline_kpis:  # the KPI table switches period
            oldest = page.eval_on_selector_all("#kpi-period option", "options => options.map(o => o.value)")[-1]
            page.select_option("#kpi-period", oldest)
            shown = page.eval_on_selector_all(
                "#pipeline-kpis tbody tr", "rs => rs.filter(r => !r.hidden).map(r => r.dataset.period)"
            )
            assert shown and set(shown) == {oldest}
        assert console.errors == []

    def test_the_date_picker_and_the_heatmap_switch_the_shown_date(self, browser, demo_report):
        path, data = demo_report
        page, console = open_report(browser, path)
        worst = next(r for r in sorted(data.flows, key=lambda r: r.business_date, reverse=True) if r.status == KO)
        day = worst.business_date.isoformat()

        page.select_option("#date-picker", day)
        card = page.locator(f'.flow-card:visible[data-flow="{worst.flow}"]')
        assert card.get_attribute("data-status") == KO
        assert page.locator(".day-overview:visible").get_attribute("data-day") == day
        assert page.locator(".day-pipelines:visible").get_attribute("data-day") == day
        assert page.locator("#shown-date").inner_text().endswith(str(worst.business_date.year))
        assert page.locator("#heatmap .hm-date.is-selected").get_attribute("data-date") == day

        page.click("#prev-day")
        before = (worst.business_date - timedelta(days=1)).isoformat()
        assert page.locator(".day-overview:visible").get_attribute("data-day") == before

        newest = data.business_date.isoformat()
        page.locator(f'#heatmap .hm-cell[data-date="{newest}"]').first.click()
        assert page.input_value("#date-picker") == newest
        assert page.locator(".day-overview:visible").get_attribute("data-day") == newest
        assert console.errors == []

    def test_hostile_names_and_errors_stay_text(self, browser, tmp_path):
        path = write_report(render_report(sample_data(), NOW), tmp_path / "hostile.html")
        page, console = open_report(browser, path)
        names = page.locator(".day-pipelines:visible tr.pipeline-row td.pipeline").all_inner_texts()
        assert HOSTILE_PIPELINE in names
        assert HOSTILE_ERROR in page.locator(".day-pipelines:visible .error-text").first.inner_text()
        assert page.locator("img").count() == 0
        page.select_option("#pipeline-picker", HOSTILE_PIPELINE)  # its name goes through Plotly too
        assert console.dialogs == [] and console.errors == []


def test_report_of_an_empty_lakehouse_says_to_run_the_job_first(spark, capsys, tmp_path):
    assert main(["report", "--lakehouse", str(tmp_path / "lake"), "--out", str(tmp_path / "r.html")]) == 2
    assert "no business date has been evaluated yet" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()
