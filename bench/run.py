"""The scale benchmark: does a night cost what its new logs cost, and a rebuild little more than a read?

    make bench                                  # the default size, then medium: < 10 min on 2 cores / 24 GB
    .venv/bin/python bench/run.py --size large  # a cluster-sized run (see README, "Scaling")

In one process and one Spark session, on the same generated logs:

* floor: a bare Spark read of the history's JSON (explicit schema) written to a Delta table, no logic;
* rebuild after N days of history: the job on those N days, into an empty lakehouse (every date evaluated). The
  longest history's is the ratio's; the shorter ones show what grows with the days of history;
* nightly after N days of history (N = 7, 90, 365 by default): a lakehouse holding N processed days, then
  one new day arrives (and the previous day's last blob, half-written at the rebuild, grows to its end).

The process warms up first, unmeasured: a rebuild and a nightly run on a few days of logs of their own, so no
measured run pays for warming up the JVM's JIT or Spark's generated code on its path.

Per size it prints a table (seconds, events per second, peak RSS of the driver's Python and JVM processes, files
listed and read, dates evaluated) and where each job run's time went (by the job's own progress lines), writes
``bench/RESULTS.md`` (unless ``--no-results``), and ends with lines a script can read, one per ratio:
``rebuild_vs_floor: <ratio>`` (the default size), ``rebuild_vs_floor_<size>: <ratio>`` (the others) and
``nightly_365_vs_7: <ratio>`` (the sizes with more than one history).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psutil
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `bench.generate` when run as a script

from bench.generate import append_day, generate_logs, write_config
from monitoring.nightly import DateRange, JobResult, local_today, run_job
from monitoring.sources.json_lines import DIAGNOSTIC_SCHEMA
from monitoring.spark import get_spark

RESULTS = Path(__file__).with_name("RESULTS.md")
TARGETS = {"rebuild_vs_floor": 2.0, "rebuild_vs_floor_medium": 1.7, "nightly_365_vs_7": 1.3}
SEED = 11


@dataclass(frozen=True)
class Size:
    pipelines: int
    runs_per_day: int
    histories: tuple[int, ...]  # days of history before the new night; the largest is also the rebuild's
    note: str


SIZES = {
    "smoke": Size(6, 2, (2, 3, 5), "a quick check that the benchmark runs (the heavy tests run it)"),
    "default": Size(100, 3, (7, 90, 365), "100 pipelines, a year: ~330 k records"),
    # The rebuild's ratio at three times the records: does the fixed cost amortise, or does it grow with history?
    "medium": Size(300, 3, (365,), "300 pipelines, a year: ~1 M records"),
    "large": Size(2000, 4, (7, 90, 365), "a cluster-sized run: ~2.9 M runs, 8.8 M records a year"),
}


@dataclass(frozen=True)
class Measure:
    name: str
    seconds: float
    events: int
    peak_rss_mb: float
    files_listed: int | None = None
    files_read: int | None = None
    dates_evaluated: int | None = None
    phases: tuple[tuple[str, float], ...] = ()  # a job run's time by phase, from its progress lines

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


# The job's progress lines that open a phase (their first words), and what the phase does until the next one.
PHASES = {
    "Reading new log files": "ingestion: list, read, classify, record what is owed, merge runs, quarantine, manifest",
    "Read ": "what is owed, the range to evaluate",
    "Catching up": "what is owed, the range to evaluate",
    "Evaluating business dates": "daily statuses (pipelines, then flows)",
    "Writing gold tables": "the two gold daily tables",
    "Updating weekly and monthly KPIs": "KPIs, what is owed settled, the rows returned",
}


class PhaseClock:
    """Turns the job's progress lines into seconds per phase (a phase runs from its line to the next one)."""

    def __init__(self) -> None:
        self.marks: list[tuple[float, str]] = []

    def __call__(self, message: str) -> None:
        phase = next((name for prefix, name in PHASES.items() if message.startswith(prefix)), None)
        if phase is not None and (not self.marks or self.marks[-1][1] != phase):
            self.marks.append((time.perf_counter(), phase))

    def phases(self, ended: float) -> tuple[tuple[str, float], ...]:
        ends = [mark[0] for mark in self.marks[1:]] + [ended]
        return tuple((phase, end - start) for (start, phase), end in zip(self.marks, ends, strict=True))


