"""The sample generator (models/sample): deterministic, in each source system's own layout, readable by the
mappings in mappings/, with realistic base rates and the planted patterns described in manifest.json."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import fnmatch
import io
import json
import re
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
import yaml

from models.config import PROJECT_ROOT
from models.contracts import load_contract
from models.mapping import find_mapping, load_mappings
from models.parsing import apply_mapping, type_columns
from models.readers import read_source
from models.sample import SampleManifest, write_sample

MAPPINGS_DIR = PROJECT_ROOT / "mappings"
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")  # employee_id in data-contracts/evaluations.yaml


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleManifest]:
    out = tmp_path_factory.mktemp("sample_a")
    return out, write_sample(out, seed=42, employees=400, cycles=3)


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleManifest]:
    out = tmp_path_factory.mktemp("sample_large")
    return out, write_sample(out, seed=11, employees=5000, cycles=3)


def raw_mapping(mapping_id: str) -> dict[str, Any]:
    for path in sorted(MAPPINGS_DIR.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if raw["id"] == mapping_id:
            return raw
    raise AssertionError(f"no mapping with id {mapping_id} in {MAPPINGS_DIR}")


def header_of(path: Path, mapping: dict[str, Any]) -> list[str]:
    if mapping["format"] == "xlsx":
        wb = openpyxl.load_workbook(path, read_only=True)
        try:
            first = next(wb[mapping["sheet"]].iter_rows(min_row=1, max_row=1, values_only=True))
        finally:
            wb.close()
        return [str(v) for v in first if v is not None]
    text = path.read_bytes().decode(mapping["encoding"])
    return next(csv.reader(io.StringIO(text), delimiter=mapping["delimiter"]))


def read_csv(path: Path, encoding: str = "utf-8") -> pl.DataFrame:
    text = path.read_bytes().decode(encoding)
    return pl.read_csv(text.encode("utf-8"), separator=";", infer_schema=False)


def frames(out: Path, manifest: SampleManifest, organization: str, kind: str) -> pl.DataFrame:
    """All cycles of one kind, read as text exactly as written."""
    parts = []
    for f in manifest.files_of(kind, organization):
        if f.format == "xlsx":
            parts.append(pl.read_excel(out / f.path, sheet_name="Beoordelingen", infer_schema_length=0))
        else:
            parts.append(read_csv(out / f.path, f.encoding or "utf-8"))
    return pl.concat(parts, how="vertical")


# --------------------------------------------------------------------------------------------- determinism
def test_same_seed_same_bytes_other_seed_other_bytes(
    tmp_path: Path, small: tuple[Path, SampleManifest]
) -> None:
    out, manifest = small
    again = write_sample(tmp_path / "again", seed=42, employees=400, cycles=3)
    other = write_sample(tmp_path / "other", seed=43, employees=400, cycles=3)
    assert [f.path for f in again.files] == [f.path for f in manifest.files]
    for f in manifest.files:
        assert (tmp_path / "again" / f.path).read_bytes() == (out / f.path).read_bytes(), f.path
    assert (tmp_path / "again" / "manifest.json").read_bytes() == (out / "manifest.json").read_bytes()
    changed = [
        f.path
        for f in manifest.files
        if (tmp_path / "other" / f.path).read_bytes() != (out / f.path).read_bytes()
    ]
    # every per-cycle export differs for another seed; only the two fixed salary scale tables stay the same
    assert sorted(set(f.path for f in manifest.files) - set(changed)) == sorted(
        f.path for f in manifest.files if f.kind == "salary_scales"
    )
    assert other.planted != manifest.planted


def test_manifest_hashes_match_files(small: tuple[Path, SampleManifest]) -> None:
    import hashlib

    out, manifest = small
    for f in manifest.files:
        data = (out / f.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f.sha256
        assert len(data) == f.bytes


# ---------------------------------------------------------------------------------------- layouts, mappings
def test_file_list_per_organisation_cycle_and_kind(small: tuple[Path, SampleManifest]) -> None:
    out, _ = small
    data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert data["cycles"] == [2022, 2023, 2024]
    keys = [(f["organization"], f["kind"], f["cycle"]) for f in data["files"]]
    assert len(keys) == len(set(keys)) == 2 * 3 * 3 + 2
    for org in ("vo-demo", "zeeland-demo"):
        for kind in ("evaluations", "awards", "payroll"):
            assert sorted(c for o, k, c in keys if o == org and k == kind) == [2022, 2023, 2024]
        assert [c for o, k, c in keys if o == org and k == "salary_scales"] == [None]
    assert sorted(p.name for p in (out / "inbox").iterdir()) == sorted(
        Path(f["path"]).name for f in data["files"]
    )


def test_every_file_has_the_headers_its_mapping_expects(small: tuple[Path, SampleManifest]) -> None:
    out, manifest = small
    for f in manifest.files:
        mapping = raw_mapping(f.mapping)
        assert mapping["kind"] == f.kind
        assert mapping["constants"]["organization"] == f.organization
        assert any(fnmatch.fnmatch(Path(f.path).name, pattern) for pattern in mapping["match"]), f.path
        header = header_of(out / f.path, mapping)
        missing = set(mapping["columns"]) - set(header)
        assert not missing, f"{f.path}: headers missing for mapping {f.mapping}: {missing}"


def test_project_mapping_loader_picks_the_listed_mapping(small: tuple[Path, SampleManifest]) -> None:
    _, manifest = small
    mappings = load_mappings([MAPPINGS_DIR])
    for f in manifest.files:
        found = find_mapping(Path(f.path).name, mappings)
        assert found is not None and found.id == f.mapping, f.path
        # exactly one mapping claims the file, so the order of mappings/ does not matter
        assert sum(m.matches(Path(f.path).name) for m in mappings) == 1


def test_every_cell_types_under_its_mapping(small: tuple[Path, SampleManifest]) -> None:
    """Read → map → type with the ingest's own code: no cell of the sample fails typing."""
    out, manifest = small
    mappings = {m.id: m for m in load_mappings([MAPPINGS_DIR])}
    for f in manifest.files:
        mapping = mappings[f.mapping]
        contract = load_contract(f.kind)
        source = read_source(out / f.path, mapping)
        assert source.height == f.rows, f.path
        canonical = apply_mapping(source, mapping, contract, Path(f.path).name)
        typed, violations = type_columns(canonical.frame, contract, mapping)
        assert violations.height == 0, f"{f.path}: {violations.head(5)}"
        assert canonical.violations.height == 0
        required = [c.name for c in contract.columns if c.required]
        assert typed.select(pl.col(required).null_count()).sum_horizontal().item() == 0, f.path


