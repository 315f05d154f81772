"""Fault suite, configuration abuse: every key of full monitoring.yml documents replaced by every wrong shape,
random pipeline graphs, hostile YAML. Pure Python, no Spark.

The contract (README, "Validation"): a bad file is a ConfigError naming the key path, on one line (the CLI
prints it as ``error: <path>: ...`` and exits 2); never another exception, which the CLI would report as a
failed job with a traceback. tests/test_config.py checks the exact wording of each message; this file checks
the contract over shapes generated systematically. The ``alerts:`` section is left to its own tests.
"""

from __future__ import annotations

import copy
import math
import random
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitoring.config import Config, ConfigError, load_config, parse_config

DURATION = {
    "baseline_days": 30,
    "min_samples": 7,
    "slow_factor": 2.0,
    "slow_min_delta_minutes": 5,
    "fast_factor": 0.2,
    "fast_min_baseline_minutes": 10,
}
FLOWS = [
    {
        "name": "F",
        "ko_when": "all",
        "order": "sequential",
        "schedule": "weekdays",
        "deadline": "01:30",
        "duration": {"slow_factor": 3, "min_samples": 5},
        "pipelines": [
            "a",
            {
                "name": "b",
                "depends_on": [],
                "schedule": "weekly:mon,thu",
                "deadline": "02:00",
                "duration": {"baseline_days": 10, "min_samples": 3},
            },
        ],
    },
    {"name": "G", "ko_when": "any", "pipelines": ["c"]},
]
# Every key this module validates, in documents that are valid as they are.
DOCUMENTS: dict[str, dict[str, Any]] = {
    "csv": {
        "timezone": "Europe/Paris",
        "source": {
            "format": "csv",
            "path": "./export",
            "delimiter": ";",
            "timestamp_format": "dd/MM/yyyy HH:mm:ss",
            "columns": {
                "pipeline_name": "PipelineName",
                "start_time": "StartTime",
                "status": "Status",
                "end_time": "EndTime",
                "duration": "Duration",
                "error_message": "Error_msg",
            },
        },
        "storage": {"root": "./lakehouse"},
        "defaults": {"schedule": "daily", "deadline": "06:00", "duration": DURATION},
        "flows": FLOWS,
    },
    "jobs": {
        "source": {"format": "databricks_jobs", "lookback_hours": 48},
        "storage": {"catalog": "main", "schema": "pipeline_monitoring"},
        "flows": [{"name": "F", "pipelines": ["a"]}],
    },
}
WRONG: dict[str, Any] = {
    "list": ["x"],
    "dict": {"x": 1},
    "number": 12345,
    "negative": -1,
    "nan": math.nan,
    "null": None,
    "bool": True,
    "date": date(2025, 1, 1),  # what YAML makes of an unquoted 2025-01-01
    "empty": "",
    "huge": "x" * 100_000,
}


