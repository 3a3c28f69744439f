"""Re-identification for the packs: the meeting's calibration pack shows each case by the employee number the
HR system knows, for the participants of that department's meeting only, and the management pack shows the
norming review's evaluators and managers the same way, for the management team and HR (docs/privacy.md).

Raw identifiers never enter the database, logs or Dagster storage. The map pseudonym → employee number is
rebuilt at pack time from the source exports still in the inbox and the pseudonymisation key (no map is
stored anywhere): each export's identifier columns are read and typed exactly as ingest reads them, and
hashed with the key; a pseudonym the key does not produce from an export stays as it is. Without the key
there is no map, so building a pack needs the key. The pack is written to a folder only its owner can read
(0700, files 0600) and marked confidential.

No Dagster and no database here: files in, a dict and files out.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from models.contracts import load_contract
from models.ingest import READ_WORKERS
from models.mapping import Mapping, find_mapping
from models.parsing import apply_mapping, type_columns
from models.pseudonym import DIGEST_CHARS, PREFIX, pseudonymise_columns
from models.readers import read_source

PSEUDONYM = re.compile(re.escape(PREFIX) + r"[0-9a-f]{" + str(DIGEST_CHARS) + r"}\b")
# The exports that name the people a pack shows: evaluations carry the employee (`employee_id`) and the
# evaluators (`evaluator_id`, the manager the norming review's charts group by, and `second_evaluator_id`), all
# `pii: identifier` in the contract, so one map turns back cases, evaluators and managers alike (employee and
# evaluator ids share one namespace, models.pseudonym).
EXPORT_KINDS = ("evaluations",)
# What a pack writes in place of a pseudonym: letters and digits (any script), with spaces, '.', '-' and '_'
# inside, at most 64 characters (an evaluator may be exported by name, "J. de Vries"). Every such value is the
# same text in HTML (text and quoted attributes), in the JSON of a chart, in CSV (`;` or `,`) and in XLSX's XML,
# so it needs no escaping anywhere; any other identifier stays a pseudonym (and is counted as left).
SHOWABLE = re.compile(r"\w(?:[\w .-]{0,62}[\w.])?")


def _identifier_pairs(path: Path, mapping: Mapping) -> list[pl.DataFrame]:
    """(organization, raw) of every identifier column of one export, read and typed as ingest reads it."""
    contract = load_contract(mapping.kind)
    canonical = apply_mapping(read_source(path, mapping), mapping, contract, path.name).frame
    identifiers = [c for c in contract.columns if c.pii == "identifier" and c.name in canonical.columns]
    # type_columns passes string columns through unchanged: typing the whole export (a quarter of the map's
    # cost) is needed only for an identifier of another type.
    if all(c.type == "string" for c in identifiers):
        typed = canonical
    else:
        typed, _ = type_columns(canonical, contract, mapping)
    return [
        typed.select(pl.col("organization").cast(pl.String), pl.col(c.name).cast(pl.String).alias("raw"))
        .drop_nulls()
        .unique()
        for c in identifiers
    ]


def pseudonym_map(
    paths: Iterable[Path],
    mappings: list[Mapping],
    key: bytes,
    kinds: tuple[str, ...] = EXPORT_KINDS,
    organizations: Collection[str] | None = None,
) -> dict[str, str]:
    """pseudonym → raw identifier for every identifier column of the exports of `kinds` among `paths`
    (read and typed as ingest reads them, so the same key gives the same pseudonyms). Kept in memory only.

    `organizations`: only their exports are read (an export whose mapping names another organisation is
    skipped unread). Exports are read two at a time, as ingest reads them (the readers run in polars and the
    Excel reader, which release the interpreter). The same people recur in every cycle's export and column:
    the (organisation, identifier) pairs are made distinct in polars and hashed once each, through the
    process's pseudonym table (models.pseudonym: in a `calibra run` the ingest step has hashed them already)."""
    exports = []
    for path in paths:
        mapping = find_mapping(path.name, mappings)
        if mapping is None or mapping.kind not in kinds:
            continue
        named = mapping.constants.get("organization")
        if organizations is not None and named is not None and str(named) not in organizations:
            continue
        exports.append((path, mapping))
    with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        found = [frame for frames in pool.map(lambda e: _identifier_pairs(*e), exports) for frame in frames]
    if not found:
        return {}
    pairs = pl.concat(found).unique()
    hashed = pseudonymise_columns(pairs.with_columns(pl.col("raw").alias("pseudonym")), ["pseudonym"], key)
    return dict(zip(hashed["pseudonym"].to_list(), hashed["raw"].to_list(), strict=True))


# PSEUDONYM as one group: re.split puts each pseudonym at an odd index, the text around it at the even ones.
_SPLIT = re.compile(f"({PSEUDONYM.pattern})")


def reidentify(html: str, known: dict[str, str], left: set[str] | None = None) -> str:
    """`html` with every pseudonym `known` maps replaced by its identifier, where the identifier is
    `SHOWABLE` (then it needs no escaping in HTML, JSON, CSV or XML); every pseudonym left as it is (not
    in the map, or not showable) is added to `left`.

    One pass of the compiled pattern (a split, not a substitution that calls back into Python per mention);
    each distinct pseudonym of the text is looked up once."""
    parts = _SPLIT.split(html)
    if len(parts) == 1:
        return html
    mentioned = parts[1::2]
    swap: dict[str, str] = {}
    for pseudonym in set(mentioned):
        raw = known.get(pseudonym)
        if raw is not None and SHOWABLE.fullmatch(raw):
            swap[pseudonym] = raw
        else:
            swap[pseudonym] = pseudonym
            if left is not None:
                left.add(pseudonym)
    parts[1::2] = [swap[pseudonym] for pseudonym in mentioned]
    return "".join(parts)


# One compact line: a pack of up to ten cases prints on two A4 pages (tests/test_print.py); the earlier
# three-line banner pushed the sample's packs onto a third.
CONFIDENTIAL_BANNER = (
    "<div class='confidential' style='border:1px solid #a00;padding:.1em .4em;margin:.2em 0;font-weight:bold;"
    "font-size:85%'>{text}</div>"
)


def write_private(root: Path, relative: str, text: str | bytes) -> Path:
    """Write `text` (or bytes) to root/relative readable by its owner only: every folder from `root` down 0700,
    the file 0600 from its creation (no window in which others could read it)."""
    path = root / relative
    folder = root
    for part in [root, *(Path(p) for p in Path(relative).parent.parts)]:
        folder = part if part == root else folder / part
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)
    if path.exists():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def mark_confidential(html: str, text: str) -> str:
    """The pack with a confidential banner at the top of its body."""
    banner = CONFIDENTIAL_BANNER.format(text=text)
    marker = re.search(r"<body[^>]*>", html)
    if marker is None:
        return banner + html
    return html[: marker.end()] + banner + html[marker.end() :]
