"""``pipeline-monitor notify`` end to end: gold rows in real Delta tables, a real SMTP server (STARTTLS + AUTH)
and a real webhook on 127.0.0.1, three runs of the same night.

The gold rows are written once per module with the Storage class (the job is not run): each Spark action
costs seconds, so the whole story (down channel, retry, rerun) is told with as few runs as it needs. The dry
runs come first in the file (pytest keeps that order): they see the night before anything was sent.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from alert_servers import SMTP_USER, free_port, parts, self_signed_certificate, smtp_server, webhook_server
from monitoring.alerts.notify import notify
from monitoring.cli import main
from monitoring.config import StorageConfig, load_config
from monitoring.storage import Storage
from monitoring.tables import ALERTS_SENT, FLOW_DAILY_STATUS, PIPELINE_DAILY_STATUS, TableSpec
from monitoring.vocabulary import STATUS_COLORS

SUN, MON, TUE = date(2025, 4, 6), date(2025, 4, 7), date(2025, 4, 8)
PASSWORD = "smtp-Pa55-word-7c41e2"
SIG = "sig=TOPSECRET-webhook-signature-93ab"
HOOK_PATH = "/workflows/41d3/triggers/manual/paths/invoke"
SCRIPT = "<script>alert(1)</script>"
EVALUATED = datetime(2025, 4, 8, 5, 0, tzinfo=UTC)


def gold_rows(spark, table: TableSpec, rows: list[dict[str, Any]]):
    """A DataFrame of ``table`` from partial rows: required columns get neutral defaults."""
    defaults = {
        "expected": True,
        "run_count": 1,
        "failed_run_count": 0,
        "consecutive_ko_days": 0,
        "pipelines_expected": 1,
        "pipelines_ok": 0,
        "pipelines_warning": 0,
        "pipelines_ko": 0,
        "evaluated_at": EVALUATED,
    }
    records = []
    for row in rows:
        full = {**defaults, "status_color": STATUS_COLORS[row["status"]], **row}
        records.append(tuple(full.get(f.name) for f in table.schema.fields))
    return spark.createDataFrame(records, table.schema)


def pipeline(when: date, flow: str, name: str, status: str, reason: str | None = None, ko: int = 0, **extra: Any):
    return {
        "business_date": when,
        "flow": flow,
        "pipeline_name": name,
        "status": status,
        "reason": reason,
        "consecutive_ko_days": ko,
        **extra,
    }


def flow(when: date, name: str, status: str, reason: str | None = None, ok: int = 0, warning: int = 0, ko: int = 0):
    return {
        "business_date": when,
        "flow": name,
        "status": status,
        "reason": reason,
        "pipelines_expected": ok + warning + ko,
        "pipelines_ok": ok,
        "pipelines_warning": warning,
        "pipelines_ko": ko,
        "consecutive_ko_days": 1 if status == "KO" else 0,
        "start_local": f"{when} 00:10:00",
        "end_local": f"{when} 01:45:00",
        "duration_hms": "01:35:00",
    }


PIPELINES = [
    pipeline(SUN, "Telephonie", "telephonie_master", "OK"),
    pipeline(SUN, "Sitecom", "sitecom_master", "KO", "FAILED", 1),
    pipeline(MON, "Telephonie", "telephonie_master", "OK"),
    pipeline(MON, "Telephonie", "telephonie_export", "OK"),
    pipeline(MON, "Sitecom", "sitecom_master", "KO", "FAILED", 2),
    pipeline(MON, "Sitecom", "sitecom_claims", "OK"),
    # Tuesday: a new KO with markup in its error, a new WARNING, a 3-day streak, a UserError, a pipeline in no flow.
    pipeline(
        TUE,
        "Telephonie",
        "telephonie_master",
        "KO",
        "FAILED",
        1,
        error_message=f"{SCRIPT} Operation on target Copy_CTI failed: timeout",
        failure_type="SystemError",
        execution_order=1,
    ),
    pipeline(TUE, "Telephonie", "telephonie_export", "WARNING", "LATE", detail="ended 01:45:00, deadline 01:30"),
    pipeline(TUE, "Sitecom", "sitecom_master", "KO", "FAILED", 3, error_message="Cluster terminated"),
    pipeline(TUE, "Sitecom", "sitecom_claims", "KO", "FAILED", 1, failure_type="UserError", error_message="bad param"),
    pipeline(TUE, "UNASSIGNED", "legacy_copy", "KO", "FAILED", 1, expected=False, error_message="<b>gone</b>"),
]
FLOWS = [
    flow(SUN, "Telephonie", "OK", ok=1),
    flow(SUN, "Sitecom", "KO", "FAILED", ko=1),
    flow(MON, "Telephonie", "OK", ok=2),
    flow(MON, "Sitecom", "WARNING", "FAILED", ok=1, ko=1),
    flow(TUE, "Telephonie", "WARNING", "FAILED,LATE", warning=1, ko=1),
    flow(TUE, "Sitecom", "KO", "FAILED", ko=2),
]


@pytest.fixture(scope="module")
def lakehouse(spark, tmp_path_factory) -> Path:
    lake = tmp_path_factory.mktemp("lake")
    storage = Storage(spark, StorageConfig(root=str(lake)))
    storage.replace_dates(gold_rows(spark, PIPELINE_DAILY_STATUS, PIPELINES), PIPELINE_DAILY_STATUS, SUN, TUE)
    storage.replace_dates(gold_rows(spark, FLOW_DAILY_STATUS, FLOWS), FLOW_DAILY_STATUS, SUN, TUE)
    return lake


def config_text(lake: Path, smtp_port: int, alerts: bool = True) -> str:
    text = f"""\
        timezone: Europe/Paris
        source: {{format: adf_diagnostic, path: ./logs}}
        storage: {{root: {lake}}}
        flows:
          - {{name: Telephonie, deadline: "01:30", pipelines: [telephonie_master, telephonie_export]}}
          - {{name: Sitecom, pipelines: [sitecom_master, sitecom_claims]}}
        """
    section = f"""\
        alerts:
          secret_scope: monitoring
          report_url: https://reports.example.com/pipeline-monitoring
          retry: {{attempts: 2, backoff_seconds: 0}}
          channels:
            email:
              host: 127.0.0.1
              port: {smtp_port}
              username: {SMTP_USER}
              password: {{secret: smtp-password, env: TEST_SMTP_PASSWORD}}
              sender: "Pipeline monitoring <{SMTP_USER}>"
              recipients: [oncall@example.com]
            teams:
              webhook: {{secret: teams-webhook, env: TEST_TEAMS_WEBHOOK}}
          triggers:
            digest: {{}}
            on_change: {{statuses: [KO, WARNING], ignore_failure_types: [UserError]}}
            streak: {{days: 3, escalate_to: [lead@example.com]}}
        """
    return textwrap.dedent(text) + (textwrap.dedent(section) if alerts else "")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def inbox(certificate) -> Iterator:
    with smtp_server(*certificate, password=PASSWORD) as server:
        yield server


def write_config(tmp_path: Path, lake: Path, smtp_port: int, alerts: bool = True) -> str:
    file = tmp_path / "monitoring.yml"
    file.write_text(config_text(lake, smtp_port, alerts), encoding="utf-8")
    return str(file)


def alerts_sent_versions(lake: Path) -> int:
    """Commits of the alerts_sent table, counted on disk (no Spark action): 0 when it does not exist."""
    return len(list((lake / ALERTS_SENT.name / "_delta_log").glob("*.json")))


def run_notify(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["notify", *argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- dry runs ---------------------------------------------------------------------------------------------


def test_dry_run_prints_the_digest_and_every_alert_and_writes_nothing(lakehouse, tmp_path, capsys):
    config = write_config(tmp_path, lakehouse, free_port())  # nothing listens there: nothing may be sent
    before = alerts_sent_versions(lakehouse)
    code, out, err = run_notify(capsys, "--config", config, "--date", str(TUE), "--dry-run")
    assert (code, err) == (0, "")
    assert alerts_sent_versions(lakehouse) == before, "a dry run writes nothing"
    assert "Dry run: 8 message(s) would be sent; nothing is sent or written." in out
    assert f"=== Pipeline monitoring {TUE}: 1 KO, 1 WARNING" in out
    for expected in (
        "=== would send [on_change] email to oncall@example.com: flow Telephonie",
        "=== would send [on_change] teams: flow UNASSIGNED",
        "=== would send [streak] email to oncall@example.com, lead@example.com: flow Sitecom",
        "=== would send the digest: [digest] teams",
        f"error: SystemError: {SCRIPT} Operation on target Copy_CTI failed: timeout",
    ):
        assert expected in out, expected
    assert "sitecom_claims" not in out.split("KO and WARNING pipelines:")[1].split("===")[1], "UserError: no alert"


def test_dry_run_without_an_alerts_section_uses_the_default_rules(lakehouse, tmp_path, capsys):
    config = write_config(tmp_path, lakehouse, 25, alerts=False)
    before = alerts_sent_versions(lakehouse)
    code, out, _ = run_notify(capsys, "--config", config, "--date", str(TUE), "--dry-run")
    assert code == 0
    assert "=== would send [on_change] no channel configured: flow Telephonie" in out
    assert "=== would send [on_change] no channel configured: flow Sitecom" in out  # UserErrors alert by default
    assert "=== would send [streak] no channel configured: flow Sitecom" in out
    code, out, _ = run_notify(capsys, "--config", config, "--date", str(TUE))
    assert (code, out.strip()) == (
        0,
        "No alerts configured (no `alerts:` section in the configuration): nothing to send.",
    )
    assert alerts_sent_versions(lakehouse) == before


# --- the night, three times -------------------------------------------------------------------------------


def test_each_alert_is_sent_once_and_a_channel_that_was_down_gets_it_next_run(
    spark, lakehouse, inbox, certificate, tmp_path, capsys, caplog, monkeypatch
):
    config = write_config(tmp_path, lakehouse, inbox.port)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # the default trust store, plus our throwaway CA
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    down = f"http://127.0.0.1:{free_port()}{HOOK_PATH}?api-version=1&{SIG}"
    monkeypatch.setenv("TEST_TEAMS_WEBHOOK", down)
    caplog.set_level(logging.DEBUG, logger="monitoring")

    # Run 1: e-mail works, Teams is down. E-mails go, Teams fails, the task fails (exit 1).
    code, out1, err1 = run_notify(capsys, "--config", config, "--date", str(TUE))
    assert code == 1, out1 + err1
    assert out1.count("sent   email") == 4 and out1.count("FAILED teams") == 4
    assert "Teams webhook unreachable: [Errno 111] Connection refused (attempts: 2)" in out1
    subjects = sorted(m.message["Subject"] for m in inbox.messages)
    assert subjects == [
        f"Pipeline monitoring {TUE}: 1 KO, 1 WARNING",
        f"[KO] Telephonie: 1 KO, 1 WARNING on {TUE}",
        f"[KO] UNASSIGNED: legacy_copy KO (FAILED) on {TUE}",
        f"[STREAK] Sitecom: sitecom_master KO 3 days in a row since {SUN}",
    ]
    assert all(m.authenticated and m.tls for m in inbox.messages)
    streak = next(m for m in inbox.messages if "STREAK" in m.message["Subject"])
    assert streak.rcpt_tos == ["oncall@example.com", "lead@example.com"]
    digest = next(m for m in inbox.messages if m.message["Subject"].startswith("Pipeline monitoring"))
    html = parts(digest.message)["text/html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html
    assert html.index("Sitecom</strong>") < html.index("Telephonie</strong>"), "KO flows first"

    # Run 2, same night: Teams is back (first answer: 429, Retry-After 1). Only the failed alerts go, to Teams.
    with webhook_server(HOOK_PATH) as hook:
        hook.answers.append((429, {"Retry-After": "1"}, "Too Many Requests"))
        live = f"{hook.url}?api-version=1&{SIG}"
        monkeypatch.setenv("TEST_TEAMS_WEBHOOK", live)
        sleeps: list[float] = []
        report = notify(spark, load_config(config), TUE, sleep=sleeps.append)
        assert (len(report.sent), report.failed, sleeps) == (4, (), [1.0])
        assert len(hook.posts) == 4 and len(inbox.messages) == 4, "e-mails are not sent twice"
        titles = sorted(card["body"][0]["inlines"][0]["text"] for card in hook.cards)
        assert titles == subjects
        assert all(post.query["sig"] == SIG.removeprefix("sig=") for post in hook.posts)

        # Run 3, same night: nothing new.
        code, out3, err3 = run_notify(capsys, "--config", config, "--date", str(TUE))
        assert (code, err3) == (0, "")
        assert "Nothing new to send." in out3
        assert "0 message(s) sent, 0 failed, 10 alert(s) already sent by an earlier run." in out3
        assert (len(hook.posts), len(inbox.messages)) == (4, 4)

    rows = spark.read.format("delta").load(str(lakehouse / ALERTS_SENT.name)).collect()
    by_channel = {(r.channel, r.trigger, r.event, r.subject): r for r in rows}
    assert len(rows) == 10 and {r.status for r in rows} == {"sent"}
    assert set(by_channel) >= {
        ("email", "digest", "DIGEST", "*"),
        ("email", "on_change", "KO", "telephonie_master"),
        ("email", "on_change", "WARNING", "telephonie_export"),
        ("teams", "streak", "STREAK", "sitecom_master"),
        ("teams", "on_change", "KO", "legacy_copy"),
    }
    teams_digest, teams_ko = (
        by_channel[("teams", "digest", "DIGEST", "*")],
        by_channel[("teams", "on_change", "KO", "telephonie_master")],
    )
    assert (teams_digest.attempts, teams_ko.attempts) == (2 + 2, 2 + 1), "down twice, then a 429 for the first"
    assert (teams_ko.last_error, teams_ko.flow, teams_ko.title) == (None, "Telephonie", subjects[1])
    assert by_channel[("email", "streak", "STREAK", "sitecom_master")].recipients == (
        "oncall@example.com, lead@example.com"
    )

    # The secrets appear nowhere: not in output, logs, the table, or a delivery error.
    visible = "\n".join([out1, err1, out3, err3, caplog.text, *(str(r.asDict()) for r in rows)])
    visible += "\n".join(d.error or "" for d in report.deliveries)
    for secret in (PASSWORD, SIG, down, live, HOOK_PATH):
        assert secret not in visible, secret
