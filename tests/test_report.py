"""The HTML report rendered from hand-built rows: no Spark, no browser (see test_report_browser.py for both)."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import plotly.graph_objects as go
import pytest

from monitoring.report import FlowDay, KpiRow, PipelineDay, ReportData, render_report, write_report
from monitoring.report.page import APP_JS, csp_hash, default_kpi_period
from monitoring.report.text import age_text, clock, hms, script_json
from monitoring.vocabulary import KO, OK, STATUS_COLORS, WARNING

DAY = date(2026, 3, 18)
EVALUATED = datetime(2026, 3, 18, 5, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 18, 6, 30, tzinfo=UTC)
HOSTILE_PIPELINE = '<script>alert("pipeline")</script>'
HOSTILE_ERROR = "Copy failed: </script><img src=x onerror=alert(1)> & more"


def flow_day(flow: str, day: date, status: str = OK, **values: object) -> FlowDay:
    row = FlowDay(
        business_date=day,
        flow=flow,
        status=status,
        reason=None,
        detail="all pipelines OK",
        pipelines_expected=2,
        pipelines_ok=2,
        pipelines_warning=0,
        pipelines_ko=0,
        start_local=f"{day} 00:10:00",
        end_local=f"{day} 00:40:05",
        duration_seconds=1805,
        duration_hms="00:30:05",
        consecutive_ko_days=0,
        evaluated_at=EVALUATED,
    )
    return replace(row, **values)


def pipeline_day(flow: str, name: str, order: int, day: date, status: str = OK, **values: object) -> PipelineDay:
    row = PipelineDay(
        business_date=day,
        flow=flow,
        pipeline_name=name,
        execution_order=order,
        expected=True,
        status=status,
        reason=None,
        detail="succeeded, ended 00:20:00",
        run_count=1,
        failed_run_count=0,
        last_run_status="Succeeded",
        start_local=f"{day} 00:10:00",
        end_local=f"{day} 00:20:00",
        duration_seconds=600,
        duration_hms="00:10:00",
        error_message=None,
        failure_type=None,
        baseline_duration_seconds=590.0,
        duration_ratio=1.02,
        consecutive_ko_days=0,
        evaluated_at=EVALUATED,
    )
    return replace(row, **values)


SITECOM = (("sitecom_b_first", 1), ("sitecom_a_second", 2))


def sample_data(evaluated_at: datetime = EVALUATED, kpis: bool = False) -> ReportData:
    """Three days. Telephonie (00:10) runs before Sitecom (03:00) though it sorts after it; KO two days running."""
    days = [DAY - timedelta(days=2), DAY - timedelta(days=1), DAY]
    flows = [
        flow_day("Telephonie", days[0]),
        flow_day("Telephonie", days[1], KO, reason="FAILED", consecutive_ko_days=1),
        flow_day(
            "Telephonie",
            DAY,
            KO,
            reason="FAILED",
            detail="2 of 2 KO",
            pipelines_ok=0,
            pipelines_ko=2,
            consecutive_ko_days=2,
            duration_hms="00:03:10",
        ),
        *(flow_day("Sitecom", d, start_local=f"{d} 03:00:00", end_local=f"{d} 04:00:00") for d in days[:2]),
        flow_day(
            "Sitecom",
            DAY,
            WARNING,
            reason="LATE,RETRIED",
            detail="2 warning",
            pipelines_ok=0,
            pipelines_warning=2,
            start_local=f"{DAY} 03:00:00",
            end_local=f"{DAY + timedelta(days=1)} 00:15:00",
        ),
    ]
    pipelines = [
        *(pipeline_day("Telephonie", "telephonie_master", 2, d) for d in days[:1]),
        *(pipeline_day("Telephonie", HOSTILE_PIPELINE, 10, d) for d in days[:1]),
        pipeline_day("Telephonie", "telephonie_master", 2, days[1], KO, reason="FAILED", consecutive_ko_days=1),
        pipeline_day("Telephonie", HOSTILE_PIPELINE, 10, days[1], KO, reason="FAILED", consecutive_ko_days=1),
        pipeline_day(
            "Telephonie",
            "telephonie_master",
            2,
            DAY,
            KO,
            reason="FAILED",
            detail="failed at 00:13:10 (UserError)",
            error_message=HOSTILE_ERROR,
            failure_type="UserError",
            consecutive_ko_days=2,
        ),
        pipeline_day("Telephonie", HOSTILE_PIPELINE, 10, DAY, KO, reason="MISSING", consecutive_ko_days=2),
        *(pipeline_day("Sitecom", name, order, d) for d in days[:2] for name, order in SITECOM),
        pipeline_day("Sitecom", "sitecom_b_first", 1, DAY, WARNING, reason="LATE"),
        pipeline_day("Sitecom", "sitecom_a_second", 2, DAY, WARNING, reason="RETRIED"),
        pipeline_day("UNASSIGNED", "adhoc_export", None, days[1], expected=False),
    ]
    flow_kpis = [kpi_row(period, flow) for period in ("week", "month") for flow in ("Telephonie", "Sitecom")]
    pipeline_kpis = [
        kpi_row(period, "Telephonie", name)
        for period in ("week", "month")
        for name in ("telephonie_master", HOSTILE_PIPELINE)
    ]
    if not kpis:
        return ReportData(DAY, 3, evaluated_at, tuple(flows), tuple(pipelines))
    return ReportData(DAY, 3, evaluated_at, tuple(flows), tuple(pipelines), tuple(flow_kpis), tuple(pipeline_kpis))


def kpi_row(granularity: str, flow: str, pipeline: str | None = None) -> KpiRow:
    start = DAY - timedelta(days=DAY.weekday()) if granularity == "week" else DAY.replace(day=1)
    return KpiRow(
        granularity, start, DAY, flow, pipeline, 3, 1, 0, 2, 1 / 3, 1 / 3, 900.0, 880.0, 1000.0, 2, None, None, None
    )


# --- a small DOM, enough to count and read elements ---------------------------------------------------


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent, self.children, self.text = tag, attrs, parent, [], ""

    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def all(self) -> list[Node]:
        found = []
        for child in self.children:
            found += [child, *child.all()]
        return found

    def find(self, css_class: str | None = None, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.all()
            if (css_class is None or css_class in n.classes())
            and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def full_text(self) -> str:
        return self.text + "".join(child.full_text() for child in self.children)


VOID = {"meta", "link", "input", "col", "br", "img", "hr"}


class Tree(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("root", {}, None)
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag: str) -> None:
        node = self.current
        while node.parent is not None and node.tag != tag:
            node = node.parent
        if node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.text += data


@pytest.fixture(scope="module")
def page() -> str:
    return render_report(sample_data(), NOW)


@pytest.fixture(scope="module")
def dom(page: str) -> Node:
    return Tree(page).root


def shown_day(dom: Node, kind: str) -> Node:
    (section,) = dom.find(kind, data_day=DAY.isoformat())
    return section


# --- escaping ---------------------------------------------------------------------------------------


def test_text_from_logs_is_escaped_in_the_markup(page, dom):
    assert HOSTILE_PIPELINE not in page
    assert "<img src=x" not in page
    assert html_escaped(HOSTILE_PIPELINE) in page
    assert html_escaped("</script><img src=x onerror=alert(1)>") in page
    # Parsed back, the names are text again, and the page has only its own three scripts and no image.
    assert len(dom.find(None)) > 100
    assert [n.attrs.get("type") for n in dom.all() if n.tag == "script"] == ["application/json", None, None]
    assert not [n for n in dom.all() if n.tag == "img"]
    names = [cell.full_text() for cell in shown_day(dom, "day-pipelines").find("pipeline") if cell.tag == "td"]
    assert HOSTILE_PIPELINE in names


def html_escaped(text: str) -> str:
    """As Jinja2's autoescape writes it (MarkupSafe: &amp; &lt; &gt; &#34; &#39;)."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;").replace("'", "&#39;")
    )


