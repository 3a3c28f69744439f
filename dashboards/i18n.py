"""User-facing texts (Dutch default, English on request) and number formats per language."""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, Any]] = {
    "site_title": {"nl": "calibra — beoordelen en belonen", "en": "calibra — appraisal and reward"},
    "site_intro": {
        "nl": "Overzichten voor kalibratievergaderingen, normering door het managementteam, eerlijkheid, "
        "budget en proces. Alle cijfers zijn groepstotalen; kleine groepen worden niet getoond.",
        "en": "Overviews for calibration meetings, management-team norming, fairness, budget and process. "
        "All figures are group totals; small groups are not shown.",
    },
    "cycles": {"nl": "cycli", "en": "cycles"},
    "no_data": {"nl": "nog geen gegevens", "en": "no data yet"},
    "data_quality": {"nl": "Datakwaliteit", "en": "Data quality"},
    "ledger_explain": {
        "nl": "Elk ingelezen bestand met het aantal gelezen, geladen, in quarantaine gezette en afgewezen rijen. "
        "Gelezen = geladen + quarantaine + afgewezen: er gaat geen rij verloren.",
        "en": "Every file read, with rows read, loaded, quarantined and rejected. "
        "Read = loaded + quarantined + rejected: no row is lost.",
    },
    "ledger_headers": {
        "nl": {
            "file_name": "Bestand",
            "kind": "Soort",
            "organization": "Organisatie",
            "cycle": "Cyclus",
            "rows_read": "Gelezen",
            "rows_loaded": "Geladen",
            "rows_quarantined": "Quarantaine",
            "rows_rejected": "Afgewezen",
            "status": "Status",
        },
        "en": {
            "file_name": "File",
            "kind": "Kind",
            "organization": "Organisation",
            "cycle": "Cycle",
            "rows_read": "Read",
            "rows_loaded": "Loaded",
            "rows_quarantined": "Quarantined",
            "rows_rejected": "Rejected",
            "status": "Status",
        },
    },
    "quarantine_by_rule": {"nl": "Quarantaine per regel", "en": "Quarantine by rule"},
    "quarantine_headers": {
        "nl": {"kind": "Soort", "column_name": "Kolom", "rule": "Regel", "rows": "Rijen"},
        "en": {"kind": "Kind", "column_name": "Column", "rule": "Rule", "rows": "Rows"},
    },
    "source_ledger": {
        "nl": "Bron: audit.load_ledger en audit.quarantine.",
        "en": "Source: audit.load_ledger and audit.quarantine.",
    },
    "footer": {
        "nl": "calibra — vertrouwelijk, alleen voor intern gebruik.",
        "en": "calibra — confidential, internal use only.",
    },
}


def text(key: str, language: str) -> Any:
    entry = TEXTS[key]
    return entry.get(language, entry["nl"])


def fmt_int(value: int, language: str) -> str:
    grouped = f"{value:,}"
    return grouped.replace(",", ".") if language == "nl" else grouped


def fmt_number(value: float, language: str, decimals: int = 1) -> str:
    grouped = f"{value:,.{decimals}f}"
    if language == "nl":
        return grouped.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return grouped


def fmt_pct(share: float, language: str, decimals: int = 0) -> str:
    return fmt_number(100 * share, language, decimals) + "%"