class PeakRss:
    """Samples the resident memory of this process and its children (the local driver JVM)."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._process = psutil.Process()

    def _rss(self) -> int:
        total = self._process.memory_info().rss
        for child in self._process.children(recursive=True):
            with suppress(psutil.NoSuchProcess):  # a child that just ended
                total += child.memory_info().rss
        return total

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._rss())

    @contextmanager
    def watching(self) -> Iterator[PeakRss]:
        self.peak = self._rss()
        thread = threading.Thread(target=self._sample, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self._stop.clear()


def measured(name: str, work: Callable[[PhaseClock], JobResult | int]) -> Measure:
    clock = PhaseClock()
    with PeakRss().watching() as rss:
        started = time.perf_counter()
        outcome = work(clock)
        ended = time.perf_counter()
    seconds, peak = ended - started, rss.peak / 2**20
    if isinstance(outcome, int):  # the floor: a count of records
        return Measure(name, seconds, outcome, peak)
    report, evaluation = outcome.ingest, outcome.evaluation
    return Measure(
        name,
        seconds,
        report.lines_read,
        peak,
        report.files_listed,
        report.files_read,
        (evaluation.last - evaluation.first).days + 1,
        clock.phases(ended),
    )


DAY_FOLDER = re.compile(r"/y=(\d{4})/m=(\d{2})/d=(\d{2})/")


def link_days(source: Path, target: Path, days: set[date]) -> None:
    """Hard-link the blobs of ``days`` (cheap copies: these blobs are never appended to again)."""
    for blob in source.rglob("PT1H.json"):
        year, month, day = (int(part) for part in DAY_FOLDER.search(blob.as_posix()).groups())
        if date(year, month, day) in days:
            destination = target / blob.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.link(blob, destination)


def floor_read(spark, logs: Path, out: Path) -> int:
    """The least any job can do: read the JSON with its schema and write it to Delta."""
    records = spark.read.schema(DIAGNOSTIC_SCHEMA).option("recursiveFileLookup", "true").json(str(logs))
    records.write.format("delta").mode("overwrite").save(str(out))
    return spark.read.format("delta").load(str(out)).count()


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown CPU",
    )
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    import delta
    import pyspark

    return (
        f"{os.cpu_count()} cores ({cpu}), {psutil.virtual_memory().total / 2**30:.0f} GB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, {java}, "
        f"pyspark {pyspark.__version__}, delta-spark {getattr(delta, '__version__', '4.4.0')}, local[*] driver"
    )


COLUMNS = ("phase", "seconds", "events", "events/s", "peak RSS MB", "files listed", "files read", "dates")


def cells(m: Measure) -> list[str]:
    def count(value: int | None) -> str:
        return "-" if value is None else f"{value:,}"

    return [
        m.name,
        f"{m.seconds:.1f}",
        f"{m.events:,}",
        f"{m.events_per_second:,.0f}",
        f"{m.peak_rss_mb:,.0f}",
        count(m.files_listed),
        count(m.files_read),
        count(m.dates_evaluated),
    ]


def results_table(size_name: str, measures: list[Measure]) -> Table:
    table = Table(title=f"Benchmark, size {size_name}", title_justify="left")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column == "phase" else "right")
    for m in measures:
        table.add_row(*cells(m))
    return table


def verdict(ratio: str, value: float) -> str:
    if ratio not in TARGETS:  # the smoke size's shorter histories have no target
        return ""
    return f": target <= {TARGETS[ratio]:.1f}, " + ("**met**" if value <= TARGETS[ratio] else "**missed**")


FLOOR = "floor (read + write)"


@dataclass(frozen=True)
class SizeResult:
    name: str
    measures: list[Measure]
    ratios: dict[str, float]

    @property
    def size(self) -> Size:
        return SIZES[self.name]


def phase_table(measures: list[Measure]) -> str:
    """Seconds per phase of each job run, one column per run."""
    runs = [m for m in measures if m.phases]
    names = list(dict.fromkeys(phase for m in runs for phase, _ in m.phases))
    lines = ["| phase | " + " | ".join(m.name for m in runs) + " |", "|---|" + "---:|" * len(runs)]
    for name in names:
        seconds = [dict(m.phases).get(name) for m in runs]
        lines.append(f"| {name} | " + " | ".join("-" if s is None else f"{s:.1f}" for s in seconds) + " |")
    return "\n".join(lines)


def size_section(result: SizeResult) -> str:
    size = result.size
    rows = "\n".join("| " + " | ".join(cells(m)) + " |" for m in result.measures)
    return (
        f"## Size `{result.name}`: {size.note}\n\n"
        f"- Data: {size.pipelines} pipelines x {size.runs_per_day} runs a day (3 records a run), "
        f"histories of {', '.join(str(h) for h in size.histories)} days, one new day; seed {SEED}\n\n"
        "| " + " | ".join(COLUMNS) + " |\n"
        "|---|" + "---:|" * (len(COLUMNS) - 1) + "\n"
        f"{rows}\n\n"
        "Where each job run's time went, by phase (seconds, from the job's progress lines):\n\n"
        f"{phase_table(result.measures)}\n\n"
        + "\n".join(f"- `{name}: {value:.2f}`" + verdict(name, value) for name, value in result.ratios.items())
        + "\n"
    )


# Everything from this heading on in RESULTS.md is written by hand (what the numbers mean) and kept by a new run.
READING = "## Reading it"


def markdown(results: list[SizeResult], previous: str) -> str:
    sizes = " ".join(result.name for result in results)
    reading = previous[previous.index(READING) :] if READING in previous else ""
    return (
        f"# Benchmark results\n\n"
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `make bench` (`bench/run.py --size {sizes}`), "
        "all sizes in one process and one Spark session.\n\n"
        f"- Machine: {machine()}\n\n" + "\n".join(size_section(result) for result in results) + "\n" + reading
    )


WARM_UP_DAYS = 3


def warm_up_every_path(spark, size: Size, work_dir: Path, new_day: date, console: Console) -> None:
    """A rebuild, a nightly run and the floor's read, on a few days' logs of their own, not measured: the JIT and
    Spark's generated code warm up on every measured path (insert-only writes into empty tables, merges into full
    ones, the bare read). Without the nightly, the first measured nightly paid its warm-up alone, and the
    nightlies' ratio depended on their order."""
    console.log(f"Warming up: a rebuild, a nightly run and the floor's read on {WARM_UP_DAYS} days, not measured")
    logs = work_dir / "logs"
    first_day = new_day - timedelta(days=WARM_UP_DAYS)
    generate_logs(logs, size.pipelines, WARM_UP_DAYS, size.runs_per_day, SEED, first_day)
    config = write_config(work_dir / "warm.yml", size.pipelines, logs=logs, lakehouse=work_dir / "lakehouse")
    rebuild_at = datetime.combine(new_day, datetime.min.time(), UTC) + timedelta(hours=5)
    run_job(spark, config, DateRange.ending(local_today(config, rebuild_at), 3), catch_up=True, now=rebuild_at)
    append_day(logs, new_day, size.pipelines, size.runs_per_day, SEED)
    nightly_at = rebuild_at + timedelta(days=1)
    run_job(spark, config, DateRange.ending(local_today(config, nightly_at), 3), catch_up=True, now=nightly_at)
    floor_read(spark, logs, work_dir / "floor")


