"""Two nights, incrementally, give the tables of one full rebuild; the second night lists only the lookback
window's folders, reads only new or grown blobs and re-evaluates only the window and the changed dates."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from chispa import assert_df_equality

from monitoring.cli import example_config_path
from monitoring.config import load_config
from monitoring.demo import generate_demo_logs
from monitoring.nightly import DateRange, local_today, run_job
from monitoring.tables import FLOW_DAILY_STATUS, INGESTED_FILES, PIPELINE_DAILY_STATUS, PIPELINE_RUNS

pytestmark = pytest.mark.heavy  # three full runs: `make test-heavy`

NOW = datetime(2026, 3, 18, 6, 30, tzinfo=UTC)  # night 2; night 1 is a day earlier
DAYS = 10
FOLDER_DAY = re.compile(r"/y=(\d{4})/m=(\d{2})/d=(\d{2})/")


def blob_day(path: Path) -> date:
    year, month, day = FOLDER_DAY.search(path.as_posix()).groups()
    return date(int(year), int(month), int(day))


def copy_blobs(source: Path, target: Path, keep, grow_cut: Path | None = None) -> list[Path]:
    """Copy the blobs ``keep`` selects; ``grow_cut`` is copied with only its first half of lines."""
    copied = []
    for blob in sorted(source.rglob("*.json")):
        if not keep(blob):
            continue
        destination = target / blob.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if blob == grow_cut:
            lines = blob.read_text().splitlines(keepends=True)
            destination.write_text("".join(lines[: len(lines) // 2]))
        else:
            shutil.copyfile(blob, destination)
        copied.append(blob)
    return copied


@pytest.fixture(scope="module")
def nights(spark, tmp_path_factory):
    base = tmp_path_factory.mktemp("incremental")
    all_logs, logs = base / "all_logs", base / "logs"
    config = load_config(example_config_path())
    generate_demo_logs(config, all_logs, DAYS, NOW)
    last_day = NOW.date()
    # Night 1 (a day earlier): every blob before today's UTC day, the last one of them only half written.
    earlier = sorted(b for b in all_logs.rglob("*.json") if blob_day(b) < last_day)
    growing = earlier[-1]
    copy_blobs(all_logs, logs, lambda b: blob_day(b) < last_day, grow_cut=growing)

    incremental = config.with_overrides(logs=str(logs), lakehouse=str(base / "incremental"))
    window = DateRange.ending(local_today(config, NOW), 3)
    night1 = run_job(
        spark,
        incremental,
        DateRange.ending(window.last - timedelta(days=1), 3),
        catch_up=True,
        now=NOW - timedelta(days=1),
        as_of=NOW,
    )
    # Night 2: today's blobs arrive and yesterday's last blob grows to its full length.
    new_today = copy_blobs(all_logs, logs, lambda b: blob_day(b) >= last_day)
    shutil.copyfile(growing, logs / growing.relative_to(all_logs))
    night2 = run_job(spark, incremental, window, catch_up=True, now=NOW, as_of=NOW)

    rebuild = config.with_overrides(logs=str(all_logs), lakehouse=str(base / "rebuild"))
    full = run_job(spark, rebuild, window, catch_up=True, now=NOW, as_of=NOW)
    return {
        "night1": night1,
        "night2": night2,
        "full": full,
        "new_today": new_today,
        "logs": logs,
        "window": window,
        "incremental": base / "incremental",
        "rebuild": base / "rebuild",
    }


def test_second_night_lists_the_window_and_reads_only_new_or_grown_blobs(nights):
    report = nights["night2"].ingest
    # From the newest day folder night 1 read (yesterday's), less the 72 h lookback, to today.
    newest_read = NOW.date() - timedelta(days=1)
    lookback_days = {
        blob_day(b) for b in nights["logs"].rglob("*.json") if blob_day(b) >= newest_read - timedelta(days=3)
    }
    in_window = [b for b in nights["logs"].rglob("*.json") if blob_day(b) in lookback_days]
    assert report.files_listed == len(in_window) < len(list(nights["logs"].rglob("*.json")))
    assert report.files_read == len(nights["new_today"]) + 1  # today's blobs + the one that grew


def test_second_night_evaluates_only_the_window(nights):
    first_night, second_night = nights["night1"].evaluation, nights["night2"].evaluation
    # Night 1 had no evaluation before it: everything in the logs is new, so all history is evaluated.
    assert first_night.first < nights["window"].first - timedelta(days=DAYS - 5)
    assert (second_night.first, second_night.last) == (nights["window"].first, nights["window"].last)


def test_incremental_nights_equal_a_full_rebuild(spark, nights):
    def table(lakehouse: Path, spec):
        df = spark.read.format("delta").load(f"{lakehouse}/{spec.name}")
        return df.drop("evaluated_at", "ingested_at", "quarantined_at", "source_file")

    for spec in (PIPELINE_RUNS, PIPELINE_DAILY_STATUS, FLOW_DAILY_STATUS):
        assert_df_equality(
            table(nights["incremental"], spec),
            table(nights["rebuild"], spec),
            ignore_row_order=True,
            ignore_nullable=True,
        )
    manifest = spark.read.format("delta").load(f"{nights['incremental']}/{INGESTED_FILES.name}")
    assert manifest.count() == len(list(nights["logs"].rglob("*.json")))