def test_embedded_json_cannot_close_its_script_block(page):
    block = re.search(r'<script type="application/json" id="report-charts">(.*?)</script>', page, re.DOTALL).group(1)
    assert not set("<>&") & set(block)
    figures = json.loads(block)
    assert HOSTILE_PIPELINE in figures["pipelines"]  # the raw name survives as the chart's key


def test_script_json_escapes_markup_characters():
    text = script_json({"a": "</script><!-- & \u2028"})
    assert text == '{"a":"\\u003c/script\\u003e\\u003c!-- \\u0026 \\u2028"}'
    assert json.loads(text) == {"a": "</script><!-- & \u2028"}


def test_only_the_pages_own_scripts_may_run(page):
    (policy,) = [html.unescape(p) for p in re.findall(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)]
    assert "default-src 'none'" in policy
    assert csp_hash(APP_JS) in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


# --- header and stale banner ----------------------------------------------------------------------------


def test_header_shows_the_business_date_and_the_evaluation(dom):
    assert dom.find(None, id="shown-date")[0].full_text() == "Wednesday 18 March 2026"
    assert dom.find(None, id="evaluated-at")[0].full_text() == "2026-03-18 05:00 UTC (1 h 30 min ago)"
    assert not dom.find(None, id="stale-banner")


def test_stale_banner_when_the_newest_evaluation_is_over_a_day_old():
    stale = render_report(sample_data(evaluated_at=NOW - timedelta(days=3)), NOW)
    (banner,) = Tree(stale).root.find(None, id="stale-banner")
    assert "Stale data" in banner.full_text()
    assert "3 days ago" in banner.full_text()
    fresh = render_report(sample_data(evaluated_at=NOW - timedelta(hours=23)), NOW)
    assert 'id="stale-banner"' not in fresh


