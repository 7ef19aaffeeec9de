"""Pure rules that keep a title reviewable: the annual data update deadline and the report
window for major changes, both read from the rule version's data, and a designation's review
eligibility (复核资格) from them. No database, no clock: `today` is passed in."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from service.ladder.criteria import Obligations, RuleSet, default_rule_sets

MAJOR_CHANGE_ZH: dict[str, str] = {
    "rename": "更名",
    "merger": "合并",
    "restructuring": "重组",
    "relocation": "迁址",
    "foreign_branch": "设立境外分支机构",
}

ChangeStatus = Literal["on_time", "late", "unreported", "pending"]
ReviewStatus = Literal["eligible", "not_eligible", "pending"]


def version_on(day: date, rule_sets: Mapping[str, RuleSet] | None = None) -> RuleSet:
    """The rule version in force on `day` among those that state obligations."""
    sets = default_rule_sets() if rule_sets is None else rule_sets
    stating = sorted(
        (rs for rs in sets.values() if rs.obligations is not None),
        key=lambda rs: rs.in_force_from or date.min,
    )
    if not stating:
        raise ValueError("no rule version states the annual data update deadline")
    chosen = stating[0]
    for rs in stating[1:]:
        if rs.in_force_from is None or rs.in_force_from <= day:
            chosen = rs
    return chosen


def _obligations(rule_set: RuleSet) -> Obligations:
    assert rule_set.obligations is not None  # version_on only returns those that state them
    return rule_set.obligations


def year_rules(year: int, rule_sets: Mapping[str, RuleSet] | None = None) -> RuleSet:
    """The version that sets `year`'s annual update: the one in force when the year's update
    window opens (1 January), so every enterprise has one deadline per year."""
    return version_on(date(year, 1, 1), rule_sets)


def data_update_deadline(year: int, obligations: Obligations) -> date:
    """The last day of `year`'s annual data update under a version (the day itself counts)."""
    return date(year, obligations.data_update_month, obligations.data_update_day)


def deadline_of_year(year: int, rule_sets: Mapping[str, RuleSet] | None = None) -> date:
    return data_update_deadline(year, _obligations(year_rules(year, rule_sets)))


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the month's last day when it has no such day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def report_deadline(occurred_on: date, obligations: Obligations) -> date:
    """The last day a major change may be reported ("3个月内" counted from the change)."""
    return add_months(occurred_on, obligations.major_change_report_months)


@dataclass(frozen=True)
class Change:
    kind: str
    occurred_on: date
    reported_on: date | None


def change_status(change: Change, obligations: Obligations, today: date) -> ChangeStatus:
    deadline = report_deadline(change.occurred_on, obligations)
    if change.reported_on is not None:
        return "on_time" if change.reported_on <= deadline else "late"
    return "pending" if today <= deadline else "unreported"


def update_on_time(updated_on: date | None, deadline: date) -> bool | None:
    """True on or before the deadline, False after it; None when not recorded."""
    return None if updated_on is None else updated_on <= deadline


@dataclass(frozen=True)
class ReviewEligibility:
    status: ReviewStatus
    rule_version: str
    data_year: int | None  # the year whose annual update the review looks at
    data_deadline: date | None
    data_updated_on: date | None
    reasons: tuple[str, ...]

    @property
    def eligible(self) -> bool | None:
        return {"eligible": True, "not_eligible": False}.get(self.status)


def review_eligibility(
    *,
    designated_on: date,
    valid_until: date,
    updates: Mapping[int, date],
    changes: Iterable[Change],
    today: date,
    rule_sets: Mapping[str, RuleSet] | None = None,
) -> ReviewEligibility:
    """May the title designated on `designated_on` and valid until `valid_until` be reviewed?

    The relevant annual update is the last one due on or before the title's last valid day,
    under the version that sets that year's deadline; a major change since designation left
    unreported past its window (under the version in force when it happened) disqualifies, one
    reported late is flagged."""
    year = valid_until.year
    if deadline_of_year(year, rule_sets) > valid_until:
        year -= 1
    rule_set = year_rules(year, rule_sets)
    rules = _obligations(rule_set)
    deadline = data_update_deadline(year, rules)
    reasons: list[str] = []
    failed = pending = False
    updated_on = None
    note = "" if rules.data_update_confirmed else "，该日期未经官方文本确认"
    if deadline < designated_on:
        reasons.append("认定后尚无到期的年度数据更新")
    else:
        updated_on = updates.get(year)
        on_time = update_on_time(updated_on, deadline)
        if on_time:
            reasons.append(f"{year}年度数据已于{updated_on}更新（截止{deadline}{note}）")
        elif on_time is False:
            failed = True
            reasons.append(
                f"{year}年度数据于{updated_on}更新，晚于截止日期{deadline}{note}：失去复核资格"
            )
        elif today > deadline:
            failed = True
            reasons.append(f"未见{year}年度数据更新记录（截止{deadline}{note}）：失去复核资格")
        else:
            pending = True
            reasons.append(f"{year}年度数据更新截止于{deadline}{note}，尚未登记")
    due_any = deadline >= designated_on
    for change in sorted(changes, key=lambda c: c.occurred_on):
        if change.occurred_on < designated_on or change.occurred_on > today:
            continue
        what = f"{change.occurred_on}{MAJOR_CHANGE_ZH.get(change.kind, change.kind)}"
        window = _obligations(version_on(change.occurred_on, rule_sets))
        due = report_deadline(change.occurred_on, window)
        status = change_status(change, window, today)
        if status == "unreported":
            failed = True
            reasons.append(f"{what}未在{due}前报告：失去复核资格")
        elif status == "late":
            reasons.append(f"{what}于{change.reported_on}报告，逾期（应在{due}前）")
        elif status == "pending":
            reasons.append(f"{what}尚未报告（报告期至{due}）")
        else:
            reasons.append(f"{what}已于{change.reported_on}按期报告")
    if failed:
        status_: ReviewStatus = "not_eligible"
    elif pending:
        status_ = "pending"
    else:
        status_ = "eligible"
    return ReviewEligibility(
        status=status_,
        rule_version=rule_set.version,
        data_year=year if due_any else None,
        data_deadline=deadline if due_any else None,
        data_updated_on=updated_on,
        reasons=tuple(reasons),
    )


def unreported_since(change: Change, obligations: Obligations) -> date:
    """The first day an unreported change counts as unreported."""
    return report_deadline(change.occurred_on, obligations) + timedelta(days=1)
