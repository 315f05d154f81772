"""The benchmark at its smoke size: it runs end to end and prints what scripts read (`make test-heavy`)."""

from __future__ import annotations

import re

import pytest
from bench.run import main

pytestmark = pytest.mark.heavy  # seven job runs


def test_bench_smoke_prints_the_table_and_the_two_ratios(spark, tmp_path, capsys):
    assert main(["--size", "smoke", "--work-dir", str(tmp_path / "work"), "--no-results"]) == 0
    out = capsys.readouterr().out
    for phase in ("floor (read + write)", "rebuild 5 days", "nightly after 5 days", "nightly after 2 days"):
        assert phase in out
    last_two = out.strip().splitlines()[-2:]
    assert re.fullmatch(r"rebuild_vs_floor: \d+\.\d\d", last_two[0])
    assert re.fullmatch(r"nightly_5_vs_2: \d+\.\d\d", last_two[1])
