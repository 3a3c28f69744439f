"""Generate the README's data interface from its single sources: the contracts and docs/marts/*.md.

`python -m models.docs` rewrites the marked sections of README.md; a test fails when they are stale.
"""

from __future__ import annotations

import re
import sys

from models.config import PROJECT_ROOT
from models.contracts import all_contracts
from models.warehouse import AUDIT_DDL

README = PROJECT_ROOT / "README.md"
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
            f"#### `staging.{contract.table}` (contract v{contract.version})",
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
    lines += ["#### Audit and raw tables", ""]
    for ddl in AUDIT_DDL:
        name = re.search(r"EXISTS (\S+)", ddl)
        columns = re.search(r"\((.*)\)", ddl, re.S)
        if name and columns:
            cols = ", ".join(f"`{c.split()[0]}`" for c in columns.group(1).split(",") if c.strip())
            lines.append(f"- `{name.group(1)}`: {cols}")
    return "\n".join(lines) + "\n"


def marts_markdown() -> str:
    parts = []
    for path in sorted(MARTS_DOCS.glob("*.md")):
        text = path.read_text(encoding="utf-8").strip()
        # Demote headings so each document nests under the README's "Marts" heading.
        parts.append(re.sub(r"^(#+)", lambda m: m.group(1) + "###", text, flags=re.M))
    return "\n\n".join(parts) + "\n" if parts else "_No marts documented yet._\n"


def _replace(text: str, marker: str, content: str) -> str:
    pattern = re.compile(rf"(<!-- {marker}:start -->\n).*?(<!-- {marker}:end -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"README.md lacks the <!-- {marker}:start/end --> markers")
    return pattern.sub(lambda m: m.group(1) + content + m.group(2), text)


def render(readme_text: str) -> str:
    text = _replace(readme_text, "contracts", contracts_markdown())
    return _replace(text, "marts", marts_markdown())


def main() -> int:
    current = README.read_text(encoding="utf-8")
    updated = render(current)
    if "--check" in sys.argv:
        if updated != current:
            print("README.md data interface is stale: run `python -m models.docs`")
            return 1
        return 0
    README.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
