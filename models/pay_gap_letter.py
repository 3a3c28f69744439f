"""The figures of an Article 7 information letter (Directive (EU) 2023/970): one employee's own pay level and
the average pay levels, by sex, of their category of workers (the Art. 9 category: function level).

Pay as in the Art. 9 figures (:func:`models.pay_transparency.pay_frame`): basic = annual salary × fte, total =
basic + variable, annual, in the cycle asked for. The averages are the means over the women and over the men of
the category on the payroll.

Disclosure rule. A letter must not give away a colleague's pay. A group's average is given only when the group
holds at least ``disclosure.min_group_size_amounts`` people *besides the employee* (the employee knows their
own pay, so an average over a group that includes them is an average over the others); otherwise the letter
says that the group is too small for its average to be given. The rule is applied to both sexes.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from models.pay_transparency import MEN, WOMEN, pay_frame
from models.policy import Policy


@dataclass(frozen=True)
class GroupAverage:
    sex: str  # F | M
    n: int  # people of that sex in the category (the employee included)
    others: int  # the same without the employee
    basic: float | None  # None: withheld (too small)
    total: float | None

    @property
    def withheld(self) -> bool:
        return self.basic is None


@dataclass(frozen=True)
class LetterFigures:
    organization: str
    cycle: int
    category: str
    own_basic: float
    own_variable: float
    own_total: float
    fte: float
    minimum: int
    groups: tuple[GroupAverage, GroupAverage]  # women, men


class EmployeeNotFound(LookupError):
    """No woman or man on the payroll with that pseudonym in the cycle (the message never holds the id)."""


def letter_figures(people: pl.DataFrame, policy: Policy, organization: str, employee: str) -> LetterFigures:
    """The letter's figures for the pseudonymised `employee` from one organisation-cycle's
    :func:`models.pay_transparency.people_frame`."""
    pay = pay_frame(people, {organization: policy})
    own = pay.filter(pl.col("employee_id") == employee)
    if own.height != 1:
        raise EmployeeNotFound("no woman or man on the payroll with that employee number in this cycle")
    row = own.row(0, named=True)
    category = row["function_level"]
    fte_row = people.filter(pl.col("employee_id") == employee)["payroll_fte"]
    colleagues = pay.filter(pl.col("function_level") == category)
    minimum = policy.min_group_size_amounts
    groups = []
    for sex in (WOMEN, MEN):
        group = colleagues.filter(pl.col("gender") == sex)
        others = group.height - (1 if row["gender"] == sex else 0)
        shown = others >= minimum
        groups.append(
            GroupAverage(
                sex=sex,
                n=group.height,
                others=others,
                basic=float(group["basic"].mean()) if shown else None,  # type: ignore[arg-type]
                total=float(group["total"].mean()) if shown else None,  # type: ignore[arg-type]
            )
        )
    return LetterFigures(
        organization=organization,
        cycle=int(row["cycle"]),
        category=str(category),
        own_basic=float(row["basic"]),
        own_variable=float(row["variable"]),
        own_total=float(row["total"]),
        fte=float(fte_row[0]) if fte_row.len() else 1.0,
        minimum=minimum,
        groups=(groups[0], groups[1]),
    )
