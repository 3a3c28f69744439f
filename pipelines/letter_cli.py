"""`calibra letter`: the Article 7 information letter (Directive (EU) 2023/970) for one employee, on demand, in
Dutch or English — their own pay level and the average pay of their category by sex, with the disclosure rule
of models/pay_gap_letter.py (a group too small for an average gets a sentence instead of a number).

    calibra letter --org zeeland-demo --employee E01234
    calibra letter --org vo-demo --employee 100234 --lang en --out /secure/letter.txt

The employee number is pseudonymised with the project's keyed hash (models/pseudonym.py) to find the person in
the database; neither the number nor the pseudonym is printed or logged. The letter is written owner-only
(0600), by default to <home>/letters/. Registered on the main parser by `add_letter_parser(subparsers)`
(pipelines/cli.py). No Dagster import; the database is opened read-only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from pathlib import Path
from typing import Any

from dashboards.i18n import fmt_money, fmt_number, text
from models.errors import CalibraError
from models.pay_gap_letter import EmployeeNotFound, LetterFigures, letter_figures
from models.pay_gap_projection import AWARD_COLUMNS, EVALUATION_COLUMNS, PAYROLL_COLUMNS
from models.pay_transparency import people_frame
from models.policy import policy_for
from models.pseudonym import load_key, pseudonymise_value
from models.warehouse import connect


def add_letter_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `calibra letter` on the main parser's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "letter",
        help="Article 7 pay information letter for one employee (written owner-only)",
        description="An employee's own pay and the average pay of their category (function level) by sex, "
        "as Article 7 of Directive (EU) 2023/970 asks. A group too small for its average to be given says so.",
    )
    parser.add_argument("--config", help="calibra.yaml to use (default: the project's)")
    parser.add_argument("--home", help="folder with the database (default: var/)")
    parser.add_argument(
        "--org", dest="organization", help="organisation id (default: the only one configured)"
    )
    parser.add_argument("--employee", required=True, help="the employee number as in the HR exports")
    parser.add_argument("--cycle", type=int, help="cycle (default: the organisation's last)")
    parser.add_argument(
        "--lang", choices=["nl", "en"], default="nl", help="language of the letter (default nl)"
    )
    parser.add_argument("--out", help="file to write (default: <home>/letters/art7_<org>_<cycle>_<time>.txt)")
    parser.set_defaults(func=cmd_letter)
    return parser


def render_letter(figures: LetterFigures, language: str) -> str:
    """The letter as plain text."""
    t = text("letter", language)
    rows = [
        t["title"],
        "=" * len(t["title"]),
        "",
        t["intro"].format(cycle=figures.cycle, organization=figures.organization),
        t["category"].format(category=figures.category),
        "",
        t["own"],
        f"  {t['basic'].format(fte=fmt_number(figures.fte, language, 2))}: {fmt_money(figures.own_basic, language)}",
        f"  {t['variable']}: {fmt_money(figures.own_variable, language)}",
        f"  {t['total']}: {fmt_money(figures.own_total, language)}",
        "",
        t["averages"],
    ]
    for group in figures.groups:
        name = t["sexes"][group.sex]
        rows.append(f"  {t['group'].format(sex=name, n=group.n)}")
        if group.withheld:
            rows.append("    " + t["withheld"].format(minimum=figures.minimum, sex_lower=name.lower()))
        else:
            assert group.basic is not None and group.total is not None
            rows.append(f"    {t['basic'].split(' (')[0]}: {fmt_money(group.basic, language)}")
            rows.append(f"    {t['total']}: {fmt_money(group.total, language)}")
    rows += ["", t["note"].format(minimum=figures.minimum), "", t["closing"], ""]
    return "\n".join(rows)


def write_private(path: Path, content: str) -> None:
    """Write `content` so only the owner can read it (0600 from the first byte; an existing file is
    tightened to 0600 before it is overwritten)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, content.encode("utf-8"))
    finally:
        os.close(fd)


def cmd_letter(args: argparse.Namespace) -> int:
    from pipelines.settings import resolve

    settings = resolve(args.config, args.home)  # options, else CALIBRA_CONFIG/HOME, else calibra.yaml
    organization = args.organization
    if organization is None:
        if len(settings.organizations) != 1:
            known = ", ".join(sorted(settings.organizations))
            raise CalibraError(f"several organisations are configured ({known}): choose one with --org")
        organization = next(iter(settings.organizations))
    if organization not in settings.organizations:
        raise CalibraError(f"organisation {organization} is not configured")
    policy = policy_for(settings, organization)
    if not settings.database.exists():
        raise CalibraError(f"there is no database at {settings.database}; run `calibra run` first")
    pseudonym = pseudonymise_value(load_key(), organization, str(args.employee).strip())
    with connect(settings.database, read_only=True) as con:
        cycle = args.cycle
        if cycle is None:
            found = con.execute(
                "SELECT max(cycle) FROM staging.evaluations WHERE organization = ?", [organization]
            ).fetchone()
            cycle = found[0] if found else None
        if cycle is None:
            raise CalibraError(f"the database has no evaluations of {organization}")

        def read(table: str, wanted: tuple[str, ...]) -> Any:
            present = {
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'staging' AND table_name = ?",
                    [table],
                ).fetchall()
            }
            names = ", ".join(f'"{c}"' for c in wanted if c in present)  # from fixed lists, never input
            relation = con.sql(
                f"SELECT {names} FROM staging.{table} WHERE organization = ? AND cycle = ?",
                params=[organization, int(cycle)],
            )
            return relation.pl()

        evaluations = read("evaluations", EVALUATION_COLUMNS)
        awards = read("awards", AWARD_COLUMNS)
        payroll = read("payroll", PAYROLL_COLUMNS)
    people = people_frame(evaluations, awards, payroll, {organization: policy})
    try:
        figures = letter_figures(people, policy, organization, pseudonym)
    except EmployeeNotFound as missing:
        raise CalibraError(f"{missing} ({organization}, cycle {cycle})") from None
    # the default name holds no identifier (not even the pseudonym): the moment it was written
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    out = (
        Path(args.out) if args.out else settings.home / "letters" / f"art7_{organization}_{cycle}_{stamp}.txt"
    )
    write_private(out, render_letter(figures, args.lang))
    print(f"calibra letter: written to {out} (readable by you only)")
    return 0