def test_now_must_be_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        render_report(sample_data(), datetime(2026, 3, 18, 6, 30))


# --- cards, pipelines, ordering ----------------------------------------------------------------------------


def test_one_card_per_flow_of_the_shown_date_in_night_order(dom):
    cards = shown_day(dom, "day-overview").find("flow-card")
    assert [c.attrs["data-flow"] for c in cards] == ["Telephonie", "Sitecom"]  # 00:10 before 03:00
    telephonie, sitecom = cards
    assert f"--status:{STATUS_COLORS[KO]}" in telephonie.attrs["style"]
    assert f"--status:{STATUS_COLORS[WARNING]}" in sitecom.attrs["style"]
    assert [n.full_text() for n in telephonie.find("start") + telephonie.find("end") + telephonie.find("duration")] == [
        "00:10:00",
        "00:40:05",
        "00:03:10",
    ]
    assert telephonie.find("streak")[0].full_text() == "KO 2 days in a row"
    assert "the final run failed" in telephonie.find("reasons")[0].full_text()
    assert sitecom.find("end")[0].full_text() == "00:15:00 +1d"  # ended after midnight
    reasons = sitecom.find("reasons")[0].full_text()
    assert "ended after the deadline" in reasons and "earlier run that day failed" in reasons


def test_each_date_is_pre_rendered_and_only_the_shown_one_is_visible(dom):
    sections = dom.find("day-overview")
    assert [s.attrs["data-day"] for s in sections] == ["2026-03-18", "2026-03-17", "2026-03-16"]
    assert ["hidden" in s.attrs for s in sections] == [False, True, True]
    options = [n for n in dom.find(None, id="date-picker")[0].children if n.tag == "option"]
    assert [(o.attrs["value"], "selected" in o.attrs) for o in options] == [
        ("2026-03-18", True),
        ("2026-03-17", False),
        ("2026-03-16", False),
    ]
    assert options[0].full_text() == "Wed 18 Mar 2026 — 1 KO · 1 WARNING"


