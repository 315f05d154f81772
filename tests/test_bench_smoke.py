"""The benchmark at its smoke size: it runs end to end and prints what scripts read (`make test-heavy`)."""

from __future__ import annotations

import re

import pytest
from bench.run import PHASES, PhaseClock, main


@pytest.mark.heavy  # fourteen job runs
def test_bench_smoke_prints_the_table_and_the_ratios_of_each_size(spark, tmp_path, capsys):
    # Two sizes, as `make bench` runs them: the second one in the already warm process (no warm-up run).
    assert main(["--size", "smoke", "smoke", "--work-dir", str(tmp_path / "work"), "--no-results"]) == 0
    out = capsys.readouterr().out
    for phase in (
        "floor (read + write)",
        "rebuild 5 days",
        "nightly after 5 days",
        "rebuild 2 days",
        "nightly after 2 days",
    ):
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