def test_personal_data_columns_are_present_but_never_mapped(small: tuple[Path, SampleManifest]) -> None:
    out, manifest = small
    for f in manifest.files_of("evaluations"):
        mapping = raw_mapping(f.mapping)
        header = header_of(out / f.path, mapping)
        pii = {"Naam", "Rijksregisternummer"} if f.organization == "vo-demo" else {"E-mail"}
        assert pii <= set(header)
        assert not pii & set(mapping["columns"])
    vo = frames(out, manifest, "vo-demo", "evaluations")
    assert vo.get_column("Naam").str.starts_with("Fictief Persoon ").all()
    assert vo.get_column("Rijksregisternummer").str.starts_with("FICTIEF-").all()
    zl = frames(out, manifest, "zeeland-demo", "evaluations")
    assert zl.get_column("E-mail").str.ends_with("@voorbeeld.invalid").all()


def test_dutch_conventions(small: tuple[Path, SampleManifest]) -> None:
    out, manifest = small
    pay = frames(out, manifest, "vo-demo", "payroll")
    assert pay.get_column("Bruto jaarwedde").str.contains(r"^\d{1,3}(\.\d{3})*,\d{2}$").all()
    assert pay.get_column("Bruto jaarwedde").str.contains(r"\.").any()  # thousands separators are used
    ev = frames(out, manifest, "vo-demo", "evaluations")
    assert ev.get_column("Prestatiebreuk").str.contains(",").any()
    assert not ev.get_column("Prestatiebreuk").str.contains(r"\.").any()
    assert ev.get_column("Datum evaluatiegesprek").str.contains(r"^\d{2}-\d{2}-\d{4}$").all()
    assert set(ev.get_column("Schriftelijk").unique()) == {"ja", "nee"}
    assert set(ev.get_column("Geslacht").unique()) <= {"V", "M", "X"}
    first_line = (out / manifest.files_of("payroll", "zeeland-demo")[0].path).read_text(encoding="utf-8")
    assert first_line.startswith("Medewerkernr;Jaar;Schaal;Jaarsalaris;Deeltijdfactor;Afdeling\n")