def key_paths(node: Any, prefix: str = "", steps: tuple[Any, ...] = ()) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(dotted path as error messages spell it, steps into the document) for every key and list item."""
    if isinstance(node, dict):
        for key, child in node.items():
            path = f"{prefix}.{key}" if prefix else key
            yield path, (*steps, key)
            yield from key_paths(child, path, (*steps, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            path = f"{prefix}[{index}]"
            yield path, (*steps, index)
            yield from key_paths(child, path, (*steps, index))


def replaced(document: dict[str, Any], steps: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    parent = changed
    for step in steps[:-1]:
        parent = parent[step]
    parent[steps[-1]] = value
    return changed


FREE_TEXT = {"name", "path", "root"}  # not timestamp_format: "xxxx…" is no Spark pattern
# min_samples 12345 > baseline_days; baseline_days 12345 > the 10-year bound
COUNTS_AND_FACTORS = {*DURATION, "lookback_hours"} - {"min_samples", "baseline_days"}


def _still_valid(path: str, label: str) -> bool:
    """The replacements that leave a valid document: each has a documented meaning, none is a gap."""
    last = path.rsplit(".", 1)[-1]
    pipeline_entry = re.fullmatch(r"flows\[\d+\]\.pipelines\[\d+\]", path) is not None
    header = path.startswith("source.columns.")
    return (
        (label == "null" and last in ("deadline", "defaults", "depends_on"))  # none; built-in; not given
        # Lenient: `defaults or {}` reads any empty value as no defaults ("", [], {}, 0, False).
        or (label == "empty" and path == "defaults")
        or (label == "huge" and (last in FREE_TEXT or pipeline_entry or header))  # names, paths, headers
        or (label == "number" and last in COUNTS_AND_FACTORS)  # 12345 days, hours or times the median
        or (label == "list" and last == "pipelines")  # ["x"]: a flow of one pipeline named x
    )


PATHS = [
    pytest.param(name, path, steps, id=f"{name}:{path}")
    for name, document in DOCUMENTS.items()
    for path, steps in key_paths(document)
]


@pytest.mark.parametrize(("document", "path", "steps"), PATHS)
def test_every_key_replaced_by_every_wrong_shape(document: str, path: str, steps: tuple[Any, ...]):
    problems = []
    for label, value in WRONG.items():
        try:
            parse_config(replaced(DOCUMENTS[document], steps, value))
        except ConfigError as error:
            message = str(error)
            if _still_valid(path, label):
                problems.append(f"{label}: rejected: {message[:200]}")
            elif not message.split(": ", 1)[0].startswith(path):
                problems.append(f"{label}: {message[:200]!r} does not name {path}")
            elif "\n" in message:
                problems.append(f"{label}: not one line")  # the CLI prints one line
        else:
            if not _still_valid(path, label):
                problems.append(f"{label}: accepted")
    assert problems == []


def test_the_generated_table_is_large():
    assert len(PATHS) * len(WRONG) >= 500


# --- random pipeline graphs: cycles, unknown predecessors, a pipeline in two flows ----------------------


def _reference_cycle(edges: dict[str, list[str]]) -> bool:
    """Whether ``edges`` (pipeline -> predecessors) has a cycle: Kahn's algorithm, no recursion."""
    indegree = dict.fromkeys(edges, 0)
    for deps in edges.values():
        for dep in deps:
            indegree[dep] += 1
    ready = [name for name, n in indegree.items() if n == 0]
    seen = 0
    while ready:
        name = ready.pop()
        seen += 1
        for dep in edges[name]:
            indegree[dep] -= 1
            if indegree[dep] == 0:
                ready.append(dep)
    return seen != len(edges)


def _graph_document(seed: int) -> tuple[dict[str, Any], str | None]:
    """A random multi-flow document and the error kind it must raise (None: valid)."""
    rng = random.Random(seed)
    names = [f"p{i}" for i in range(rng.randrange(2, 12))]
    edges = {name: sorted(set(rng.sample(names, rng.randrange(0, 3))) - {name}) for name in names}
    problem = rng.choice((None, None, "cycle", "unknown", "twice", "itself"))
    if problem == "cycle":
        a, b = rng.sample(names, 2)
        edges[a] = sorted({*edges[a], b})
        edges[b] = sorted({*edges[b], a})
    elif problem == "unknown":
        edges[rng.choice(names)].append("ghost")
    elif problem == "itself":
        name = rng.choice(names)
        edges[name] = [*edges[name], name]
    cut = rng.randrange(1, len(names))
    groups = [names[:cut], names[cut:]] if cut < len(names) else [names]
    flows = [
        {"name": f"F{i}", "pipelines": [{"name": n, "depends_on": edges[n]} for n in group]}
        for i, group in enumerate(groups)
    ]
    if problem == "twice":
        flows[-1]["pipelines"].append({"name": rng.choice(names)})
    expected = problem
    if problem is None and _reference_cycle({n: [d for d in deps if d != n] for n, deps in edges.items()}):
        expected = "cycle"
    source = {"format": "adf_diagnostic", "path": "x"}
    return {"source": source, "storage": {"root": "y"}, "flows": flows}, expected


GRAPH_MESSAGES = {
    "cycle": "depends_on: cycle ",
    "unknown": "depends_on: 'ghost' is not a configured pipeline",
    "itself": "is the pipeline itself",
    "twice": "is already configured at flows[",
}


def _graph_problem(seed: int) -> str | None:
    """What is wrong with how graph ``seed`` was handled; None when it was handled right."""
    document, problem = _graph_document(seed)
    try:
        config = parse_config(document)
    except ConfigError as error:
        message = str(error)
        if problem is None:
            return f"valid graph rejected: {message}"
        if problem == "cycle" and "is the pipeline itself" in message:
            return None  # a generated self-loop is reported as such first
        if GRAPH_MESSAGES[problem] not in message or not message.startswith("flows["):
            return f"{problem}: {message}"
        return None
    if problem is not None:
        return f"{problem} accepted"
    names = {p["name"] for f in document["flows"] for p in f["pipelines"]}
    return None if {p.name for p in config.pipelines} == names else "pipelines lost"


