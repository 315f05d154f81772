"""``pipeline-monitor notify``: read the night's gold rows, decide the alerts, deliver them, record them.

The only module of the alerts that touches Spark: one collect of its inputs (the two gold tables over the
dates checked plus ``HISTORY_DAYS`` before them, and ``alerts_sent`` over the dates checked; a few hundred
rows), then one MERGE into ``alerts_sent`` with the outcome of every delivery.

Guarantees (see docs/alerts.md):

- **never twice**: an alert whose ``alerts_sent`` row says ``sent`` is not planned again, so a rerun of the
  same night sends nothing new. The row is written after sending, in one MERGE: only a process killed
  between the two could send an alert again.
- **never lost**: a failed delivery is recorded ``failed``; the next run plans it again (the business date
  is still within ``alerts.lookback_days``) and retries it, while the situation still calls for it.
- a broken channel doesn't stop the others, and the report says what failed (the CLI then exits 1).
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import reduce
from operator import and_
from zoneinfo import ZoneInfo

from pyspark.sql import Column, Row, SparkSession
from pyspark.sql import functions as F

from monitoring.alerts.channels import Sleep, deliver, open_channels
from monitoring.alerts.config import AlertsConfig, default_alerts
from monitoring.alerts.messages import plain_text
from monitoring.alerts.plan import (
    DIGEST,
    FAILED,
    HISTORY_DAYS,
    NO_ALERTS,
    SENT,
    AlertKey,
    Message,
    Plan,
    SentRecord,
    digest_title,
    plan_alerts,
)
from monitoring.alerts.secrets import Secret, SecretSource, mask, secret_source
from monitoring.config import Config
from monitoring.factory.drift import DriftFinding, drift_of_date
from monitoring.gold import FlowDay, PipelineDay, record_columns, record_of
from monitoring.spark import on_databricks
from monitoring.storage import Storage
from monitoring.tables import ALERTS_SENT, CONFIG_DRIFT, FLOW_DAILY_STATUS, PIPELINE_DAILY_STATUS

log = logging.getLogger(__name__)

KEY_COLUMNS: tuple[str, ...] = ("business_date", "trigger", "event", "subject_kind", "subject", "channel")


@dataclass(frozen=True)
class Delivery:
    message: Message
    sent: bool
    attempts: int
    error: str | None = None  # masked


@dataclass(frozen=True)
class NotifyReport:
    plan: Plan | None  # None: no `alerts:` section and not a dry run, so nothing was read
    dry_run: bool
    deliveries: tuple[Delivery, ...] = ()

    @property
    def failed(self) -> tuple[Delivery, ...]:
        return tuple(d for d in self.deliveries if not d.sent)

    @property
    def sent(self) -> tuple[Delivery, ...]:
        return tuple(d for d in self.deliveries if d.sent)


# --- the Spark edge --------------------------------------------------------------------------------


def read_inputs(
    storage: Storage, history_from: date, first: date, last: date
) -> tuple[list[PipelineDay], list[FlowDay], list[SentRecord]]:
    """Gold rows of [history_from, last] and alerts_sent rows of [first, last], in one Spark job.

    The three reads are unioned by name (missing columns are null) and collected once: each Spark action
    costs seconds of planning, and these rows are few. Statuses are read, never recomputed.
    """

    def between(start: date) -> Column:
        return F.col("business_date").between(F.lit(start), F.lit(last))

    pipelines = storage.read(PIPELINE_DAILY_STATUS).where(between(history_from))
    pipelines = pipelines.select(*record_columns(PipelineDay, pipelines.columns))
    flows = storage.read(FLOW_DAILY_STATUS).where(between(history_from))
    flows = flows.select(*record_columns(FlowDay, flows.columns))
    sent = storage.read(ALERTS_SENT).where(between(first)).select(*KEY_COLUMNS, "status", "attempts", "sent_at")
    rows = (
        pipelines.withColumn("_input", F.lit("pipeline"))
        .unionByName(flows.withColumn("_input", F.lit("flow")), allowMissingColumns=True)
        .unionByName(sent.withColumn("_input", F.lit("sent")), allowMissingColumns=True)
        .collect()
    )
    by_input: dict[str, list[Row]] = {"pipeline": [], "flow": [], "sent": []}
    for row in rows:
        by_input[row["_input"]].append(row)
    return (
        [record_of(PipelineDay, row.asDict()) for row in by_input["pipeline"]],
        [record_of(FlowDay, row.asDict()) for row in by_input["flow"]],
        [
            SentRecord(AlertKey(*(row[c] for c in KEY_COLUMNS)), row["status"], row["attempts"], row["sent_at"])
            for row in by_input["sent"]
        ],
    )


def record_deliveries(storage: Storage, deliveries: Sequence[Delivery], now: datetime) -> None:
    """One MERGE: new alerts are inserted, failed ones updated (attempts add up); a ``sent`` row is final."""
    rows = [
        (
            *(getattr(key, c) for c in KEY_COLUMNS),
            d.message.flow,
            SENT if d.sent else FAILED,
            d.attempts,
            d.error,
            d.message.title,
            ", ".join(d.message.recipients) or None,
            now,
            now if d.sent else None,
            now,
        )
        for d in deliveries
        for key in d.message.keys
    ]
    source = storage.spark.createDataFrame(rows, ALERTS_SENT.schema)
    t, s = storage.merge_columns(ALERTS_SENT)
    on_key = reduce(and_, [t(c) == s(c) for c in KEY_COLUMNS])
    (
        storage.merge(source, ALERTS_SENT, on_key)
        .whenMatched(t("status") != SENT)
        .update(
            {
                "status": s("status"),
                "attempts": t("attempts") + s("attempts"),
                **{c: s(c) for c in ("last_error", "title", "recipients", "flow", "sent_at", "updated_at")},
            }
        )
        .whenNotMatched()
        .insertAll()
        .merge()
    )


# --- the run ---------------------------------------------------------------------------------------


def plan_for(spark: SparkSession, config: Config, alerts: AlertsConfig, business_date: date, now: datetime) -> Plan:
    """Read what the rules need and decide the messages (reads only)."""
    first = business_date - timedelta(days=alerts.lookback_days)
    storage = Storage(spark, config.storage)
    pipelines, flows, sent = read_inputs(storage, first - timedelta(days=HISTORY_DAYS), first, business_date)
    now_local = now.astimezone(ZoneInfo(config.timezone))
    drift = read_drift(storage, business_date) if config.source.factory else []
    configured = [f.name for f in config.flows]
    return plan_alerts(alerts, configured, pipelines, flows, sent, business_date, now_local, drift)


def read_drift(storage: Storage, business_date: date) -> list[DriftFinding]:
    """The date's ``gold/config_drift`` rows: the digest's "not monitored" block."""
    rows = drift_of_date(storage.read(CONFIG_DRIFT), business_date).collect()
    return [DriftFinding(row.kind, row.pipeline_name, row.detail) for row in rows]


def notify(
    spark: SparkSession,
    config: Config,
    business_date: date,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    secrets: SecretSource | None = None,
    sleep: Sleep = time.sleep,
    ssl_context: ssl.SSLContext | None = None,
) -> NotifyReport:
    """Send the alerts of ``business_date`` (and its ``lookback_days``) that were not sent yet; record them.

    ``dry_run`` reads but sends and writes nothing: the report's plan holds every message that would go,
    also when no channel (or no ``alerts:`` section: the default rules) is configured.
    ``secrets`` defaults to the Databricks secret scope on Databricks and environment variables elsewhere;
    ``sleep`` is how retries wait (tests pass a recorder); ``ssl_context`` replaces the system trust store.
    """
    now = now or datetime.now(UTC)
    if config.alerts is None and not dry_run:
        return NotifyReport(None, dry_run=False)
    alerts = config.alerts or default_alerts()
    plan = plan_for(spark, config, alerts, business_date, now)
    deliverable = [m for m in plan.messages if m.channel]
    if dry_run or not deliverable:
        return NotifyReport(plan, dry_run=dry_run)

    source = secrets or secret_source(on_databricks())
    channels = open_channels(alerts, source, {m.channel or "" for m in deliverable}, ssl_context)
    known_secrets: list[Secret] = [s for c in channels.values() if not isinstance(c, str) for s in c.secrets]
    deliveries = []
    for message in deliverable:
        channel = channels[message.channel or ""]
        if isinstance(channel, str):  # the channel could not be opened (its secret is missing)
            deliveries.append(Delivery(message, False, 1, channel))
            continue
        outcome = deliver(channel, message, alerts.retry, sleep)
        error = mask(outcome.error, known_secrets) if outcome.error else None
        deliveries.append(Delivery(message, outcome.sent, outcome.attempts, error))
    record_deliveries(Storage(spark, config.storage), deliveries, now)
    return NotifyReport(plan, dry_run=False, deliveries=tuple(deliveries))


# --- what the CLI prints ---------------------------------------------------------------------------


def _destination(message: Message) -> str:
    if not message.channel:
        return "no channel configured"
    if message.channel == "email":
        return f"email to {', '.join(message.recipients) or 'nobody'}"
    return message.channel


def _indented(text: str) -> list[str]:
    return ["    " + line if line else "" for line in text.rstrip("\n").split("\n")]


def report_lines(report: NotifyReport) -> list[str]:
    """The report as text: a dry run shows the digest and every message in full; a real run one line each."""
    plan = report.plan
    if plan is None:
        return [NO_ALERTS]
    checked = ", ".join(str(d) for d in plan.dates)
    quiet = f" (quiet: {', '.join(str(d) for d in plan.quiet)})" if plan.quiet else ""
    lines = [f"Business date {plan.business_date}; dates checked: {checked}{quiet}"]
    lines += [f"  note: {note}" for note in plan.notes]
    if report.dry_run:
        lines.append(
            f"Dry run: {len(plan.messages)} message(s) would be sent; nothing is sent or written. "
            f"{plan.already_sent} alert(s) were already sent."
        )
        digest = next((m for m in plan.messages if m.digest is not None), None)
        title = f"{digest_title(plan.digest)} (not sent by this run)"
        shown = digest or Message(DIGEST, plan.business_date, None, title, (), digest=plan.digest)
        lines += ["", f"=== {shown.title}", *_indented(plain_text(shown))]
        for message in plan.messages:
            where = f"[{message.trigger}] {_destination(message)}"
            if message.digest is not None:
                lines += ["", f"=== would send the digest: {where}"]
                continue
            lines += ["", f"=== would send {where}: flow {message.flow}", *_indented(plain_text(message))]
        return lines
    for delivery in report.deliveries:
        message = delivery.message
        state = "sent  " if delivery.sent else "FAILED"
        about = f"flow {message.flow}" if message.flow else "digest"
        line = f"{state} {message.channel:<5} {message.trigger:<9} {about}: {message.title}"
        if not delivery.sent:
            line += f" -- {delivery.error} (attempts: {delivery.attempts})"
        lines.append(line)
    if not report.deliveries:
        lines.append("Nothing new to send." if not plan.messages else "No channel configured: nothing sent.")
    lines.append(
        f"{len(report.sent)} message(s) sent, {len(report.failed)} failed, "
        f"{plan.already_sent} alert(s) already sent by an earlier run."
    )
    return lines
