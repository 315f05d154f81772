"""Flows, members, order and schedules derived from a factory's definitions. Pure: no I/O.

- **Flows.** One per pipeline a started trigger starts (its *master*), named after it. Its members are the master
  and every pipeline it runs through Execute Pipeline, recursively.
- **Order.** A member ``depends_on`` the pipelines that have ended when its Execute Pipeline activity starts: those
  run by the activities it depends on (``dependsOn``) with ``waitOnCompletion``. Other activities pass on what they
  follow; a container (ForEach, Until, If Condition, Switch) is followed through the pipelines inside it (and, for
  If and Switch, whose taken branch may run none, what the container itself follows); a child inside a container,
  or inside a child pipeline, follows what that container or pipeline follows.
- **Which children are expected.** Inside ForEach or Until: whenever the parent runs. Inside an If Condition or
  Switch branch, or after a dependency on Failed or Skipped only: sometimes, so ``on_demand``, with the reason.
- **Schedules** from the trigger's recurrence (:func:`trigger_schedule`).
- **One flow per pipeline.** A child run by several masters goes to the first master's flow by trigger time (the
  others say so in a comment); pipelines no started trigger reaches are listed as not monitored, with why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from typing import Any

from monitoring.config import WEEKDAYS, Schedule
from monitoring.factory.definitions import FactoryDefinitions, Trigger
from monitoring.factory.timezones import UnknownTimeZoneError, iana_time_zone

EXECUTE_PIPELINE = "ExecutePipeline"
LOOPS = frozenset({"ForEach", "Until"})  # run their activities whenever they run
ALWAYS_CONDITIONS = {"Succeeded", "Completed"}  # the successor also runs when its predecessor succeeded
EVENING = time(18, 0)  # a master starting at or after this gets the day_starts_at suggestion
ADF_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ON_DEMAND = Schedule("on_demand")


@dataclass(frozen=True)
class TriggerSchedule:
    """What one trigger says about when its pipelines run."""

    trigger: str
    schedule: Schedule  # on_demand when the recurrence cannot be said as a monitoring.yml schedule
    describes: str  # the recurrence in words ("every day at 00:10")
    why_on_demand: str | None  # set when ``schedule`` is on_demand for want of a calendar schedule
    first_time: time  # the earliest time of day it fires (orders masters; the evening check)
    timezone: str | None  # IANA; None when the trigger gives none (ADF's default is UTC) or an unknown one
    timezone_note: str | None = None
    several_times: bool = False  # fires more than once a day


@dataclass(frozen=True)
class DerivedMember:
    name: str
    depends_on: tuple[str, ...] = ()
    on_demand_because: str | None = None  # why it runs only sometimes
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DerivedFlow:
    master: str
    schedule: Schedule
    timezone: str | None
    triggers: tuple[TriggerSchedule, ...]
    members: tuple[DerivedMember, ...]  # the master first, then in activity order
    notes: tuple[str, ...] = ()

    @property
    def pipelines(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.members)


@dataclass(frozen=True)
class NotMonitored:
    pipeline: str
    why: str


@dataclass(frozen=True)
class Derivation:
    factory: FactoryDefinitions
    timezone: str | None  # the flows' zone (the first flow's when they differ)
    flows: tuple[DerivedFlow, ...]
    not_monitored: tuple[NotMonitored, ...]
    notes: tuple[str, ...] = ()  # factory-wide remarks (a zone that differs, an undefined pipeline...)
    stopped: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)  # pipeline -> stopped triggers

    def flow_of(self, pipeline: str) -> DerivedFlow | None:
        return next((f for f in self.flows if pipeline in f.pipelines), None)

    def member(self, pipeline: str) -> tuple[DerivedFlow, DerivedMember] | None:
        for flow in self.flows:
            for member in flow.members:
                if member.name == pipeline:
                    return flow, member
        return None

    def schedule_of(self, pipeline: str) -> Schedule | None:
        found = self.member(pipeline)
        if found is None:
            return None
        return ON_DEMAND if found[1].on_demand_because else found[0].schedule


# --- schedules -------------------------------------------------------------------------------------------


def _clock(hours: Sequence[int], minutes: Sequence[int]) -> list[time]:
    return sorted(time(h, m) for h in hours for m in minutes)


def _start(recurrence: Mapping[str, Any]) -> datetime | None:
    text = recurrence.get("startTime")
    if not isinstance(text, str):
        return None
    try:  # ADF writes up to 7 fractional digits; the wall clock is all that matters here
        return datetime.fromisoformat(text[:19])
    except ValueError:
        return None


def _ints(values: Any) -> list[int] | None:
    if values is None:
        return None
    if not isinstance(values, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{values!r} is not a list of whole numbers")
    return values


def trigger_schedule(trigger: Trigger) -> TriggerSchedule:
    """The schedule a trigger gives its pipelines.

    ``Day`` every 1 day (at one or several hours) is daily: the day's final run decides. ``Week`` with weekDays is
    weekly, or weekdays; ``Month`` with monthDays is monthly (-1 is the last day). Anything else (an interval above
    1, monthlyOccurrences, minutes or hours, a tumbling window, an event) is on_demand, with the reason.
    """
    recurrence = trigger.recurrence
    frequency = str(recurrence.get("frequency", ""))
    interval = recurrence.get("interval", 1)
    start = _start(recurrence)
    plan = recurrence.get("schedule") or {}
    zone_name = recurrence.get("timeZone")
    timezone, zone_note = None, None
    if isinstance(zone_name, str) and zone_name.strip():
        try:
            timezone = iana_time_zone(zone_name)
            if timezone != zone_name:
                zone_note = f'"{zone_name}" is {timezone}'
        except UnknownTimeZoneError as error:
            zone_note = str(error)
    elif trigger.type == "ScheduleTrigger":
        timezone, zone_note = "UTC", "no timeZone: ADF reads the times as UTC"
    try:
        hours = _ints(plan.get("hours")) or [start.hour if start else 0]
        minutes = _ints(plan.get("minutes")) or [start.minute if start else 0]
        times = _clock(hours, minutes)
    except ValueError as error:
        times = [time(0)]
        frequency, problem = "", f"its schedule is unreadable ({error})"
    else:
        problem = None
    at = ", ".join(f"{t:%H:%M}" for t in times)
    base = {"trigger": trigger.name, "first_time": times[0], "timezone": timezone, "timezone_note": zone_note}

    def on_demand(describes: str, why: str) -> TriggerSchedule:
        return TriggerSchedule(schedule=ON_DEMAND, describes=describes, why_on_demand=why, **base)

    def calendar(schedule: Schedule, describes: str) -> TriggerSchedule:
        several = len(times) > 1
        return TriggerSchedule(
            schedule=schedule, describes=describes, why_on_demand=None, several_times=several, **base
        )

    if trigger.type != "ScheduleTrigger":
        what = f"a {trigger.type or 'trigger'}"
        if trigger.type == "TumblingWindowTrigger":
            what += f" (every {interval} {frequency.lower() or 'period'})"
        return on_demand(what, f"{what} has no calendar schedule the config can say")
    if problem:
        return on_demand("an unreadable recurrence", problem)
    if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
        return on_demand(f"every {interval!r} {frequency}", f"interval {interval!r} is not a whole number >= 1")
    if frequency in ("Minute", "Hour"):
        every = f"every {interval} {frequency.lower()}{'s' if interval > 1 else ''}"
        return on_demand(every, f"it runs {every}: more than once a day, with no calendar day the config can say")
    if frequency not in ("Day", "Week", "Month"):
        return on_demand(f"frequency {frequency!r}", f"frequency {frequency!r} is not one ADF documents")
    if interval > 1:
        every = f"every {interval} {frequency.lower()}s at {at}"
        return on_demand(
            every, f"it runs {every}: the config has no schedule for one {frequency.lower()} in {interval}"
        )
    if frequency == "Day":
        return calendar(Schedule("daily"), f"every day at {at}")
    if frequency == "Week":
        names = plan.get("weekDays") or ([ADF_WEEKDAYS[start.weekday()]] if start else [])
        unknown = [d for d in names if d not in ADF_WEEKDAYS]
        if not names or unknown:
            return on_demand(f"weekly at {at}", f"weekDays {names!r} are not days of the week")
        days = tuple(sorted({ADF_WEEKDAYS.index(d) + 1 for d in names}))
        shown = ", ".join(WEEKDAYS[d - 1] for d in days)
        if len(days) == 7:
            return calendar(Schedule("daily"), f"every day of the week at {at}")
        if days == (1, 2, 3, 4, 5):
            return calendar(Schedule("weekdays"), f"Monday to Friday at {at}")
        return calendar(Schedule("weekly", days), f"every week on {shown} at {at}")
    if plan.get("monthlyOccurrences"):
        occurrences = ", ".join(
            f"{o.get('day')} #{o.get('occurrence')}" for o in plan["monthlyOccurrences"] if isinstance(o, Mapping)
        )
        return on_demand(
            f"monthly on {occurrences}", "monthlyOccurrences (the nth weekday of a month) has no config schedule"
        )
    try:
        month_days = _ints(plan.get("monthDays")) or ([start.day] if start else [])
    except ValueError as error:
        return on_demand(f"monthly at {at}", f"monthDays: {error}")
    if not month_days or any(d == 0 or d < -1 or d > 31 for d in month_days):
        return on_demand(
            f"monthly on days {month_days} at {at}", "only days 1 to 31 and -1 (the last day) have a config schedule"
        )
    days = tuple(sorted({0 if d == -1 else d for d in month_days}))
    schedule = Schedule("monthly", days)
    return calendar(schedule, f"every month on {schedule.text.removeprefix('monthly:')} at {at}")


def combined_schedule(schedules: Sequence[TriggerSchedule]) -> tuple[Schedule, str | None]:
    """The schedule several triggers of one master make together, and a note when it needs one."""
    calendars = [s for s in schedules if s.why_on_demand is None]
    if not calendars:
        return ON_DEMAND, None
    kinds = {s.schedule.kind for s in calendars}
    ignored = [s.trigger for s in schedules if s.why_on_demand is not None]
    note = f"triggers {', '.join(ignored)} add runs on no calendar schedule" if ignored else None
    if len({s.schedule for s in calendars}) == 1:
        return calendars[0].schedule, note
    if "daily" in kinds:
        return Schedule("daily"), note
    if kinds <= {"weekly", "weekdays"}:
        days = set()
        for s in calendars:
            days |= set(s.schedule.days) if s.schedule.kind == "weekly" else {1, 2, 3, 4, 5}
        if len(days) == 7:
            return Schedule("daily"), note
        if days == {1, 2, 3, 4, 5}:
            return Schedule("weekdays"), note
        return Schedule("weekly", tuple(sorted(days))), note
    if kinds == {"monthly"}:
        return Schedule("monthly", tuple(sorted({d for s in calendars for d in s.schedule.days}))), note
    said = "; ".join(f"{s.trigger}: {s.schedule.text}" for s in calendars)
    return ON_DEMAND, f"its triggers make no one schedule the config can say ({said}): set one by hand"


# --- the activity graph ------------------------------------------------------------------------------------


@dataclass
class _Walk:
    """Members found while walking one master's activities (depth first, in activity order)."""

    pipelines: Mapping[str, Mapping[str, Any]]
    members: dict[str, DerivedMember] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    stack: list[str] = field(default_factory=list)

    def add(self, name: str, follows: frozenset[str], because: str | None, where: str) -> None:
        follows = frozenset(follows - {name})
        known = self.members.get(name)
        if known is None:
            self.members[name] = DerivedMember(name, tuple(sorted(follows)), because)
            return
        # Run in several places of one master: expected if any place runs it every time; order from the first.
        note = f"also run by {where}"
        self.members[name] = replace(
            known,
            on_demand_because=known.on_demand_because if because else None,
            notes=(*known.notes, note) if note not in known.notes else known.notes,
        )