def test_pipelines_in_execution_order_within_flows_in_night_order(dom):
    rows = shown_day(dom, "day-pipelines").find("pipeline-row")
    assert [r.attrs["data-pipeline"] for r in rows] == [
        "telephonie_master",  # order 2 before order 10: numbers, not text
        HOSTILE_PIPELINE,
        "sitecom_b_first",
        "sitecom_a_second",
    ]
    first = rows[0]
    cells = [c.full_text().strip() for c in first.children if c.tag == "td"]
    assert cells[:9] == [
        "2",
        "telephonie_master",
        "KO",
        "FAILED",
        "00:10:00",
        "00:20:00",
        "00:10:00",
        "00:09:50 ×1.0",
        "1",
    ]
    assert HOSTILE_ERROR in first.find("error-text")[0].full_text()


def test_needs_attention_lists_ko_before_warning(dom):
    (attention,) = shown_day(dom, "day-overview").find("attention")
    names = [n.full_text() for n in attention.find("name")]
    assert names == ["telephonie_master", HOSTILE_PIPELINE, "sitecom_b_first", "sitecom_a_second"]


def test_pipelines_in_no_flow_are_listed_apart_without_a_card(dom):
    (yesterday,) = dom.find("day-pipelines", data_day="2026-03-17")
    blocks = [b.attrs["data-flow"] for b in yesterday.find("flow-block")]
    assert blocks == ["Telephonie", "Sitecom", "UNASSIGNED"]
    assert "Not in any flow" in yesterday.find("flow-block")[-1].full_text()
    (overview,) = dom.find("day-overview", data_day="2026-03-17")
    assert [c.attrs["data-flow"] for c in overview.find("flow-card")] == ["Telephonie", "Sitecom"]


# --- heatmap ------------------------------------------------------------------------------------------------


def test_heatmap_has_a_cell_per_row_and_day_coloured_by_status(dom):
    (heatmap,) = dom.find(None, id="heatmap")
    cells = heatmap.find("hm-cell")
    rows = (1 + 2) + (1 + 2) + (1 + 1)  # Telephonie, Sitecom and UNASSIGNED: a head row and their pipelines
    assert len(cells) == rows * 3
    coloured = [c for c in cells if "data-status" in c.attrs]
    data = sample_data()
    assert len(coloured) == len(data.flows) + len(data.pipelines)
    for cell in coloured:
        assert f"background:{STATUS_COLORS[cell.attrs['data-status']]}" in cell.attrs["style"]
    streak = [c for c in coloured if c.attrs["data-status"] == KO and c.attrs["data-date"] == "2026-03-18"]
    assert {c.full_text() for c in streak} == {"2"}  # the KO streak, readable without colour
    assert "KO 2 day(s) in a row" in streak[0].attrs["title"]


# --- charts -------------------------------------------------------------------------------------------------


def chart_json(page: str) -> dict:
    return json.loads(re.search(r'id="report-charts">(.*?)</script>', page, re.DOTALL).group(1))


def test_empty_kpi_tables_show_no_data_yet(page, dom):
    figures = chart_json(page)
    assert figures["availability"] is None and figures["duration"] is None
    for chart_id in ("chart-availability", "chart-duration"):
        (chart,) = dom.find(None, id=chart_id)
        assert chart.attrs.get("data-empty") == "true"
        assert "No data yet" in chart.full_text()
    assert "No data yet" in dom.find(None, id="pipeline-kpi-empty")[0].full_text()


def test_kpi_charts_have_one_trace_per_flow_and_are_valid_plotly():
    page = render_report(sample_data(kpis=True), NOW)
    figures = chart_json(page)
    assert [t["meta"] for t in figures["availability"]["data"]] == ["Telephonie", "Sitecom"]
    assert figures["availability"]["data"][0]["y"] == [33.33]
    assert [t["type"] for t in figures["duration"]["data"]] == ["bar", "bar"]
    for figure in (figures["availability"], figures["duration"], *figures["pipelines"].values()):
        go.Figure(figure)  # raises on any property Plotly does not know