def test_cp1252_awards_file(small: tuple[Path, SampleManifest]) -> None:
    out, manifest = small
    files = manifest.files_of("awards", "zeeland-demo")
    assert files and all(f.encoding == "cp1252" for f in files)
    for f in files:
        data = (out / f.path).read_bytes()
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        text = data.decode("cp1252")
        assert "\r\n" in text
    assert any("één" in (out / f.path).read_bytes().decode("cp1252") for f in files)


def test_exactly_one_file_with_a_utf8_bom(small: tuple[Path, SampleManifest]) -> None:
    out, manifest = small
    with_bom = [f for f in manifest.files if (out / f.path).read_bytes().startswith(codecs.BOM_UTF8)]
    assert [(f.organization, f.kind, f.encoding) for f in with_bom] == [
        ("vo-demo", "salary_scales", "utf-8-sig")
    ]
    assert raw_mapping(with_bom[0].mapping)["encoding"] == "utf-8-sig"
    assert header_of(out / with_bom[0].path, raw_mapping(with_bom[0].mapping))[0] == "Weddeschaal"


def test_workbook_hides_a_junk_sheet_before_the_data(small: tuple[Path, SampleManifest]) -> None:
    out, manifest = small
    f = manifest.files_of("evaluations", "zeeland-demo")[0]
    wb = openpyxl.load_workbook(out / f.path, read_only=True)
    try:
        states = {ws.title: ws.sheet_state for ws in wb.worksheets}
        assert wb.sheetnames[0] != raw_mapping(f.mapping)["sheet"]
        assert states[wb.sheetnames[0]] == "hidden"
        assert states[raw_mapping(f.mapping)["sheet"]] == "visible"
        rows = list(wb[raw_mapping(f.mapping)["sheet"]].iter_rows(values_only=True))
    finally:
        wb.close()
    assert len(rows) - 1 == f.rows
    # real Excel dates in one column, bare serial numbers in another (mapping: excel_dates)
    header = list(rows[0])
    talks = [r[header.index("Datum jaargesprek")] for r in rows[1:]]
    assert all(isinstance(v, dt.datetime) for v in talks if v is not None) and any(talks)
    assert all(isinstance(r[header.index("Datum in dienst")], int) for r in rows[1:])
    assert raw_mapping(f.mapping)["excel_dates"] is True


def test_manifest_row_counts_match_the_files(small: tuple[Path, SampleManifest]) -> None:
    out, manifest = small
    for f in manifest.files:
        if f.format == "xlsx":
            count = pl.read_excel(out / f.path, sheet_name="Beoordelingen").height
        else:
            count = read_csv(out / f.path, f.encoding or "utf-8").height
        assert count == f.rows, f.path
    per_cycle = {f.organization: f.rows for f in manifest.files if f.kind == "evaluations"}
    assert per_cycle == {"vo-demo": 220, "zeeland-demo": 180}


