"""The roadmap plan: `workflows/roadmap.yaml` lists the instances the RCM runs.

`rcmflow quickstart` starts every planned instance that is not started yet, so
running it again starts nothing twice.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rcmflow.errors import AlreadyExists, DefinitionError, RcmflowError
from rcmflow.language import _, ngettext
from rcmflow.model.loader import check_keys, line_of, load_yaml

if TYPE_CHECKING:
    from rcmflow import Engine

PLAN_FILE = "workflows/roadmap.yaml"


@dataclass(frozen=True)
class PlannedInstance:
    workflow: str
    id: str
    params: dict[str, Any]
    line: int


def load_plan(engine: "Engine") -> list[PlannedInstance]:
    return read_plan(engine.home)


def read_plan(home: Path) -> list[PlannedInstance]:
    """The instances workflows/roadmap.yaml of `home` plans (none without the file)."""
    path = home / PLAN_FILE
    if not path.exists():
        return []
    data, problems = load_yaml(path, PLAN_FILE)
    planned: list[PlannedInstance] = []
    items = (data or {}).get("instances") if isinstance(data, dict) else None
    if data is not None and not isinstance(items, list):
        problems.add(data, "roadmap.yaml needs a list under 'instances:'")
        items = []
    for index, item in enumerate(items or []):
        if not isinstance(item, dict) or not {"workflow", "id"} <= set(item):
            problems.add(items, "each planned instance needs a workflow and an id", index)
            continue
        check_keys(item, {"workflow", "id", "params"}, "a planned instance", problems)
        params = {str(k): str(v) for k, v in (item.get("params") or {}).items()}
        planned.append(PlannedInstance(str(item["workflow"]), str(item["id"]), params, line_of(items, index)))
    if problems:
        raise DefinitionError(list(problems))
    return planned


def apply_plan(engine: "Engine") -> list[tuple[PlannedInstance, bool]]:
    """Start what the plan lists and the database lacks; (instance, started now) each."""
    plan = load_plan(engine)
    for item in plan:  # check the whole plan first, so a mistake starts nothing
        with _at_line(item):
            engine.definition(item.workflow).parse_params(item.params)
    existing = {view.id for view in engine.status()}
    results = []
    for item in plan:
        started = item.id not in existing
        if started:
            try:
                with _at_line(item):
                    engine.start(item.workflow, item.id, item.params)
            except AlreadyExists:  # a concurrent quickstart started it first
                started = False
        results.append((item, started))
    return results


@contextmanager
def _at_line(item: PlannedInstance):
    try:
        yield
    except RcmflowError as exc:
        raise type(exc)(f"{PLAN_FILE}:{item.line}: {exc}") from None


def past_dates(engine: "Engine", plan: list[PlannedInstance]) -> str | None:
    """A warning when steps of the plan that are not opened yet have deadlines that have
    passed by the command's clock (the shipped plan is the 2017 roadmap): how many, the
    earliest, and how to move them. None when every date is ahead."""
    running = {view.id: view for view in engine.status()}
    late = []
    for item in plan:
        view = running.get(item.id)
        if view is None or view.state != engine.definition_of(view).instance.initial:
            continue  # an opened step's deadline passing is business as usual: overdue marks
        passed = engine.passed_deadlines(view.workflow, view.params)
        if passed:
            late.append((item.id, passed[0]))
    if not late:
        return None
    first_id, first = min(late, key=lambda pair: pair[1].day)
    count = ngettext("{count} step of {plan} has a deadline that has passed",
                     "{count} steps of {plan} have deadlines that have passed", len(late))
    return (count.format(count=len(late), plan=PLAN_FILE) + " " +
            _("(the earliest: {day}, {instance}; today is {today}). Opening them is refused unless you replay "
              "past dates (rcmflow --replay, or RCMFLOW_REPLAY=1). To run them for real, move their dates: "
              "edit {plan} before quickstart, or 'rcmflow extend INSTANCE --to DATE --note TEXT' after.").format(
                day=first.day.isoformat(), instance=first_id, today=engine.local(engine.now()).date().isoformat(),
                plan=PLAN_FILE))
