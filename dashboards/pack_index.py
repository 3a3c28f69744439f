"""The packs' index pages (pipelines/packs.py writes them owner-only under <home>/packs/, docs/privacy.md).

`<org>/<cycle>/index.html` lists an organisation-cycle's meeting packs by department (its name, the people it
rated and the cases on its worklist) and its management pack; `index.html` at the top lists the
organisation-cycles. Both are marked confidential: they are for whoever hands the packs out, and name who gets
what (the manifest, manifest.json, says the same for machines). Every link stays inside the packs folder.

No database and no Dagster here: counts and file names in, HTML out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from dashboards.components import esc, html_head
from dashboards.i18n import fmt_int, text
from dashboards.pages import SiteData, calibration
from dashboards.pages import evaluators_section as evr


@dataclass
class MeetingPack:
    """One department's meeting pack: its file (relative to its cycle's folder), the people its distribution
    counts (None when unknown) and the cases on its worklist."""

    department: str
    file: str
    rated: int | None = None
    cases: int | None = None


@dataclass
class CyclePacks:
    """What the packs folder holds for one organisation's cycle."""

    organization: str  # folder name
    organization_name: str
    cycle: int
    meeting: list[MeetingPack] = field(default_factory=list)
    management: list[tuple[str, str]] = field(default_factory=list)  # (file relative to the cycle, title)

    @property
    def folder(self) -> str:
        return f"{self.organization}/{self.cycle}"


def meeting_counts(data: SiteData, organization: str, cycle: int) -> dict[str, tuple[int | None, int]]:
    """department → (rated people, cases on its worklist), as its meeting pack counts them: the n of its
    distribution in the meeting release and the rows of its worklist (the fair-rating cases included)."""
    rated = dict(calibration.departments(data, organization, cycle, calibration.PACK_RATINGS))
    worklist = evr.fair_worklist_rows(
        data.get(evr.FAIR_WORKLIST, organization, cycle), data.get(calibration.WORKLIST, organization, cycle)
    )
    cases: dict[str, int] = {}
    if worklist is not None and worklist.height and "department" in worklist.columns:
        counted = worklist.group_by("department").len()
        cases = {str(d): int(n) for d, n in counted.iter_rows() if d is not None}
    return {name: (n, cases.get(name, 0)) for name, n in rated.items()}


def department_files(data: SiteData, organization: str, cycle: int) -> dict[str, str]:
    """file name of a department's pack → the department (dashboards.pages.calibration names them)."""
    names = [name for name, _ in calibration.departments(data, organization, cycle, calibration.PACK_RATINGS)]
    return {calibration.department_file(name, names): name for name in names}


def _page(title: str, body: str, prefix: str, language: str, built: datetime) -> str:
    when = text("built_at", language).format(when=built.strftime("%Y-%m-%d %H:%M UTC"))
    return f"""{html_head(title, prefix, language)}
</head><body>
<div class='confidential'>{esc(text("packs_index_confidential", language))}</div>
<header class="top"><a class='brand' href='{prefix}index.html'>calibra</a> <span class='where'>{esc(title)}</span></header>
<main>
{body}
</main>
<footer><p class='built'>{esc(when)}</p></footer>
</body></html>
"""


def _counts(pack: MeetingPack, language: str) -> str:
    said = []
    if pack.rated is not None:
        said.append(text("packs_index_rated", language).format(count=fmt_int(pack.rated, language)))
    if pack.cases is not None:
        said.append(text("packs_index_cases", language).format(count=fmt_int(pack.cases, language)))
    return f" <span class='meta'>({esc(' · '.join(said))})</span>" if said else ""


def cycle_index(packs: CyclePacks, language: str, built: datetime) -> str:
    """`<org>/<cycle>/index.html`: the cycle's meeting packs by department and its management pack."""
    title = f"{text('packs_index_title', language)}: {packs.organization_name} · {text('cycle', language)} {packs.cycle}"
    parts = [f"<h1>{esc(title)}</h1>", f"<p class='explain'>{esc(text('packs_index_intro', language))}</p>"]
    if packs.meeting:
        items = "".join(
            f"<li><a href='{esc(pack.file)}'>{esc(pack.department)}</a>{_counts(pack, language)}</li>"
            for pack in sorted(packs.meeting, key=lambda p: p.department.lower())
        )
        parts.append(f"<h2>{esc(text('packs_index_meeting', language))}</h2><ul class='packs'>{items}</ul>")
    if packs.management:
        items = "".join(f"<li><a href='{esc(file)}'>{esc(name)}</a></li>" for file, name in packs.management)
        parts.append(
            f"<h2>{esc(text('packs_index_management', language))}</h2><ul class='packs'>{items}</ul>"
        )
    if not packs.meeting and not packs.management:
        parts.append(f"<p>{esc(text('packs_index_none', language))}</p>")
    parts.append(f"<p><a href='../../index.html'>{esc(text('packs_index_back', language))}</a></p>")
    return _page(title, "\n".join(parts), "../../", language, built)


def top_index(cycles: Sequence[CyclePacks], language: str, built: datetime) -> str:
    """`index.html`: every organisation-cycle of the packs folder, newest cycle first."""
    title = text("packs_index_title", language)
    parts = [f"<h1>{esc(title)}</h1>", f"<p class='explain'>{esc(text('packs_index_intro', language))}</p>"]
    if cycles:
        items = []
        for packs in sorted(cycles, key=lambda c: (c.organization_name.lower(), -c.cycle)):
            said = []
            if packs.meeting:
                said.append(
                    text("packs_index_meeting_count", language).format(
                        count=fmt_int(len(packs.meeting), language)
                    )
                )
            if packs.management:
                said.append(
                    text("packs_index_management_count", language).format(
                        count=fmt_int(len(packs.management), language)
                    )
                )
            name = f"{packs.organization_name} · {text('cycle', language)} {packs.cycle}"
            items.append(
                f"<li><a href='{esc(packs.folder)}/index.html'>{esc(name)}</a> "
                f"<span class='meta'>({esc(' · '.join(said))})</span></li>"
            )
        parts.append(
            f"<h2>{esc(text('packs_index_cycles', language))}</h2><ul class='packs'>{''.join(items)}</ul>"
        )
    else:
        parts.append(f"<p>{esc(text('packs_index_none', language))}</p>")
    return _page(title, "\n".join(parts), "", language, built)