# ------------------------------------------------------------------------------------------------- the panel
def test_ids_keep_leading_zeros_and_match_the_contract(small: tuple[Path, SampleManifest]) -> None:
    out, manifest = small
    vo = frames(out, manifest, "vo-demo", "evaluations")
    ids = vo.get_column("Personeelsnummer")
    assert ids.str.contains(r"^\d{6}$").all()
    assert ids.str.starts_with("0").mean() > 0.5
    zl = frames(out, manifest, "zeeland-demo", "evaluations")
    assert zl.get_column("Medewerkernr").str.contains(r"^Z\d{5,}$").all()
    for column in ("Personeelsnummer", "Evaluator 1", "Evaluator 2"):
        assert all(ID_PATTERN.match(v) for v in vo.get_column(column).to_list())
    assert all(ID_PATTERN.match(v) for v in zl.get_column("Leidinggevende").to_list())


def test_people_persist_with_turnover_and_moves(small: tuple[Path, SampleManifest]) -> None:
    out, manifest = small
    vo = frames(out, manifest, "vo-demo", "evaluations")
    by_year = {
        y: set(vo.filter(pl.col("Evaluatiejaar") == str(y)).get_column("Personeelsnummer"))
        for y in (2022, 2023)
    }
    stayed = len(by_year[2022] & by_year[2023]) / len(by_year[2022])
    assert 0.80 < stayed < 0.97  # ~8% turnover a year
    both = vo.filter(pl.col("Personeelsnummer").is_in(list(by_year[2022] & by_year[2023])))
    per_person = both.group_by("Personeelsnummer").agg(
        pl.col("Geboortejaar").n_unique().alias("births"),
        pl.col("Evaluator 1").n_unique().alias("evaluators"),
    )
    assert per_person.get_column("births").max() == 1
    moved = (per_person.get_column("evaluators") > 1).mean()
    assert 0.03 < moved < 0.25  # some people change team, so evaluator teams are linked


# ----------------------------------------------------------------------------------------- base rates (5000)
def test_ploeg_rarities_at_5000_employees(large: tuple[Path, SampleManifest]) -> None:
    out, manifest = large
    ev = frames(out, manifest, "vo-demo", "evaluations")
    n = ev.height
    shares = ev.get_column("Evaluatiebeslissing").value_counts(normalize=True)
    share = dict(zip(shares.get_column("Evaluatiebeslissing"), shares.get_column("proportion"), strict=True))
    assert 0 < share.get("Onvoldoende", 0) < 0.02
    assert share.get("Loopbaanvertraging", 0) < share.get("Onvoldoende", 0)
    delays = ev.filter(pl.col("Evaluatiebeslissing") == "Loopbaanvertraging")
    assert (delays.get_column("Statuut") == "Statutair").all()
    assert (delays.get_column("Salarisstelsel") == "Anciënniteit").all()
    traps = ev.get_column("Salarisbeslissing").drop_nulls().value_counts(normalize=True).sort("proportion")
    assert traps.get_column("Salarisbeslissing").to_list()[-1] == "1"
    assert traps.get_column("proportion").max() > 0.6
    # no trap in the seniority system (F-8/F-9); onvoldoende always trap 0 (F-10)
    assert ev.filter(pl.col("Salarisstelsel") == "Anciënniteit").get_column(
        "Salarisbeslissing"
    ).null_count() == (ev.filter(pl.col("Salarisstelsel") == "Anciënniteit").height)
    assert (
        ev.filter(pl.col("Evaluatiebeslissing") == "Onvoldoende").get_column("Salarisbeslissing").drop_nulls()
        == "0"
    ).all()
    # conversations mostly inside 1 Dec .. 31 Mar (F-2), a few outside
    conv = ev.select(
        pl.col("Datum evaluatiegesprek").str.strptime(pl.Date, "%d-%m-%Y").alias("d"),
        pl.col("Evaluatiejaar").cast(pl.Int32).alias("y"),
    )
    inside = conv.select(
        (
            (pl.col("d") >= pl.date(pl.col("y"), 12, 1)) & (pl.col("d") <= pl.date(pl.col("y") + 1, 3, 31))
        ).mean()
    ).item()
    assert 0.95 < inside < 1.0
    assert n == 3 * 2750