def test_pipeline_kpis_open_on_the_newest_month_with_a_week_of_days():
    dom = Tree(render_report(sample_data(kpis=True), NOW)).root
    (period,) = dom.find(None, id="kpi-period")
    options = [(o.attrs["value"], o.full_text(), "selected" in o.attrs) for o in period.all() if o.tag == "option"]
    assert options == [("month:2026-03-01", "March 2026", True), ("week:2026-03-16", "week of 16 Mar 2026", False)]
    rows = dom.find(None, id="pipeline-kpis")[0].find("js-filterable")
    shown = [r.find("pipeline")[0].full_text() for r in rows if "hidden" not in r.attrs]
    assert shown == ["telephonie_master", HOSTILE_PIPELINE]  # the flow's execution order
    march, february = (
        kpi_row("month", "Telephonie"),
        replace(kpi_row("month", "Telephonie"), period_start=date(2026, 2, 1)),
    )
    assert default_kpi_period([march, february], date(2026, 3, 6)) == "month:2026-02-01"
    assert default_kpi_period([march, february], date(2026, 3, 7)) == "month:2026-03-01"


def test_pipeline_chart_shows_each_day_against_its_baseline(page):
    figure = chart_json(page)["pipelines"]["telephonie_master"]
    bars, baseline = figure["data"]
    assert bars["x"] == ["2026-03-16", "2026-03-17", "2026-03-18"]
    assert bars["y"] == [10.0, 10.0, 10.0]
    assert bars["marker"]["color"] == [STATUS_COLORS[OK], STATUS_COLORS[KO], STATUS_COLORS[KO]]
    assert baseline["y"] == [9.83, 9.83, 9.83]


def test_the_pipeline_chart_opens_on_the_worst_pipeline_of_the_day(dom):
    (picker,) = dom.find(None, id="pipeline-picker")
    selected = [n.attrs["value"] for n in picker.all() if n.tag == "option" and "selected" in n.attrs]
    assert selected == ["telephonie_master"]


# --- helpers and writing ----------------------------------------------------------------------------------


def test_time_helpers():
    assert hms(None) == "—"
    assert hms(90061) == "25:01:01"
    assert clock("2026-03-18 00:10:25", DAY) == "00:10:25"
    assert clock("2026-03-19 00:10:25", DAY) == "00:10:25 +1d"
    assert clock(None, DAY) == "—"
    assert [age_text(timedelta(seconds=s)) for s in (-60, 30, 600, 5 * 3600 + 180, 3 * 86400)] == [
        "just now",  # a minute of clock skew between the job's machine and this one
        "just now",
        "10 min ago",
        "5 h 03 min ago",
        "3 days ago",
    ]
    assert age_text(timedelta(hours=-2)) == "in the future"


def test_write_report_creates_the_folder(tmp_path: Path):
    out = write_report("<html></html>", tmp_path / "a" / "b" / "report.html")
    assert out.read_text(encoding="utf-8") == "<html></html>"
    assert out.is_absolute()


def test_a_window_without_rows_still_renders():
    empty = ReportData(DAY, 7, None, (), ())
    page = render_report(empty, NOW)
    assert "No evaluation found" in page
    assert page.count('class="day-overview"') == 7


def test_report_command_needs_a_place_to_read(capsys, tmp_path: Path):
    from monitoring.cli import main

    out = str(tmp_path / "report.html")
    assert main(["report", "--out", out]) == 2
    assert "give --lakehouse DIR, --catalog C --schema S, or --config FILE" in capsys.readouterr().err
    assert main(["report", "--lakehouse", str(tmp_path), "--catalog", "main", "--out", out]) == 2
    assert main(["report", "--lakehouse", str(tmp_path), "--days", "0", "--out", out]) == 2
    assert not (tmp_path / "report.html").exists()
