"""Deterministic generator of realistic HR export files for the two sample organisations.

`write_sample(out_dir)` writes, per organisation, cycle and kind, the files an HR department would drop in
calibra's inbox — in each source system's own layout (Dutch headers, `;`, decimal comma, dd-mm-yyyy, code
pages, an XLSX workbook with a hidden sheet) — plus `manifest.json`, which lists the files and the patterns
planted in the data, so tests and demos can check that the pipeline finds them. The mapping profiles that
read these files are `mappings/vlimpers_ploeg_*.yaml` and `mappings/zeeland_5punt_*.yaml`.

Everything is synthetic: names, national registry numbers and e-mail addresses are obviously fake
("Fictief Persoon …", "FICTIEF-…", "@voorbeeld.invalid") and only present to prove that unmapped columns are
dropped at ingest. The same arguments always give the same bytes. The simulation is vectorised with numpy
(no loop over employees), so 200,000 employees x 5 cycles take seconds.

manifest.json (the manifest sits beside the data and is never published; ids in it are raw source ids):
  manifest_version, generator, synthetic, seed, employees, cycles
  organizations     {org: {employees_per_cycle, people_total, departments, evaluators}}
  files             [{path, kind, organization, cycle (null for salary scales), rows, format, encoding,
                      mapping (mapping id), sha256, bytes}]
  planted           statistical patterns: [{id, pattern, organization, cycles, unit {type, evaluator_id |
                      department | function_level, ...}, metric, expected {direction, magnitude, ...},
                      observed {measured on the written rows}}]
  planted_findings  deliberate rule violations: [{id, rule, organization, cycle, employee_ids, detail, ...}]
  base_rates        {org: realistic base rates as measured (onvoldoende share, trap shares, late
                      signatures, at-maximum share, ...)}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from models.sample import _vo, _zeeland

__all__ = ["ORGANIZATIONS", "SampleFile", "SampleManifest", "write_sample"]

ORGANIZATIONS = (_vo.ORG, _zeeland.ORG)
KINDS = ("salary_scales", "evaluations", "awards", "payroll")
VO_SHARE = 0.55
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class SampleFile:
    """One written file, as listed in manifest.json."""

    path: str  # relative to out_dir, '/'-separated
    kind: str  # evaluations | awards | payroll | salary_scales
    organization: str
    cycle: int | None  # None for the salary scale tables
    rows: int  # data rows (header excluded)
    format: str  # csv | xlsx
    encoding: str | None  # None for xlsx
    mapping: str  # id of the mapping profile in mappings/
    sha256: str
    bytes: int


@dataclass
class SampleManifest:
    """What `write_sample` wrote, and the patterns planted in it (also written to manifest.json)."""

    seed: int
    employees: int
    cycles: list[int]
    organizations: dict[str, dict[str, Any]]
    files: list[SampleFile]
    planted: list[dict[str, Any]]
    planted_findings: list[dict[str, Any]]
    base_rates: dict[str, dict[str, Any]]
    path: Path | None = field(default=None, compare=False)  # where manifest.json was written (not serialised)

    def to_dict(self) -> dict[str, Any]:
        return {
            "manifest_version": MANIFEST_VERSION,
            "generator": "models.sample.write_sample",
            "synthetic": True,
            "seed": self.seed,
            "employees": self.employees,
            "cycles": self.cycles,
            "organizations": self.organizations,
            "files": [asdict(f) for f in self.files],
            "planted": self.planted,
            "planted_findings": self.planted_findings,
            "base_rates": self.base_rates,
        }

    def files_of(self, kind: str | None = None, organization: str | None = None) -> list[SampleFile]:
        return [
            f
            for f in self.files
            if (kind is None or f.kind == kind) and (organization is None or f.organization == organization)
        ]


def write_sample(
    out_dir: Path,
    seed: int = 42,
    employees: int = 3000,
    cycles: int = 3,
    first_cycle: int = 2022,
    progress: Callable[[str], None] | None = None,
) -> SampleManifest:
    """Write the sample exports to `out_dir/inbox/` and `out_dir/manifest.json`; return the manifest.

    `employees` is the head count per cycle over both organisations (about 55% vo-demo, 45% zeeland-demo);
    the same people are followed over `cycles` consecutive cycles from `first_cycle`, with turnover, new
    hires and moves between teams.
    """
    if employees < 40:
        raise ValueError("employees must be at least 40 (20 per organisation)")
    if not 1 <= cycles <= 20:
        raise ValueError("cycles must be between 1 and 20")
    if not 2000 <= first_cycle <= 2100 - cycles:
        raise ValueError("first_cycle must be between 2000 and 2100 - cycles")
    out = Path(out_dir)
    inbox = out / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    years = list(range(first_cycle, first_cycle + cycles))
    n_vo = round(employees * VO_SHARE)
    counts = {_vo.ORG: n_vo, _zeeland.ORG: employees - n_vo}
    files: list[SampleFile] = []
    say = progress or (lambda _msg: None)

    def emitter(org: str) -> Callable[..., None]:
        def emit(
            *,
            name: str,
            kind: str,
            cycle: int | None,
            rows: int,
            fmt: str,
            encoding: str | None,
            mapping: str,
            data: bytes,
        ) -> None:
            (inbox / name).write_bytes(data)
            files.append(
                SampleFile(
                    path=f"inbox/{name}",
                    kind=kind,
                    organization=org,
                    cycle=cycle,
                    rows=rows,
                    format=fmt,
                    encoding=encoding,
                    mapping=mapping,
                    sha256=hashlib.sha256(data).hexdigest(),
                    bytes=len(data),
                )
            )
            say(f"{org} {kind}{'' if cycle is None else f' {cycle}'}: {rows} rows -> inbox/{name}")

        return emit

    planted: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    base: dict[str, dict[str, Any]] = {}
    orgs: dict[str, dict[str, Any]] = {}
    modules = (_vo, _zeeland)
    for module in modules:
        say(f"{module.ORG}: simulating {counts[module.ORG]} employees x {cycles} cycles")
    # The organisations are independent (own random streams, own files): generate them side by side.
    with ThreadPoolExecutor(max_workers=len(modules)) as pool:
        jobs = [pool.submit(m.generate, seed, counts[m.ORG], years, emitter(m.ORG)) for m in modules]
        results = [job.result() for job in jobs]
    order = {kind: i for i, kind in enumerate(KINDS)}
    files.sort(key=lambda f: (ORGANIZATIONS.index(f.organization), f.cycle or 0, order[f.kind]))
    for module, parts in zip(modules, results, strict=True):
        org = module.ORG
        panel = parts["panel"]
        planted += parts["planted"]
        findings += parts["findings"]
        base[org] = parts["base_rates"]
        orgs[org] = {
            "employees_per_cycle": counts[org],
            "people_total": int(panel.pool),
            "departments": len(panel.dept_names),
            "evaluators": int(panel.n_teams),
        }
    manifest = SampleManifest(
        seed=seed,
        employees=employees,
        cycles=years,
        organizations=orgs,
        files=files,
        planted=planted,
        planted_findings=findings,
        base_rates=base,
        path=out / "manifest.json",
    )
    text = json.dumps(manifest.to_dict(), ensure_ascii=False, indent=2, sort_keys=False) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")
    say(f"manifest: {len(files)} files -> manifest.json")
    return manifest