def test_seniority_system_only_for_staff_hired_before_june_2024(large: tuple[Path, SampleManifest]) -> None:
    out, manifest = large
    ev = frames(out, manifest, "vo-demo", "evaluations").with_columns(
        pl.col("Datum in dienst").str.strptime(pl.Date, "%d-%m-%Y").alias("hired")
    )
    cutoff = dt.date(2024, 6, 1)
    seniority = ev.filter(pl.col("Salarisstelsel") == "Anciënniteit")
    assert seniority.height > 0
    assert seniority.get_column("hired").max() < cutoff
    late_hires = ev.filter(pl.col("hired") >= cutoff)
    assert late_hires.height > 0  # the rule is exercised: people hired after the cutoff exist
    assert (late_hires.get_column("Salarisstelsel") == "Evaluatie").all()
    early = ev.filter(pl.col("hired") < cutoff)
    assert 0.2 < (early.get_column("Salarisstelsel") == "Anciënniteit").mean() < 0.8  # not all of them


def test_zeeland_structural_pct_follows_z2_except_planted(large: tuple[Path, SampleManifest]) -> None:
    out, manifest = large
    ev = frames(out, manifest, "zeeland-demo", "evaluations")
    aw = frames(out, manifest, "zeeland-demo", "awards").filter(pl.col("Soort beloning") == "Structureel")
    z2 = {"Slecht": "0", "Matig": "1", "Normaal": "3", "Zeer goed": "4", "Uitstekend": "6"}
    joined = aw.join(
        ev.select(
            "Medewerkernr", pl.col("Beoordelingsjaar").alias("Jaar"), "Beoordeling", "Op schaalmaximum"
        ),
        on=["Medewerkernr", "Jaar"],
    )
    assert joined.height == aw.height
    expected = (
        pl.when(pl.col("Op schaalmaximum") == "ja")
        .then(pl.lit("0"))
        .otherwise(pl.col("Beoordeling").replace_strict(z2))
    )
    wrong = joined.filter(pl.col("Percentage") != expected)
    planted = {
        (e, f["cycle"])
        for f in manifest.planted_findings
        if f["id"] in ("zeeland_structural_pct_mismatch", "zeeland_raise_at_scale_maximum")
        for e in f["employee_ids"]
    }
    assert planted and {(e, int(y)) for e, y in wrong.select("Medewerkernr", "Jaar").iter_rows()} == planted
    # the at-maximum share is realistic (~20%)
    at_max = (ev.get_column("Op schaalmaximum") == "ja").mean()
    assert 0.12 < at_max < 0.32
    # chosen leave over 6 months: no rating (Z-11)
    leave = ev.filter(
        pl.col("Soort afwezigheid").is_in(["Ouderschapsverlof", "Sabbatical"])
        & (pl.col("Maanden afwezig").str.replace(",", ".").cast(pl.Float64) > 6)
    )
    assert leave.height > 0 and leave.get_column("Beoordeling").null_count() == leave.height


def test_zeeland_grades_match_ratings_except_planted(large: tuple[Path, SampleManifest]) -> None:
    out, manifest = large
    ev = frames(out, manifest, "zeeland-demo", "evaluations").filter(pl.col("Beoordeling").is_not_null())
    grade = pl.col("Cijfer").str.replace(",", ".").cast(pl.Float64)
    band = (
        pl.when(grade <= 4)
        .then(pl.lit("Slecht"))
        .when(grade < 6)
        .then(pl.lit("Matig"))
        .when(grade < 8)
        .then(pl.lit("Normaal"))
        .when(grade < 9)
        .then(pl.lit("Zeer goed"))
        .otherwise(pl.lit("Uitstekend"))
    )
    wrong = ev.filter(band != pl.col("Beoordeling"))
    planted = {
        (e, f["cycle"])
        for f in manifest.planted_findings
        if f["id"] == "zeeland_grade_rating_mismatch"
        for e in f["employee_ids"]
    }
    assert (
        planted
        and {(e, int(y)) for e, y in wrong.select("Medewerkernr", "Beoordelingsjaar").iter_rows()} == planted
    )
    assert ev.get_column("Cijfer").str.contains(",").any()  # x,5 grades with a decimal comma


