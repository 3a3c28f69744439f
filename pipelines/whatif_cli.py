"""`calibra whatif`: what happens to cost, budget utilisation and the fairness figures if a department moves
N ratings from one outcome to another — read from the database read-only, in seconds, without re-ingesting.

    calibra whatif --org zeeland-demo --department Economie --move 3 normaal zeer_goed
    calibra whatif --org vo-demo -d "Data en Analyse" --move 2 2 1 --lang en
    calibra whatif --scenario scenarios/zeeland_strengere_normering.yaml

Registered on the main parser by `add_whatif_parser(subparsers)` (pipelines/cli.py). No Dagster import: the
command starts fast and never takes the database's writer lock.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from models.budget import cost_rules, load_inputs, organisation_costs
from models.errors import CalibraError
from models.forecast import Move, load_scenario_file, parse_moves
from models.policy import Policy, policy_for
from models.warehouse import connect
from models.whatif import ORGANISATION_SCOPE, WhatIfResult, whatif

TEXT: dict[str, dict[str, Any]] = {
    "nl": {
        "title": "calibra whatif — {org}, cyclus {cycle} (beleid {policy})",
        "moves": "Verschuiving",
        "note": (
            "Verwachte waarden: wie verschuift ligt niet vast; elke medewerker met de oude uitkomst in de "
            "afdeling telt naar verhouding mee. Bedragen in euro, werkgeverslasten inbegrepen (× {oncost})."
        ),
        "header": ("Indicator", "Bereik", "Vóór", "Na", "Verschil"),
        "organisation": "organisatie",
        "suppressed": "— = niet getoond (te weinig personen of geen budget in het beleid).",
    },
    "en": {
        "title": "calibra whatif — {org}, cycle {cycle} (policy {policy})",
        "moves": "Move",
        "note": (
            "Expected values: who moves is not fixed; everyone in the department with the old outcome counts "
            "in proportion. Amounts in euro, employer on-costs included (× {oncost})."
        ),
        "header": ("Figure", "Scope", "Before", "After", "Change"),
        "organisation": "organisation",
        "suppressed": "— = not shown (too few people, or no budget in the policy).",
    },
}


def add_whatif_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `calibra whatif` on the main parser's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "whatif",
        help="cost, budget and fairness effect of moving ratings in a department (read-only, seconds)",
        description="If department X moves N ratings from A to B: structural cost, budget utilisation and the "
        "top-outcome share by gender, before and after. Outcomes are the policy's rating codes (pct "
        "policies) or salary decisions 0/1/2 (PLOEG).",
    )
    parser.add_argument("--config", help="calibra.yaml to use (default: the project's)")
    parser.add_argument("--home", help="folder with the database (default: var/)")
    parser.add_argument(
        "--org", dest="organization", help="organisation id (default: the only one configured)"
    )
    parser.add_argument("--cycle", type=int, help="cycle to change (default: the organisation's last)")
    parser.add_argument("-d", "--department", help="department the --move options apply to")
    parser.add_argument(
        "--move",
        nargs=3,
        action="append",
        default=[],
        metavar=("N", "FROM", "TO"),
        help="move N people from outcome FROM to outcome TO (repeatable)",
    )
    parser.add_argument("--scenario", help="scenario YAML whose `moves` to apply (see scenarios/)")
    parser.add_argument(
        "--lang", choices=["nl", "en"], default="nl", help="language of the table (default nl)"
    )
    parser.set_defaults(func=cmd_whatif)
    return parser


def _moves(args: argparse.Namespace) -> tuple[str | None, list[Move]]:
    organization = args.organization
    moves: list[Move] = []
    if args.scenario:
        scenario = load_scenario_file(Path(args.scenario))
        if organization and organization != scenario.organization:
            raise CalibraError(
                f"scenario file {args.scenario} is for {scenario.organization}, not {organization}"
            )
        organization = scenario.organization
        moves.extend(scenario.moves)
    if args.move and not args.department:
        raise CalibraError("--move needs --department (the department whose ratings move)")
    for n, _, _ in args.move:
        if not n.strip().isdigit() or int(n) < 1:
            raise CalibraError(f"--move {n}: N is a number of people, give a whole number of 1 or more")
    moves.extend(
        parse_moves(
            [{"department": args.department, "n": n, "from": a, "to": b} for n, a, b in args.move], "--move"
        )
    )
    if not moves:
        raise CalibraError("nothing to move: give --department and --move N FROM TO, or --scenario FILE")
    return organization, moves


def cmd_whatif(args: argparse.Namespace) -> int:
    from pipelines.settings import resolve

    settings = resolve(args.config, args.home)  # options, else CALIBRA_CONFIG/HOME, else calibra.yaml
    organization, moves = _moves(args)
    if organization is None:
        if len(settings.organizations) != 1:
            known = ", ".join(sorted(settings.organizations))
            raise CalibraError(f"several organisations are configured ({known}): choose one with --org")
        organization = next(iter(settings.organizations))
    rules = cost_rules(policy_for(settings, organization))
    if not settings.database.exists():
        raise CalibraError(f"there is no database at {settings.database}; run `calibra run` first")
    with connect(settings.database, read_only=True) as con:
        if args.cycle is None:
            inputs = load_inputs(con, organization=organization, last_cycle_only=True)
        else:
            inputs = load_inputs(con, organization=organization, cycle=args.cycle)
    if inputs.evaluations.height == 0:
        when = f"cycle {args.cycle}" if args.cycle is not None else "any cycle"
        raise CalibraError(f"the database has no evaluations of {organization} for {when}")
    departments = inputs.evaluations.get_column("department").drop_nulls().unique().sort().to_list()
    moves = resolve_moves(moves, departments, policy_for(settings, organization))
    costs = organisation_costs(inputs, organization, rules)
    result = whatif(costs, inputs.scales, moves, args.cycle)
    print(render(result, args.lang, rules.oncost))
    return 0


def resolve_moves(moves: list[Move], departments: list[str], policy: Policy) -> list[Move]:
    """Departments as the site shows them and outcomes as codes or labels, both case-insensitively; an
    unknown name is one sentence listing the names that are known."""
    by_name = {d.strip().casefold(): d for d in departments}
    outcomes: dict[str, str] = {}
    for level in policy.ratings:
        for name in (level.code, *level.label.values()):
            outcomes.setdefault(str(name).strip().casefold(), level.code)
    resolved = []
    for move in moves:
        department = by_name.get(move.department.strip().casefold())
        if department is None:
            shown = ", ".join(departments[:40]) + (" …" if len(departments) > 40 else "")
            raise CalibraError(f"department '{move.department}' is not known; known departments: {shown}")
        source = outcomes.get(move.source.strip().casefold(), move.source)
        target = outcomes.get(move.target.strip().casefold(), move.target)
        resolved.append(replace(move, department=department, source=source, target=target))
    return resolved


# ----------------------------------------------------------------------------------------------- the table
def _number(value: float, decimals: int, lang: str) -> str:
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".") if lang == "nl" else text


def format_value(value: float | None, unit: str, lang: str, signed: bool = False) -> str:
    """One cell: euro amounts whole, shares as % (changes in percentage points), ratios with 2 decimals."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    sign = "+" if signed and value > 0 else ("−" if value < 0 else "")
    magnitude = abs(value)
    if unit == "eur":
        return f"{sign}€ {_number(magnitude, 0, lang)}"
    if unit == "share":
        suffix = " pp" if signed else "%"
        return f"{sign}{_number(100 * magnitude, 1, lang)}{suffix}"
    if unit == "ratio":
        return f"{sign}{_number(magnitude, 2, lang)}"
    return f"{sign}{_number(magnitude, 0 if float(magnitude).is_integer() else 1, lang)}"