@pytest.mark.parametrize("first_seed", range(0, 300, 50))
def test_random_pipeline_graphs(first_seed: int):
    problems = {seed: _graph_problem(seed) for seed in range(first_seed, first_seed + 50)}
    assert {seed: p for seed, p in problems.items() if p} == {}
    kinds = Counter(_graph_document(seed)[1] for seed in range(first_seed, first_seed + 50))
    assert len(kinds) >= 4, kinds  # each chunk exercises most kinds of problem


# --- whatever the values: a ConfigError or a Config, never another exception (hypothesis) ---------------

JSON_LIKE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.dates(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
ALL_PATHS = [(name, steps) for name, document in DOCUMENTS.items() for _path, steps in key_paths(document)]


@settings(
    max_examples=250, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.sampled_from(ALL_PATHS), JSON_LIKE, st.booleans())
def test_parse_config_raises_only_config_errors(target: tuple[str, tuple[Any, ...]], value: Any, add_key: bool):
    name, steps = target
    document = DOCUMENTS[name]
    if add_key:  # an extra key next to an existing one: always an "unknown key"
        parent_steps = steps[:-1]
        parent = document
        for step in parent_steps:
            parent = parent[step]
        if not isinstance(parent, dict):
            return
        raw = replaced(document, (*parent_steps, "zz_unknown"), value)
    else:
        raw = replaced(document, steps, value)
    try:
        result = parse_config(raw)
    except ConfigError as error:
        assert "\n" not in str(error)
    else:
        assert isinstance(result, Config) and not add_key


# --- hostile YAML files ------------------------------------------------------------------------------------

GOOD = (
    "source: {format: adf_diagnostic, path: ./logs}\nstorage: {root: ./lake}\nflows:\n  - name: F\n    pipelines: [a]\n"
)
YAML_CASES = [
    pytest.param(GOOD.replace("[a]", "[a, a]"), "flows[0].pipelines[1].name", id="pipeline-twice"),
    pytest.param(GOOD + "defaults: {deadline: '01:30', deadline: '02:00'}\n", "given twice", id="duplicate-key"),
    pytest.param("\t" + GOOD, "not valid YAML", id="tab-indent"),
    pytest.param("!!python/object/apply:os.system ['true']\n", "not valid YAML", id="python-tag"),
    pytest.param(GOOD + "timezone: !!binary aGVsbG8=\n", "timezone: b'hello'", id="binary-tag"),
    pytest.param(GOOD.replace("[a]", "!!set {a: null}"), "flows[0].pipelines", id="set-tag"),
    pytest.param(GOOD + "defaults: {deadline: 2025-01-01 01:30:00}\n", "defaults.deadline", id="timestamp-tag"),
    pytest.param(GOOD + "x: \u0000\n", "not valid YAML", id="nul-character"),
    pytest.param(GOOD + "1: x\n", "1: unknown key", id="integer-key"),
    pytest.param(GOOD + "null: x\n", "None: unknown key", id="null-key"),
    pytest.param(
        GOOD + "? - a\n  - b\n: 1\n",
        "",
        id="sequence-as-key",
    ),
    pytest.param(
        GOOD + "timezone: " + "[" * 1000 + "]" * 1000 + "\n",
        "",
        id="deep-nesting",
    ),
]


@pytest.mark.parametrize(("text", "fragment"), YAML_CASES)
def test_hostile_yaml_is_a_config_error(tmp_path: Path, text: str, fragment: str):
    file = tmp_path / "monitoring.yml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(file)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_a_byte_order_mark_is_accepted(tmp_path: Path):
    file = tmp_path / "monitoring.yml"
    file.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())  # what Windows editors save
    assert [f.name for f in load_config(file).flows] == ["F"]


def test_alias_expansion_cannot_blow_up_the_message(tmp_path: Path):
    levels = ["&l0 [x, x, x, x, x, x, x, x, x, x]"] + [
        f"&l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 6)
    ]
    file = tmp_path / "monitoring.yml"
    file.write_text(GOOD + "timezone: [" + ", ".join(levels) + "]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(file)
    assert len(str(caught.value)) < 10_000


def test_a_long_depends_on_chain_is_checked():
    chain = [{"name": f"p{i}", "depends_on": [f"p{i + 1}"]} for i in range(1500)] + ["p1500"]
    config = parse_config({**DOCUMENTS["jobs"], "flows": [{"name": "F", "pipelines": chain}]})
    assert len(config.pipelines) == 1501


def test_an_absurd_baseline_is_rejected():
    with pytest.raises(ConfigError, match="baseline_days"):
        parse_config({**DOCUMENTS["jobs"], "defaults": {"duration": {"baseline_days": 1_000_000}}})