def test_zeeland_incidental_rewards_follow_the_policy(large: tuple[Path, SampleManifest]) -> None:
    out, manifest = large
    aw = frames(out, manifest, "zeeland-demo", "awards")
    allowed = {
        "Outputbeloning": {"3", "7"},
        "Inputbeloning": {"3"},
        "Input- en outputbeloning": {"4", "5", "6"},
    }
    for kind, pcts in allowed.items():
        seen = set(aw.filter(pl.col("Soort beloning") == kind).get_column("Percentage").unique())
        assert seen and seen <= pcts, kind
    groups = aw.filter(pl.col("Soort beloning") == "Groepsbeloning")
    amounts = groups.group_by("Groep").agg(
        pl.col("Bedrag").n_unique().alias("k"), pl.col("Bedrag").min().alias("lo")
    )
    unequal = set(amounts.filter(pl.col("k") > 1).get_column("Groep"))
    planted = [f for f in manifest.planted_findings if f["id"] == "zeeland_group_reward_unequal"]
    assert unequal == {planted[0]["group_id"]}
    assert (groups.get_column("Bruto/netto") == "Netto").all()
    euros = groups.get_column("Bedrag").str.replace_all(r"\.", "").str.replace(",", ".").cast(pl.Float64)
    assert euros.min() >= 250
    mobility = aw.filter(pl.col("Soort beloning") == "Mobiliteitsbeloning")
    invalid = mobility.filter(
        (pl.col("Reden overstap") != "Eigen initiatief") | (pl.col("Soort overstap") == "Hogere schaal")
    )
    planted_mob = [f for f in manifest.planted_findings if f["id"] == "zeeland_mobility_invalid"]
    assert invalid.get_column("Medewerkernr").to_list() == planted_mob[0]["employee_ids"]
    lma = aw.filter(pl.col("Soort beloning") == "Arbeidsmarkttoelage")
    assert lma.height > 0
    assert lma.get_column("Percentage").str.replace(",", ".").cast(pl.Float64).max() <= 10
    assert lma.get_column("Duur (maanden)").cast(pl.Int64).max() <= 36
    # one row per employee and type per cycle (the contract's key)
    assert aw.select("Medewerkernr", "Jaar", "Soort beloning").is_duplicated().sum() == 0


# ------------------------------------------------------------------------------------------ planted patterns
def test_manifest_describes_the_planted_patterns(small: tuple[Path, SampleManifest]) -> None:
    out, _ = small
    data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    patterns = {(p["organization"], p["pattern"]) for p in data["planted"]}
    assert {
        ("vo-demo", "lenient_evaluator"),
        ("zeeland-demo", "lenient_evaluator"),
        ("zeeland-demo", "department_rates_high"),
        ("vo-demo", "department_more_trap2"),
        ("zeeland-demo", "gender_gap_incidental_rewards"),
        ("vo-demo", "late_signatures"),
        ("zeeland-demo", "calibration_moves_women_down"),
    } <= patterns
    for p in data["planted"]:
        assert p["cycles"] == [2022, 2023, 2024]
        assert {"id", "organization", "unit", "metric", "expected"} <= set(p)
    findings = {f["id"] for f in data["planted_findings"]}
    assert {
        "zeeland_grade_rating_mismatch",
        "zeeland_structural_pct_mismatch",
        "zeeland_group_reward_unequal",
    } <= findings


def _score(col: str) -> pl.Expr:
    return pl.col(col).replace_strict(
        {"Slecht": 1, "Matig": 2, "Normaal": 3, "Zeer goed": 4, "Uitstekend": 5},
        default=None,
        return_dtype=pl.Int64,
    )


