"""import-factory and drift: ADF definitions (git folder, ARM export) -> flows, order, schedules; no Spark."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tzlocal.windows_tz import win_tz

from monitoring.cli import main
from monitoring.config import Schedule, load_config, parse_config
from monitoring.factory import drift_against, import_factory
from monitoring.factory.definitions import FactoryDefinitions, FactoryError, Trigger, load_definitions
from monitoring.factory.derive import combined_schedule, derive, trigger_schedule
from monitoring.factory.drift import find_drift
from monitoring.factory.timezones import UnknownTimeZoneError, iana_time_zone
from monitoring.factory.writer import import_config

FIXTURE = Path(__file__).parent / "fixtures" / "adf_factory"
GIT, ARM, HAND_WRITTEN = FIXTURE / "git", FIXTURE / "arm", FIXTURE / "monitoring.yml"


@pytest.fixture(scope="module")
def derivation():
    return derive(load_definitions(str(GIT)))


def members(derivation, master):
    return {m.name: m for m in next(f for f in derivation.flows if f.master == master).members}


# --- reading --------------------------------------------------------------------------------------------


def test_the_git_folder_and_the_arm_export_give_the_same_flows(derivation):
    from_arm = derive(load_definitions(str(ARM)))
    assert from_arm.factory.name == derivation.factory.name == "ADF-PROD"  # the ARM one from its parameters file
    assert from_arm.flows == derivation.flows  # the ARM time zone parameter resolved from the parameters file too
    assert from_arm.not_monitored == derivation.not_monitored


def test_an_unreadable_source_is_named(tmp_path):
    with pytest.raises(FactoryError, match="not found"):
        load_definitions(str(tmp_path / "nowhere"))
    (tmp_path / "pipeline").mkdir()
    (tmp_path / "pipeline" / "broken.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(FactoryError, match=r"broken\.json: not valid JSON"):
        load_definitions(str(tmp_path))
    assert main(["import-factory", str(tmp_path), "--out", str(tmp_path / "m.yml")]) == 2


# --- flows, members, order ------------------------------------------------------------------------------


def test_one_flow_per_master_of_a_started_trigger_in_trigger_time_order(derivation):
    assert [f.master for f in derivation.flows] == [
        "telephonie_master",  # 00:10
        "solaris_master",  # 02:00
        "reporting_weekly_master",  # 07:00
        "sitecom_master",  # 22:30
    ]
    assert derivation.timezone == "Europe/Paris"


def test_members_are_the_children_run_through_execute_pipeline_recursively(derivation):
    sitecom = members(derivation, "sitecom_master")
    assert list(sitecom) == [
        "sitecom_master",
        "sitecom_init_master",
        "sitecom_common_master",
        "sitecom_extract_master",
        "sitecom_external_elynx_master",  # run by sitecom_extract_master: nesting
        "sitecom_external_lesfurets_master",
        "sitecom_accounting_master",
        "accounting_cube_monthly_master",
        "sitecom_score_master",
    ]


def test_depends_on_follows_dependson_chains_and_containers(derivation):
    sitecom = members(derivation, "sitecom_master")
    assert sitecom["sitecom_common_master"].depends_on == ("sitecom_init_master",)
    # A child of a child follows what its parent follows.
    assert sitecom["sitecom_external_elynx_master"].depends_on == ("sitecom_init_master",)
    assert sitecom["sitecom_accounting_master"].depends_on == ("sitecom_common_master", "sitecom_extract_master")
    # After an If Condition: the pipeline inside it, and what the If follows (the false branch runs none).
    assert sitecom["sitecom_score_master"].depends_on == ("accounting_cube_monthly_master", "sitecom_accounting_master")
    solaris = members(derivation, "solaris_master")
    assert solaris["solaris_runners"].depends_on == ("solaris_copy_lds_table_from_lz",)  # inside a ForEach
    assert solaris["solaris_master"].depends_on == ()  # a master runs during its children: never after them


def test_conditional_children_are_on_demand_with_the_reason(derivation):
    sitecom, solaris = members(derivation, "sitecom_master"), members(derivation, "solaris_master")
    assert "If Condition 'If first day of month'" in sitecom["accounting_cube_monthly_master"].on_demand_because
    assert "ends Failed" in solaris["solaris_notify_failure"].on_demand_because
    assert solaris["solaris_runners"].on_demand_because is None  # a ForEach runs whenever its parent does
    assert derivation.schedule_of("solaris_notify_failure") == Schedule("on_demand")
    assert derivation.schedule_of("solaris_runners") == Schedule("daily")


def test_a_shared_child_goes_to_the_first_master_by_trigger_time_and_the_others_say_so(derivation):
    assert "dim_calendar_refresh" in members(derivation, "telephonie_master")
    assert "dim_calendar_refresh" not in members(derivation, "sitecom_master")
    sitecom = next(f for f in derivation.flows if f.master == "sitecom_master")
    assert any(n.startswith("dim_calendar_refresh is also run here") for n in sitecom.notes)
    assert members(derivation, "telephonie_master")["dim_calendar_refresh"].notes == (
        "also run by sitecom_master (listed here only)",
    )


def test_nothing_is_dropped_silently(derivation):
    listed = {p for f in derivation.flows for p in f.pipelines}
    unmonitored = {n.pipeline: n.why for n in derivation.not_monitored}
    assert listed | set(unmonitored) == set(derivation.factory.pipelines)
    assert not listed & set(unmonitored)
    assert unmonitored["sitecom_accumulator_purge_master"] == "its trigger TR_Sitecom_Purge_Sunday is stopped"
    assert unmonitored["sitecom_backfill_adhoc"] == "no trigger starts it, and no pipeline runs it"


def test_the_evening_master_gets_a_day_starts_at_suggestion(derivation):
    sitecom = next(f for f in derivation.flows if f.master == "sitecom_master")
    assert any('day_starts_at: "-02:00"' in n for n in sitecom.notes)
    telephonie = next(f for f in derivation.flows if f.master == "telephonie_master")
    assert not any("day_starts_at" in n for n in telephonie.notes)


def _execute(name, child, after=(), conditions=("Succeeded",), wait=True):
    return {
        "name": name,
        "type": "ExecutePipeline",
        "dependsOn": [{"activity": a, "dependencyConditions": list(conditions)} for a in after],
        "typeProperties": {"pipeline": {"referenceName": child, "type": "PipelineReference"}, "waitOnCompletion": wait},
    }


def _factory(pipelines, triggers):
    return FactoryDefinitions(
        "F", "test", MappingProxyType({k: {"activities": v} for k, v in pipelines.items()}), triggers
    )


def _daily(name, pipelines, hour=1, started=True, **extra):
    recurrence = {"frequency": "Day", "interval": 1, "timeZone": "UTC", "schedule": {"hours": [hour], "minutes": [0]}}
    return Trigger(name, "ScheduleTrigger", started, tuple(pipelines), MappingProxyType({**recurrence, **extra}))


def test_no_wait_no_order_switch_and_loops_nested_in_branches():
    factory = _factory(
        {
            "m": [
                _execute("fire and forget", "a", wait=False),
                _execute("after", "b", after=["fire and forget"]),
                {
                    "name": "switch",
                    "type": "Switch",
                    "dependsOn": [{"activity": "after", "dependencyConditions": ["Completed"]}],
                    "typeProperties": {
                        "cases": [
                            {
                                "value": "x",
                                "activities": [
                                    {
                                        "name": "loop",
                                        "type": "Until",
                                        "typeProperties": {"activities": [_execute("c", "c")]},
                                    }
                                ],
                            }
                        ],
                        "defaultActivities": [],
                    },
                },
                _execute("skipped path", "d", after=["after"], conditions=["Skipped"]),
                _execute("ghost", "not_defined"),
            ],
            "a": [],
            "b": [],
            "c": [],
            "d": [],
        },
        (_daily("t", ["m"]),),
    )
    derived = derive(factory)
    found = {m.name: m for m in derived.flows[0].members}
    assert found["b"].depends_on == ()  # "a" was not waited on
    assert found["c"].depends_on == ("b",)  # a Completed dependency is an ordering one
    assert "case 'x' of Switch 'switch'" in found["c"].on_demand_because  # an Until inside a Switch case
    assert "ends Skipped" in found["d"].on_demand_because
    assert "not_defined" not in found
    assert any("'not_defined', which the factory does not define" in n for n in derived.flows[0].notes)


def test_a_cycle_of_execute_pipeline_is_noted_not_followed():
    factory = _factory({"m": [_execute("x", "a")], "a": [_execute("back", "m")]}, (_daily("t", ["m"]),))
    derived = derive(factory)
    assert derived.flows[0].pipelines == ("m", "a")
    assert any("a cycle" in n for n in derived.flows[0].notes)


# --- schedules and time zones ---------------------------------------------------------------------------


def _trigger(recurrence, kind="ScheduleTrigger"):
    return Trigger("t", kind, True, ("p",), MappingProxyType(recurrence))


@pytest.mark.parametrize(
    ("recurrence", "expected"),
    [
        ({"frequency": "Day", "interval": 1, "schedule": {"hours": [2, 14], "minutes": [0]}}, "daily"),
        (
            {
                "frequency": "Week",
                "interval": 1,
                "schedule": {"weekDays": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]},
            },
            "weekdays",
        ),
        ({"frequency": "Week", "interval": 1, "schedule": {"weekDays": ["Thursday", "Monday"]}}, "weekly:mon,thu"),
        ({"frequency": "Week", "interval": 1, "startTime": "2025-04-09T06:00:00"}, "weekly:wed"),
        ({"frequency": "Month", "interval": 1, "schedule": {"monthDays": [15, 1, -1]}}, "monthly:last,1,15"),
        ({"frequency": "Month", "interval": 1, "schedule": {"monthDays": [-2]}}, "on_demand"),
        (
            {
                "frequency": "Month",
                "interval": 1,
                "schedule": {"monthlyOccurrences": [{"day": "Friday", "occurrence": 1}]},
            },
            "on_demand",
        ),
        ({"frequency": "Day", "interval": 2}, "on_demand"),
        ({"frequency": "Hour", "interval": 1}, "on_demand"),
        ({"frequency": "Minute", "interval": 15}, "on_demand"),
    ],
)
def test_schedules_come_from_the_recurrence(recurrence, expected):
    derived = trigger_schedule(_trigger({"timeZone": "UTC", **recurrence}))
    assert derived.schedule.text == expected
    assert (derived.why_on_demand is not None) == (expected == "on_demand")


def test_tumbling_window_and_missing_time_zone():
    tumbling = trigger_schedule(_trigger({"frequency": "Hour", "interval": 24}, kind="TumblingWindowTrigger"))
    assert tumbling.schedule.kind == "on_demand" and "TumblingWindowTrigger" in tumbling.why_on_demand
    no_zone = trigger_schedule(_trigger({"frequency": "Day", "interval": 1}))
    assert no_zone.timezone == "UTC" and "UTC" in no_zone.timezone_note


def test_several_triggers_make_one_schedule_when_it_can_be_said():
    def said(*recurrences):
        return combined_schedule([trigger_schedule(_trigger({"interval": 1, **r})) for r in recurrences])

    week = {"frequency": "Week"}
    assert (
        said({**week, "schedule": {"weekDays": ["Monday"]}}, {**week, "schedule": {"weekDays": ["Thursday"]}})[0].text
        == "weekly:mon,thu"
    )
    assert said({"frequency": "Day"}, {**week, "schedule": {"weekDays": ["Monday"]}})[0].text == "daily"
    mixed, note = said(
        {**week, "schedule": {"weekDays": ["Monday"]}}, {"frequency": "Month", "schedule": {"monthDays": [1]}}
    )
    assert mixed.kind == "on_demand" and "set one by hand" in note
    hourly, note = said({"frequency": "Day"}, {"frequency": "Hour"})
    assert hourly.text == "daily" and "no calendar schedule" in note


def test_windows_zones_map_through_cldr():
    assert iana_time_zone("Romance Standard Time") == "Europe/Paris"
    assert iana_time_zone("W. Europe Standard Time") == "Europe/Berlin"
    assert iana_time_zone("UTC") == "UTC"
    assert iana_time_zone("Europe/Paris") == "Europe/Paris"  # already IANA
    with pytest.raises(UnknownTimeZoneError):
        iana_time_zone("Mars Standard Time")
    for windows_name in win_tz:  # every name of the table gives a zone this machine can load
        ZoneInfo(iana_time_zone(windows_name))


# --- the written file and re-import ---------------------------------------------------------------------


def same_order(flows):
    """Flows with each depends_on sorted: the order of a depends_on list means nothing."""
    return [
        replace(f, pipelines=tuple(replace(p, depends_on=tuple(sorted(p.depends_on))) for p in f.pipelines))
        for f in flows
    ]


def test_a_fresh_import_is_a_valid_commented_config(tmp_path, derivation):
    out = tmp_path / "monitoring.yml"
    assert main(["import-factory", str(GIT), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    config = load_config(out)
    assert [f.name for f in config.flows] == [f.master for f in derivation.flows]
    assert "#   sitecom_backfill_adhoc: no trigger starts it" in text
    assert "schedule: on_demand   # in the true branch of If Condition 'If first day of month'" in text
    assert "# TR_Sitecom_Evening: every day at 22:30" in text


def test_reimport_over_the_hand_written_file_changes_no_derived_value(tmp_path, capsys):
    out = tmp_path / "monitoring.yml"
    shutil.copy(HAND_WRITTEN, out)
    assert main(["import-factory", str(ARM), "--out", str(out)]) == 0
    assert "changed:" not in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    # Top-level sections the factory cannot derive are copied as written, comments included.
    assert "    - {flow: Sitecom, on_change: {statuses: [KO]}}   # Sitecom's warnings wait for the digest" in text
    merged, hand = load_config(out), load_config(HAND_WRITTEN)
    assert same_order(merged.flows) == same_order(hand.flows)
    assert merged.defaults == hand.defaults and merged.alerts == hand.alerts
    # A second import of the same factory is byte for byte the first.
    assert import_factory(str(GIT), out).text.replace(str(GIT), str(ARM / "ARMTemplateForFactory.json")) == text


def test_reimport_keeps_hand_set_keys_and_prints_each_derived_value_it_changes(tmp_path, capsys):
    hand = yaml.safe_load(HAND_WRITTEN.read_text(encoding="utf-8"))
    telephonie, solaris, reporting, sitecom = hand["flows"]
    telephonie["name"] = "Téléphonie"  # renamed by hand: still the flow of telephonie_master
    telephonie["pipelines"] = ["telephonie_master", "telephonie_ods_cti_export_incremental"]
    reporting["schedule"] = "daily"
    solaris["order"] = "sequential"
    solaris["pipelines"] = [
        "solaris_master",
        "solaris_clean_sources",
        "solaris_copy_lds_table_from_lz",
        {"name": "solaris_runners", "deadline": "04:00"},
    ]
    sitecom["pipelines"].append({"name": "sitecom_renamed_away", "deadline": "06:00"})
    out = tmp_path / "monitoring.yml"
    out.write_text(yaml.safe_dump(hand, sort_keys=False, allow_unicode=True), encoding="utf-8")
    assert main(["import-factory", str(GIT), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for line in [
        "changed: flow Téléphonie: + dim_calendar_refresh (daily)",
        "changed: flow Téléphonie: telephonie_ods_cti_export_incremental depends_on [] -> [dim_calendar_refresh]",
        "changed: flow Reporting: reporting_weekly_master schedule daily -> weekly:mon,thu",
        "changed: flow Solaris: order sequential -> depends_on from the factory",
        "changed: flow Solaris: solaris_clean_sources depends_on [solaris_master] -> []",
        "changed: flow Solaris: + solaris_notify_failure (on_demand)",
        "changed: flow Sitecom: - sitecom_renamed_away (no longer run by its master)",
    ]:
        assert line in printed
    merged = load_config(out)
    assert merged.flows[0].name == "Téléphonie"
    rules = {p.name: p for p in merged.pipelines}
    assert rules["solaris_runners"].deadline.strftime("%H:%M") == "04:00"  # a hand-set key survives
    assert rules["telephonie_master"].deadline.strftime("%H:%M") == "01:30"  # the flow's, kept
    assert merged.flows[1].ko_when == "any"


def test_an_existing_file_that_does_not_load_is_named_and_left_alone(tmp_path, capsys):
    out = tmp_path / "monitoring.yml"
    out.write_text("flows: [\n", encoding="utf-8")
    assert main(["import-factory", str(GIT), "--out", str(out)]) == 2
    assert "not valid YAML" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "flows: [\n"


def test_a_merge_that_would_not_load_writes_nothing(tmp_path):
    hand = yaml.safe_load(HAND_WRITTEN.read_text(encoding="utf-8"))
    hand["alerts"]["overrides"].append({"pipeline": "sitecom_renamed_away", "mute": True})
    hand["flows"][3]["pipelines"].append("sitecom_renamed_away")
    out = tmp_path / "monitoring.yml"
    out.write_text(yaml.safe_dump(hand, sort_keys=False), encoding="utf-8")
    before = out.read_text(encoding="utf-8")
    assert main(["import-factory", str(GIT), "--out", str(out)]) == 2
    assert out.read_text(encoding="utf-8") == before


# --- drift ----------------------------------------------------------------------------------------------


def test_the_hand_written_file_has_no_drift():
    assert main(["validate-config", str(HAND_WRITTEN), "--factory", str(GIT)]) == 0


def test_drift_is_one_line_each_and_exit_3(tmp_path, capsys, derivation):
    hand = yaml.safe_load(HAND_WRITTEN.read_text(encoding="utf-8"))
    hand["flows"][0]["pipelines"] = ["telephonie_master", "telephonie_ods_cti_export_incremantal"]  # typo/rename
    hand["flows"][2]["schedule"] = "daily"
    hand["flows"][3]["pipelines"].append("sitecom_accumulator_purge_master")
    path = tmp_path / "monitoring.yml"
    path.write_text(yaml.safe_dump(hand, sort_keys=False), encoding="utf-8")
    findings = [f.line for f in drift_against(load_config(path), str(ARM))]
    assert findings == [
        "unmonitored: dim_calendar_refresh: started by TR_Telephonie_Nightly through telephonie_master, but in no flow",
        "unmonitored: telephonie_ods_cti_export_incremental: started by TR_Telephonie_Nightly through "
        "telephonie_master, but in no flow",
        "unknown_pipeline: telephonie_ods_cti_export_incremantal: flow Telephonie lists it; factory ADF-PROD has no "
        "such pipeline (renamed telephonie_ods_cti_export_incremental?)",
        "schedule: reporting_weekly_master: flow Reporting says daily, TR_Reporting_Weekly says weekly:mon,thu",
        "stopped_trigger: sitecom_accumulator_purge_master: flow Sitecom: its trigger TR_Sitecom_Purge_Sunday is "
        "stopped, so it does not run",
    ]
    assert main(["validate-config", str(path), "--factory", str(GIT)]) == 3
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("drift: ")]
    assert printed == [f"drift: {line}" for line in findings]


def test_source_factory_is_validated():
    document = yaml.safe_load(HAND_WRITTEN.read_text(encoding="utf-8"))
    document["source"]["factory"] = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.DataFactory/factories/f"
    assert parse_config(document).source.factory.endswith("/factories/f")
    document["source"]["factory"] = "/subscriptions/x/factories/f"
    with pytest.raises(ValueError, match=r"source\.factory"):
        parse_config(document)


def test_source_fetch_needs_a_live_factory_and_saved_responses():
    document = yaml.safe_load(HAND_WRITTEN.read_text(encoding="utf-8"))
    live = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.DataFactory/factories/f"
    document["source"] = {"format": "adf_rest_api", "path": "./runs", "factory": live, "fetch": True}
    assert parse_config(document).source.fetch is True
    for source, problem in [
        ({"format": "adf_rest_api", "path": "./runs", "factory": live, "fetch": "yes"}, "is not true or false"),
        ({"format": "adf_rest_api", "path": "./runs", "factory": str(GIT), "fetch": True}, "a live source.factory"),
        ({"format": "adf_diagnostic", "path": "./logs", "factory": live, "fetch": True}, "format 'adf_rest_api'"),
    ]:
        document["source"] = source
        with pytest.raises(ValueError, match=rf"^source\.fetch: .*{problem}"):
            parse_config(document)
    document["source"] = {"format": "adf_rest_api", "path": "abfss://runs@acct.dfs.core.windows.net/", "factory": live}
    with pytest.raises(ValueError, match=r"^source\.path: .* is a URL"):
        parse_config({**document, "source": {**document["source"], "fetch": True}})


def test_find_drift_on_the_example_config_sees_every_kind(derivation):
    example = load_config(Path(__file__).parents[1] / "config" / "monitoring.example.yml")
    kinds = {f.kind for f in find_drift(example, derivation)}
    assert kinds == {"unmonitored", "unknown_pipeline", "stopped_trigger", "schedule"}


def test_import_config_of_a_derivation_without_existing_file(derivation):
    result = import_config(derivation)
    assert result.changes == ()
    assert result.config.source.format == "adf_diagnostic"


# --- the "not monitored" block of the digest and the report ---------------------------------------------


def test_the_digest_and_the_report_show_the_not_monitored_block():
    from datetime import UTC, date, datetime

    from monitoring.alerts.messages import email_html, plain_text, teams_card
    from monitoring.alerts.plan import DIGEST, Message, build_digest
    from monitoring.factory.drift import DriftFinding
    from monitoring.report import ReportData, render_report

    day = date(2026, 3, 18)
    findings = (
        DriftFinding("unmonitored", "<b>new_pipeline</b>", "started by TR_Nightly, but in no flow"),
        DriftFinding("stopped_trigger", "purge", "flow Sitecom: its trigger TR_Purge is stopped, so it does not run"),
    )
    digest = build_digest(day, ["Sitecom"], [], [], findings)
    message = Message(DIGEST, day, "email", "digest", (), digest=digest)
    text = plain_text(message)
    assert "Not monitored: the config and the factory disagree:" in text
    assert "  - unmonitored: <b>new_pipeline</b>: started by TR_Nightly, but in no flow" in text
    markup = email_html(message)
    assert "&lt;b&gt;new_pipeline&lt;/b&gt;" in markup and "<b>new_pipeline" not in markup
    assert "TR_Purge is stopped" in str(teams_card(message))
    quiet = build_digest(day, ["Sitecom"], [], [])
    assert "Not monitored" not in plain_text(Message(DIGEST, day, "email", "digest", (), digest=quiet))
    page = render_report(ReportData(day, 3, None, (), (), not_monitored=findings), datetime(2026, 3, 18, 7, tzinfo=UTC))
    assert 'id="not-monitored"' in page and "&lt;b&gt;new_pipeline&lt;/b&gt;" in page
    assert 'id="not-monitored"' not in render_report(
        ReportData(day, 3, None, (), ()), datetime(2026, 3, 18, tzinfo=UTC)
    )


# --- invariants over generated factories ----------------------------------------------------------------

NAMES = [f"p{i}" for i in range(8)]


@st.composite
def factories(draw: st.DrawFn) -> FactoryDefinitions:
    """Pipelines calling each other (cycles included) through chains, containers and failure paths; triggers."""

    def activities(depth: int) -> list[dict]:
        found: list[dict] = []
        for index in range(draw(st.integers(0, 3))):
            name = f"a{depth}_{index}"
            kind = draw(st.sampled_from(["ExecutePipeline", "ExecutePipeline", "Wait", "ForEach", "IfCondition"]))
            after = draw(st.lists(st.sampled_from([a["name"] for a in found]), max_size=2)) if found else []
            conditions = draw(st.sampled_from([["Succeeded"], ["Completed"], ["Failed"], ["Skipped"]]))
            activity = {
                "name": name,
                "type": kind,
                "dependsOn": [{"activity": a, "dependencyConditions": conditions} for a in dict.fromkeys(after)],
            }
            if kind == "ExecutePipeline":
                child = draw(st.sampled_from(NAMES))
                activity["typeProperties"] = {
                    "pipeline": {"referenceName": child},
                    "waitOnCompletion": draw(st.booleans()),
                }
            elif kind == "ForEach" and depth < 2:
                activity["typeProperties"] = {"activities": activities(depth + 1)}
            elif kind == "IfCondition" and depth < 2:
                activity["typeProperties"] = {"ifTrueActivities": activities(depth + 1), "ifFalseActivities": []}
            found.append(activity)
        return found

    pipelines = {name: {"activities": activities(0)} for name in NAMES}
    triggers = tuple(
        _daily(
            f"t{i}",
            draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=2)),
            draw(st.integers(0, 23)),
            draw(st.booleans()),
        )
        for i in range(draw(st.integers(0, 4)))
    )
    return FactoryDefinitions("F", "generated", MappingProxyType(pipelines), triggers)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(factories())
def test_any_factory_gives_a_loadable_file_that_drops_nothing(factory):
    derived = derive(factory)
    listed = [p for f in derived.flows for p in f.pipelines]
    assert len(listed) == len(set(listed))  # a pipeline in one flow only
    assert set(listed) | {n.pipeline for n in derived.not_monitored} == set(factory.pipelines)
    if derived.flows:
        result = import_config(derived)  # the config parser accepts it: no cycle, no unknown depends_on
        assert find_drift(result.config, derived) == []  # and it has no drift from its own factory
        assert import_config(derived, result.text).changes == ()  # re-import changes nothing