def run_benchmark(size_name: str, work_dir: Path, console: Console, warm_up: bool = True) -> SizeResult:
    """One size's measures and ratios. ``warm_up``: :func:`warm_up_every_path` first, unmeasured (the process's
    first size: the JVM is warm for the next ones)."""
    size = SIZES[size_name]
    longest = max(size.histories)
    new_day = date(2026, 1, 1) + timedelta(days=longest)
    last_history_day = new_day - timedelta(days=1)
    if work_dir.exists():
        shutil.rmtree(work_dir)

    def logs_of(days: int) -> Path:
        return work_dir / f"logs_{days}"

    def generate(days: int) -> None:
        args = (size.pipelines, size.runs_per_day, SEED)
        if days == longest:
            generate_logs(logs_of(days), *args[:1], days - 1, args[1], SEED, new_day - timedelta(days=days))
        else:
            wanted = {new_day - timedelta(days=n) for n in range(2, days + 1)}
            link_days(logs_of(longest), logs_of(days), wanted)
        # The last history day's last blob is still being appended to when the history is processed.
        append_day(logs_of(days), last_history_day, *args, partial=True)

    console.log(
        f"Size {size_name}: generating {longest} days of logs for {size.pipelines} pipelines x "
        f"{size.runs_per_day} runs a day"
    )
    for days in sorted(size.histories, reverse=True):
        generate(days)
    spark = get_spark("pipeline-monitoring-bench")
    measures: list[Measure] = []

    if warm_up:
        warm_up_every_path(spark, size, work_dir / "warm", new_day, console)

    console.log(f"Floor: reading {longest} days of JSON into a Delta table")
    measures.append(measured(FLOOR, lambda _: floor_read(spark, logs_of(longest), work_dir / "floor")))

    for days in sorted(size.histories, reverse=True):
        config = write_config(
            work_dir / f"monitoring_{days}.yml",
            size.pipelines,
            logs=logs_of(days),
            lakehouse=work_dir / f"lakehouse_{days}",
        )
        history_now = datetime.combine(new_day, datetime.min.time(), UTC) + timedelta(hours=5)
        night_now = history_now + timedelta(days=1)

        def nightly_window(now: datetime, cfg=config) -> DateRange:
            return DateRange.ending(local_today(cfg, now), 3)

        console.log(f"Rebuild: {days} days of history into an empty lakehouse")
        rebuild = measured(
            f"rebuild {days} days",
            lambda clock, cfg=config, now=history_now: run_job(
                spark, cfg, nightly_window(now), catch_up=True, now=now, as_of=now, progress=clock
            ),
        )
        measures.append(rebuild)
        append_day(logs_of(days), last_history_day, size.pipelines, size.runs_per_day, SEED)
        append_day(logs_of(days), new_day, size.pipelines, size.runs_per_day, SEED)
        console.log(f"Nightly: one new day on top of {days} days")
        measures.append(
            measured(
                f"nightly after {days} days",
                lambda clock, cfg=config, now=night_now: run_job(
                    spark, cfg, nightly_window(now), catch_up=True, now=now, as_of=now, progress=clock
                ),
            )
        )
    by_name = {m.name: m for m in measures}
    suffix = "" if size_name == "default" else f"_{size_name}"
    ratios = {f"rebuild_vs_floor{suffix}": by_name[f"rebuild {longest} days"].seconds / by_name[FLOOR].seconds}
    shortest = min(size.histories)
    if shortest < longest:
        ratios[f"nightly_{longest}_vs_{shortest}{suffix}"] = (
            by_name[f"nightly after {longest} days"].seconds / by_name[f"nightly after {shortest} days"].seconds
        )
    return SizeResult(size_name, measures, ratios)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=SIZES, nargs="+", default=["default", "medium"], help="in this order")
    parser.add_argument("--work-dir", type=Path, default=Path("bench/work"), help="scratch folder (replaced)")
    parser.add_argument("--no-results", action="store_true", help=f"do not write {RESULTS.name}")
    args = parser.parse_args(argv)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    results = []
    for size_name in args.size:
        results.append(run_benchmark(size_name, args.work_dir / size_name, console, warm_up=not results))
        console.print(results_table(size_name, results[-1].measures))
    if not args.no_results:
        previous = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
        RESULTS.write_text(markdown(results, previous), encoding="utf-8")
        console.print(f"Written to {RESULTS}")
    # The last lines, read by scripts: the rebuild ratios first, then the nightly ones.
    ratios = [(name, value) for result in results for name, value in result.ratios.items()]
    for name, value in sorted(ratios, key=lambda ratio: not ratio[0].startswith("rebuild")):
        print(f"{name}: {value:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