def test_planted_patterns_are_visible_in_the_files(large: tuple[Path, SampleManifest]) -> None:
    out, manifest = large
    planted = {p["id"]: p for p in manifest.planted}
    zl = frames(out, manifest, "zeeland-demo", "evaluations").with_columns(
        _score("Beoordeling").alias("score")
    )
    lenient = planted["zeeland_lenient_evaluator"]["unit"]["evaluator_id"]
    mine = zl.filter(pl.col("Leidinggevende") == lenient).get_column("score").mean()
    rest = zl.filter(pl.col("Leidinggevende") != lenient).get_column("score").mean()
    assert mine - rest > 0.5
    dept = planted["zeeland_high_rating_department"]["unit"]["department"]
    assert (
        zl.filter(pl.col("Afdeling") == dept).get_column("score").mean()
        - zl.filter(pl.col("Afdeling") != dept).get_column("score").mean()
        > 0.15
    )
    vo = frames(out, manifest, "vo-demo", "evaluations").filter(pl.col("Salarisbeslissing").is_not_null())
    lenient_vo = planted["vo_lenient_evaluator"]["unit"]["evaluator_id"]
    trap2 = (pl.col("Salarisbeslissing") == "2").mean()
    assert (
        vo.filter(pl.col("Evaluator 1") == lenient_vo).select(trap2).item()
        > vo.filter(pl.col("Evaluator 1") != lenient_vo).select(trap2).item() + 0.2
    )
    late = planted["vo_late_signatures"]["unit"]["department"]
    vo_all = frames(out, manifest, "vo-demo", "evaluations").with_columns(
        pl.col("Handtekening evaluator 1").str.strptime(pl.Date, "%d-%m-%Y").alias("signed"),
        pl.col("Evaluatiejaar").cast(pl.Int32).alias("y"),
    )
    is_late = (pl.col("signed") > pl.date(pl.col("y") + 1, 3, 15)).mean()
    assert (
        vo_all.filter(pl.col("Afdeling") == late).select(is_late).item()
        > vo_all.filter(pl.col("Afdeling") != late).select(is_late).item() + 0.2
    )
    # calibration: women in the planted level are moved down more often than men there
    level = int(planted["zeeland_calibration_gender"]["unit"]["function_level"][1:])
    cal = zl.filter((pl.col("Schaal") == str(level)) & pl.col("score").is_not_null()).with_columns(
        (_score("Beoordeling") < _score("Voorstel beoordeling")).alias("down")
    )
    women = cal.filter(pl.col("Geslacht") == "Vrouw").get_column("down").mean()
    men = cal.filter(pl.col("Geslacht") == "Man").get_column("down").mean()
    assert women > men + 0.05


def test_gender_gap_inside_one_level_small_overall(large: tuple[Path, SampleManifest]) -> None:
    out, manifest = large
    gap = next(p for p in manifest.planted if p["pattern"] == "gender_gap_incidental_rewards")
    level = int(gap["unit"]["function_level"][1:])
    ev = frames(out, manifest, "zeeland-demo", "evaluations").filter(pl.col("Beoordeling").is_not_null())
    aw = frames(out, manifest, "zeeland-demo", "awards")
    bonus = aw.filter(
        pl.col("Soort beloning").is_in(["Outputbeloning", "Inputbeloning", "Input- en outputbeloning"])
    )
    ev = ev.join(
        bonus.select("Medewerkernr", pl.col("Jaar").alias("Beoordelingsjaar"), pl.lit(True).alias("bonus")),
        on=["Medewerkernr", "Beoordelingsjaar"],
        how="left",
    ).with_columns(pl.col("bonus").fill_null(False))

    def rate(frame: pl.DataFrame, gender: str) -> float:
        return float(frame.filter(pl.col("Geslacht") == gender).get_column("bonus").mean())

    inside = ev.filter(pl.col("Schaal") == str(level))
    assert rate(inside, "Vrouw") < 0.75 * rate(inside, "Man")
    assert abs(rate(ev, "Vrouw") - rate(ev, "Man")) < 0.25 * rate(ev, "Man")  # small gap overall
    assert gap["observed"]["rate_women"] < gap["observed"]["rate_men"]


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        write_sample(Path("unused"), employees=10)
    with pytest.raises(ValueError):
        write_sample(Path("unused"), cycles=0)
