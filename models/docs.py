"""Generate docs/data-interface.md from its single sources: the contracts and docs/marts/*.md.

`python -m models.docs` rewrites the marked sections of docs/data-interface.md (the canonical tables from
data-contracts/, and an index of the mart documents with the tables each describes); `--check` fails when
they are stale, and so does a test. The README links to the generated page instead of repeating it.
"""

from __future__ import annotations

import re
import sys

from models.config import PROJECT_ROOT
from models.contracts import all_contracts
from models.warehouse import AUDIT_DDL

README = PROJECT_ROOT / "README.md"
DATA_INTERFACE = PROJECT_ROOT / "docs" / "data-interface.md"
MARTS_DOCS = PROJECT_ROOT / "docs" / "marts"


def _rules(column) -> str:  # type: ignore[no-untyped-def]
    parts = []
    if column.allowed is not None:
        parts.append("one of " + ", ".join(f"`{v}`" for v in column.allowed))
    if column.allowed_from_policy:
        parts.append(f"from the policy's `{column.allowed_from_policy}`")
    if column.minimum is not None or column.maximum is not None:
        low = "" if column.minimum is None else f"{'>' if column.strict_min else '≥'} {column.minimum}"
        high = "" if column.maximum is None else f"≤ {column.maximum}"
        parts.append(" and ".join(p for p in (low, high) if p))
    if column.pattern:
        parts.append(f"matches `{column.pattern}`")
    if column.max_length:
        parts.append(f"≤ {column.max_length} characters")
    return "; ".join(parts)


def contracts_markdown() -> str:
    lines = []
    for contract in all_contracts().values():
        keys = "; ".join("(" + ", ".join(k) + ")" for k in contract.keys)
        lines += [
            f"### `staging.{contract.table}` (contract v{contract.version})",
            "",
            contract.description,
            "",
            f"Grain and key: {keys}. Source: `data-contracts/{contract.table}.yaml`.",
            "",
            "| column | type | required | rules | PII | meaning |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for col in contract.columns:
            required = "yes" if col.required else ""
            lines.append(
                f"| `{col.name}` | {col.type} | {required} | {_rules(col)} | {col.pii} | {col.description} |"
            )
        lines += [
            "| `_source_sha256`, `_source_row` | text, integer | yes | | none | Lineage: the file and row it came from. |",
            "",
        ]
    lines += ["### Audit and raw tables", ""]
    for ddl in AUDIT_DDL:
        name = re.search(r"EXISTS (\S+)", ddl)
        columns = re.search(r"\((.*)\)", ddl, re.S)
        if name and columns:
            cols = ", ".join(f"`{c.split()[0]}`" for c in columns.group(1).split(",") if c.strip())
            lines.append(f"- `{name.group(1)}`: {cols}")
    return "\n".join(lines) + "\n"


def _title(text: str) -> str:
    found = re.search(r"^# (.+)$", text, flags=re.M)
    # a document's history (which issue brought it) is no part of its title in an index
    return re.sub(r"\s*\(issue \d+\)", "", found.group(1)).strip() if found else ""


def marts_markdown() -> str:
    """One line per document in docs/marts/: its title, linked, and the tables its headings name."""
    lines = []
    for path in sorted(MARTS_DOCS.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        tables = dict.fromkeys(re.findall(r"^#+ .*?`?((?:marts|audit|staging)\.[a-z_]+)`?", text, flags=re.M))
        described = ": " + ", ".join(f"`{t}`" for t in tables) if tables else ""
        lines.append(f"- [{_title(text) or path.stem}](marts/{path.name}){described}")
    return "\n".join(lines) + "\n" if lines else "_No marts documented yet._\n"


def _replace(text: str, marker: str, content: str) -> str:
    pattern = re.compile(rf"(<!-- {marker}:start -->\n).*?(<!-- {marker}:end -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"{DATA_INTERFACE.name} lacks the <!-- {marker}:start/end --> markers")
    return pattern.sub(lambda m: m.group(1) + content + m.group(2), text)


def render(text: str) -> str:
    """The data-interface page with its generated sections brought up to date."""
    text = _replace(text, "contracts", contracts_markdown())
    return _replace(text, "marts", marts_markdown())


def main() -> int:
    current = DATA_INTERFACE.read_text(encoding="utf-8")
    updated = render(current)
    if "--check" in sys.argv:
        if updated != current:
            print(f"{DATA_INTERFACE.relative_to(PROJECT_ROOT)} is stale: run `python -m models.docs`")
            return 1
        return 0
    DATA_INTERFACE.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
