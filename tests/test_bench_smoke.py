"""The benchmark at its smoke size: it runs end to end and prints what scripts read (`make test-heavy`)."""

from __future__ import annotations

import re

import pytest
from bench.run import FLOOR, PHASES, Amortisation, Measure, PhaseClock, SizeResult, main, markdown


@pytest.mark.heavy  # fourteen job runs
def test_bench_smoke_prints_the_table_and_the_ratios_of_each_size(spark, tmp_path, capsys):
    # Two sizes, as `make bench` runs them: the second one in the already warm process (no warm-up run).
    assert main(["--size", "smoke", "smoke", "--work-dir", str(tmp_path / "work"), "--no-results"]) == 0
    out = capsys.readouterr().out
    for phase in ("floor (read + write)", "rebuild 5 days", "nightly after 5 days", "nightly after 2 days"):
        assert phase in out
    last_four = out.strip().splitlines()[-4:]
    assert all(re.fullmatch(r"rebuild_vs_floor_smoke: \d+\.\d\d", line) for line in last_four[:2])
    assert all(re.fullmatch(r"nightly_5_vs_2_smoke: \d+\.\d\d", line) for line in last_four[2:])


def test_phases_come_from_the_job_progress_lines():
    clock = PhaseClock()
    clock("Reading new log files under /logs (adf_diagnostic)")
    clock("Read 10 records from 2 new or grown file(s) of 2 listed: ...")
    clock("Catching up from 2026-01-01 (dates owed; ...)")  # the same phase as the line before: no new mark
    clock("Evaluating business dates 2026-01-01 to 2026-01-04 (as of ...)")
    clock("an unknown line")  # not a phase: ignored
    clock("Writing gold tables")
    marks = [mark for mark, _ in clock.marks]
    phases = clock.phases(ended=marks[-1] + 1.0)
    assert [name for name, _ in phases] == [
        PHASES["Reading new log files"],
        PHASES["Read "],
        PHASES["Evaluating business dates"],
        PHASES["Writing gold tables"],
    ]
    ends = [*marks[1:], marks[-1] + 1.0]
    assert [seconds for _, seconds in phases] == [end - start for start, end in zip(marks, ends, strict=True)]


def _size(name: str, records: int, rebuild_seconds: float, floor_seconds: float) -> SizeResult:
    measures = [
        Measure(FLOOR, floor_seconds, records, 0.0),
        Measure("rebuild 365 days", rebuild_seconds, records, 0.0),
        Measure("rebuild 7 days", 99.0, records // 50, 0.0),  # a shorter history: not the ratio's rebuild
    ]
    return SizeResult(name, measures, {})


def test_the_rebuild_ratio_across_sizes_splits_each_run_into_fixed_and_per_record_seconds():
    # rebuild = 20 s + 30 s per million records, floor = 2 s + 10 s per million: ratios 6.40 then 4.25, tending to 3.
    default, medium = _size("default", 200_000, 26.0, 4.0), _size("medium", 1_000_000, 50.0, 12.0)
    across = Amortisation.across([default, medium])
    assert (across.smallest, across.largest) == ("default", "medium")
    assert across.rebuild.fixed == pytest.approx(20.0) and across.rebuild.per_million == pytest.approx(30.0)
    assert across.floor.fixed == pytest.approx(2.0) and across.floor.per_million == pytest.approx(10.0)
    assert across.limit == pytest.approx(3.0)
    section = markdown([default, medium], "")
    assert "| rebuild | 20.0 | 30.0 |" in section and "| floor | 2.0 | 10.0 |" in section
    assert "`rebuild_vs_floor_limit: 3.00`" in section


def test_one_size_or_sizes_of_equal_records_have_no_ratio_across_sizes():
    assert Amortisation.across([_size("default", 200_000, 26.0, 4.0)]) is None
    assert Amortisation.across([_size("smoke", 900, 9.0, 1.0), _size("smoke", 900, 8.0, 1.2)]) is None
    assert "Across sizes" not in markdown([_size("default", 200_000, 26.0, 4.0)], "")


def test_a_floor_that_did_not_grow_gives_no_limit():
    across = Amortisation.across([_size("default", 200_000, 26.0, 12.0), _size("medium", 1_000_000, 50.0, 11.0)])
    assert across.limit is None and across.limit_line() == "rebuild_vs_floor_limit: -"