def _in_order(activities: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Activities in an order that respects ``dependsOn`` (listing order among the free ones)."""
    names = {a.get("name") for a in activities}
    done: set[str] = set()
    ordered: list[Mapping[str, Any]] = []
    pending = list(activities)
    while pending:
        for activity in pending:
            needs = {d.get("activity") for d in activity.get("dependsOn") or []} & names
            if needs <= done:
                ordered.append(activity)
                done.add(activity.get("name"))
                pending.remove(activity)
                break
        else:  # ADF refuses cycles; a hand-edited file might not: keep listing order for the rest
            ordered += pending
            break
    return ordered


def _branches(activity: Mapping[str, Any]) -> list[tuple[list[Mapping[str, Any]], str | None]]:
    """A container's inner activity lists, each with why it runs only sometimes (None: whenever it runs)."""
    kind, props, name = activity.get("type"), activity.get("typeProperties") or {}, activity.get("name")
    if kind in LOOPS:
        return [(props.get("activities") or [], None)]
    if kind == "IfCondition":
        return [
            (props.get("ifTrueActivities") or [], f"in the true branch of If Condition '{name}'"),
            (props.get("ifFalseActivities") or [], f"in the false branch of If Condition '{name}'"),
        ]
    if kind == "Switch":
        cases = [
            (c.get("activities") or [], f"in case {c.get('value')!r} of Switch '{name}'")
            for c in props.get("cases") or []
        ]
        return [*cases, (props.get("defaultActivities") or [], f"in the default case of Switch '{name}'")]
    return []


def _walk_activities(
    walk: _Walk,
    pipeline: str,
    activities: Sequence[Mapping[str, Any]],
    entry: frozenset[str],
    because: str | None,
) -> frozenset[str]:
    """Walk one list of activities whose roots follow ``entry``; returns the pipelines its activities wait on."""
    ended: dict[str, frozenset[str]] = {}  # activity -> pipelines ended once it has completed
    sometimes: dict[str, str | None] = {}
    waited: set[str] = set()
    for activity in _in_order(activities):
        name = str(activity.get("name"))
        follows: set[str] = set()
        why = because
        dependencies = [d for d in activity.get("dependsOn") or [] if d.get("activity") in ended]
        for dependency in dependencies:
            follows |= ended[dependency["activity"]]
            conditions = set(dependency.get("dependencyConditions") or ["Succeeded"])
            why = why or sometimes.get(dependency["activity"])
            if not conditions & ALWAYS_CONDITIONS and why is None:
                why = (
                    f"runs only when activity '{dependency['activity']}' of {pipeline} ends "
                    f"{' or '.join(sorted(conditions))}"
                )
        follows_now = frozenset(follows) if dependencies else entry
        sometimes[name] = why
        kind = activity.get("type")
        if kind == EXECUTE_PIPELINE:
            props = activity.get("typeProperties") or {}
            child = (props.get("pipeline") or {}).get("referenceName")
            waits = props.get("waitOnCompletion", True) is not False
            if not isinstance(child, str) or child not in walk.pipelines:
                walk.notes.append(
                    f"activity '{name}' of {pipeline} runs pipeline {child!r}, which the factory does not define:"
                    " not listed"
                )
                ended[name] = follows_now
                continue
            if child in walk.stack:
                walk.notes.append(f"activity '{name}' of {pipeline} runs {child}, which is running it: a cycle")
                ended[name] = follows_now
                continue
            walk.add(child, follows_now, why, f"activity '{name}' of {pipeline}")
            walk.stack.append(child)
            _walk_activities(walk, child, walk.pipelines[child].get("activities") or [], follows_now, why)
            walk.stack.pop()
            ended[name] = frozenset({child}) if waits else follows_now
            if waits:
                waited.add(child)
            continue
        inner: set[str] = set()
        branches = _branches(activity)
        for branch, branch_why in branches:
            inner |= _walk_activities(walk, pipeline, branch, follows_now, why or branch_why)
        waited |= inner
        if kind in LOOPS:
            ended[name] = frozenset(inner) or follows_now
        elif branches:  # If / Switch: the branch taken may run none of them
            ended[name] = frozenset(inner) | follows_now
        else:
            ended[name] = follows_now
    return frozenset(waited)


def _members(definitions: FactoryDefinitions, master: str) -> tuple[list[DerivedMember], list[str]]:
    walk = _Walk(definitions.pipelines, stack=[master])
    _walk_activities(walk, master, definitions.pipelines[master].get("activities") or [], frozenset(), None)
    walk.members.pop(master, None)  # a master that runs itself is noted as a cycle, never its own member
    return [DerivedMember(master), *walk.members.values()], walk.notes


# --- flows -------------------------------------------------------------------------------------------------


def _evening_note(first: TriggerSchedule) -> str | None:
    if first.first_time < EVENING:
        return None
    offset = 24 - first.first_time.hour
    return (
        f"starts at {first.first_time:%H:%M}, in the evening: its runs after midnight fall on the next business date."
        f' Consider day_starts_at: "-{offset:02d}:00" (the business day then starts at {first.first_time.hour:02d}:00'
        " the evening before)"
    )


def derive(definitions: FactoryDefinitions) -> Derivation:
    """Flows, their members, order and schedules, and what is left unmonitored, from a factory's definitions."""
    notes: list[str] = []
    started_by: dict[str, list[TriggerSchedule]] = {}
    stopped: dict[str, list[str]] = {}
    for trigger in sorted(definitions.triggers, key=lambda t: t.name):
        for pipeline in trigger.pipelines:
            if pipeline not in definitions.pipelines:
                notes.append(f"trigger {trigger.name} starts pipeline {pipeline!r}, which the factory does not define")
                continue
            if trigger.started:
                started_by.setdefault(pipeline, []).append(trigger_schedule(trigger))
            else:
                stopped.setdefault(pipeline, []).append(trigger.name)

    def first_start(master: str) -> tuple[time, str]:
        return (min(s.first_time for s in started_by[master]), master)

    masters = sorted(started_by, key=first_start)
    owner: dict[str, str] = {}  # pipeline -> the master whose flow lists it
    for master in masters:
        owner.setdefault(master, master)
    flows: list[DerivedFlow] = []
    for master in masters:
        schedules = started_by[master]
        schedule, schedule_note = combined_schedule(schedules)
        flow_notes = [
            f"{s.trigger}: {s.describes}" + (f" ({s.timezone_note})" if s.timezone_note else "") for s in schedules
        ]
        flow_notes += [f"on_demand: {s.why_on_demand}" for s in schedules if s.why_on_demand and len(schedules) == 1]
        if schedule_note:
            flow_notes.append(schedule_note)
        if any(s.several_times for s in schedules) and schedule.kind != "on_demand":
            flow_notes.append("several runs a day: the day's final run decides")
        zones = {s.timezone for s in schedules if s.timezone}
        if len(zones) > 1:
            flow_notes.append(f"its triggers are in different time zones ({', '.join(sorted(zones))})")
        evening = _evening_note(min(schedules, key=lambda s: s.first_time))
        if evening and schedule.kind != "on_demand":
            flow_notes.append(evening)
        members, walk_notes = _members(definitions, master)
        flow_notes += walk_notes
        kept: list[DerivedMember] = []
        for member in members:
            first_owner = owner.setdefault(member.name, master)
            if first_owner != master:
                flow_notes.append(
                    f"{member.name} is also run here, but is listed in the flow of {first_owner} (a pipeline is in"
                    " one flow only: the first master's by trigger time)"
                )
                continue
            kept.append(member)
        zone = sorted(zones)[0] if len(zones) == 1 else (schedules[0].timezone if schedules else None)
        flows.append(DerivedFlow(master, schedule, zone, tuple(schedules), tuple(kept), tuple(flow_notes)))
    # Others' notes name the flow a shared child went to: add it to that child's own entry too.
    flows = [_with_sharing_notes(flow, flows) for flow in flows]
    zones = [f.timezone for f in flows if f.timezone]
    timezone = zones[0] if zones else None
    for flow in flows:
        if flow.timezone and timezone and flow.timezone != timezone:
            notes.append(
                f"flow {flow.master}'s trigger is in {flow.timezone}, the file's timezone is {timezone}: "
                "its clock times are read in the file's zone"
            )
    not_monitored = tuple(_not_monitored(definitions, flows, stopped))
    return Derivation(
        definitions,
        timezone,
        tuple(flows),
        not_monitored,
        tuple(notes),
        {k: tuple(v) for k, v in stopped.items()},
    )


def _with_sharing_notes(flow: DerivedFlow, flows: Iterable[DerivedFlow]) -> DerivedFlow:
    others: dict[str, list[str]] = {}
    for other in flows:
        if other.master == flow.master:
            continue
        for note in other.notes:
            for member in flow.members:
                if note.startswith(f"{member.name} is also run here"):
                    others.setdefault(member.name, []).append(other.master)
    if not others:
        return flow
    members = tuple(
        replace(m, notes=(*m.notes, f"also run by {', '.join(others[m.name])} (listed here only)"))
        if m.name in others
        else m
        for m in flow.members
    )
    return replace(flow, members=members)


def _not_monitored(
    definitions: FactoryDefinitions, flows: Sequence[DerivedFlow], stopped: Mapping[str, list[str]]
) -> Iterable[NotMonitored]:
    listed = {p for flow in flows for p in flow.pipelines}
    callers: dict[str, list[str]] = {}
    for name, properties in definitions.pipelines.items():
        for child in _children(properties.get("activities") or []):
            callers.setdefault(child, []).append(name)
    for pipeline in sorted(definitions.pipelines):
        if pipeline in listed:
            continue
        if pipeline in stopped:
            why = f"its trigger {', '.join(stopped[pipeline])} is stopped"
        elif pipeline in callers:
            why = f"run by {', '.join(sorted(callers[pipeline]))}, which no started trigger reaches"
        else:
            why = "no trigger starts it, and no pipeline runs it"
        yield NotMonitored(pipeline, why)


def _children(activities: Sequence[Mapping[str, Any]]) -> Iterable[str]:
    for activity in activities:
        if activity.get("type") == EXECUTE_PIPELINE:
            child = ((activity.get("typeProperties") or {}).get("pipeline") or {}).get("referenceName")
            if isinstance(child, str):
                yield child
        for branch, _ in _branches(activity):
            yield from _children(branch)
