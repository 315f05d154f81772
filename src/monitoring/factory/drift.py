"""A configuration against its factory: what a started trigger runs that no flow lists, members the factory has not,
schedules that disagree with the trigger, flows whose trigger is stopped.

``validate-config --factory`` prints :func:`find_drift`'s findings; the nightly job (``source.factory``) writes them
to ``gold/config_drift``; the digest and the report show a date's rows (:func:`drift_of_date`) as "not monitored".
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from monitoring.config import Config
from monitoring.factory.derive import Derivation

if TYPE_CHECKING:  # validate-config --factory stays free of pyspark
    from pyspark.sql import DataFrame, SparkSession

    from monitoring.storage import Storage

UNMONITORED, UNKNOWN_PIPELINE, SCHEDULE, STOPPED_TRIGGER = (
    "unmonitored",
    "unknown_pipeline",
    "schedule",
    "stopped_trigger",
)
KINDS = (UNMONITORED, UNKNOWN_PIPELINE, SCHEDULE, STOPPED_TRIGGER)


@dataclass(frozen=True)
class DriftFinding:
    kind: str
    pipeline: str
    detail: str

    @property
    def line(self) -> str:
        return f"{self.kind}: {self.pipeline}: {self.detail}"


def find_drift(config: Config, derivation: Derivation) -> list[DriftFinding]:
    """Every disagreement between ``config`` and the factory, in a stable order (kind, then as listed)."""
    configured = {rule.name: rule for rule in config.pipelines}
    found: list[DriftFinding] = []
    for flow in derivation.flows:
        triggers = ", ".join(s.trigger for s in flow.triggers)
        for member in flow.members:
            if member.name not in configured:
                how = "" if member.name == flow.master else f" through {flow.master}"
                found.append(DriftFinding(UNMONITORED, member.name, f"started by {triggers}{how}, but in no flow"))
    factory_pipelines = list(derivation.factory.pipelines)
    for rule in config.pipelines:
        if rule.name not in derivation.factory.pipelines:
            near = difflib.get_close_matches(rule.name, factory_pipelines, n=1)
            hint = f" (renamed {near[0]}?)" if near else " (renamed or deleted?)"
            detail = f"flow {rule.flow} lists it; factory {derivation.factory.name} has no such pipeline{hint}"
            found.append(DriftFinding(UNKNOWN_PIPELINE, rule.name, detail))
    for rule in config.pipelines:
        derived = derivation.schedule_of(rule.name)
        if derived is not None and derived != rule.schedule:
            flow = derivation.flow_of(rule.name)
            said_by = ", ".join(s.trigger for s in flow.triggers) if flow else "the factory"
            detail = f"flow {rule.flow} says {rule.schedule.text}, {said_by} says {derived.text}"
            found.append(DriftFinding(SCHEDULE, rule.name, detail))
    for flow in config.flows:
        for rule in flow.pipelines:
            stopped = derivation.stopped.get(rule.name)
            if stopped and derivation.flow_of(rule.name) is None:
                detail = f"flow {flow.name}: its trigger {', '.join(stopped)} is stopped, so it does not run"
                found.append(DriftFinding(STOPPED_TRIGGER, rule.name, detail))
    return found


# --- the nightly table: imported lazily by the job, so validate-config never starts Spark ------------------


def drift_rows(findings: Sequence[DriftFinding], day: date, now: datetime) -> list[tuple[object, ...]]:
    """The ``gold/config_drift`` rows of one date, in the table's column order."""
    return [(day, f.kind, f.pipeline, f.detail, now) for f in findings]


def drift_of_date(drift: DataFrame, day: date) -> DataFrame:
    """The rows of ``gold/config_drift`` found on ``day``, in kind order then pipeline: the "not monitored" block."""
    from pyspark.sql import functions as F

    order = F.array_position(F.array(*[F.lit(k) for k in KINDS]), F.col("kind"))
    return drift.where(F.col("business_date") == F.lit(day)).orderBy(order, "pipeline_name")


def write_config_drift(
    spark: SparkSession, storage: Storage, config: Config, day: date, now: datetime, progress: Callable[[str], None]
) -> list[DriftFinding]:
    """Compare the config with ``source.factory`` and replace ``day``'s rows of ``gold/config_drift``."""
    from monitoring.factory.definitions import load_definitions
    from monitoring.factory.derive import derive
    from monitoring.tables import CONFIG_DRIFT

    assert config.source.factory is not None
    progress(f"Comparing the flows with factory {config.source.factory}")
    findings = find_drift(config, derive(load_definitions(config.source.factory)))
    frame = spark.createDataFrame(drift_rows(findings, day, now), CONFIG_DRIFT.schema)
    storage.replace_dates(frame, CONFIG_DRIFT, day, day)
    progress(f"{len(findings)} difference(s) between the config and the factory on {day} (gold/config_drift)")
    return findings