def render(result: WhatIfResult, lang: str = "nl", oncost: float = 1.0) -> str:
    """The before / after table as aligned text (Dutch or English)."""
    text = TEXT[lang]
    label = "label_nl" if lang == "nl" else "label_en"
    rows = [
        (
            row[label],
            text["organisation"] if row["scope"] == ORGANISATION_SCOPE else row["scope"],
            format_value(row["before"], row["unit"], lang),
            format_value(row["after"], row["unit"], lang),
            format_value(row["change"], row["unit"], lang, signed=True),
        )
        for row in result.table.iter_rows(named=True)
    ]
    header = text["header"]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        left = [f"{cells[i]:<{widths[i]}}" for i in (0, 1)]
        right = [f"{cells[i]:>{widths[i]}}" for i in (2, 3, 4)]
        return "  ".join(left + right).rstrip()

    moves = "; ".join(
        f"{m.department}: {format_value(m.n, 'n', lang)} × {m.source} → {m.target}" for m in result.moves
    )
    out = [
        text["title"].format(org=result.organization, cycle=result.cycle, policy=result.policy_id),
        f"{text['moves']}: {moves}",
        "",
        line(header),
        "  ".join("─" * w for w in widths),
        *(line(r) for r in rows),
        "",
        text["note"].format(oncost=_number(oncost, 2, lang)),
        text["suppressed"],
    ]
    return "\n".join(out)
