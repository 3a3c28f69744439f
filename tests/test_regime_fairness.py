"""The person-cycle layer, the fairness marts and the publish thresholds judge each cycle by the policy in force
for it (issue 20, "Regimes change over time").

One Zeeland organisation changes regime between cycles: 2000-2002 under the 5-point policy (net amounts
grossed up by 1.95, pooled windows of 3 cycles, k = 5, conversation deadline), 2003-2004 under a version with
another net-to-gross factor (1.5), pooled windows of 2 cycles, k = 8, one more award outcome and no deadlines. The independent reference is each
model run on each regime's cycles with that regime's policy alone: staging.person_cycle equals
models.person_cycle's frame per regime, the fairness and pay-transparency marts equal models.fairness and
models.pay_transparency per regime, no pooled window of marts.fairness_strata reaches across the change, and
the published tables of each cycle are protected with the thresholds of its own policy
(docs/design.md, "Which policy each output applies").
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import polars as pl
import pytest
import yaml

from models.config import PROJECT_ROOT, load_settings
from models.disclosure import Thresholds
from models.fairness import OVERALL_SCHEMA, STRATA_SCHEMA, fairness_marts
from models.pay_transparency import SCHEMA as PAY_SCHEMA
from models.pay_transparency import pay_transparency, people_frame
from models.person_cycle import person_cycle_frame
from models.policy import Policy, load_policy
from pipelines.runs import materialize
from tests.test_increments import _same

ORG = "zeeland-demo"
OLD_CYCLES, NEW_CYCLES = (2000, 2001, 2002), (2003, 2004)
CHANGE = NEW_CYCLES[0]
EMPLOYEES = 400
NEW_OUTCOME = {
    "code": "output_only",
    "award_types": ["output_bonus"],
    "label": {"nl": "Outputbeloning", "en": "Output bonus"},
    "phrase": {"nl": "een outputbeloning", "en": "an output bonus"},
}
MARTS = {"fairness": OVERALL_SCHEMA, "fairness_strata": STRATA_SCHEMA, "pay_transparency": PAY_SCHEMA}


def _write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _configure(folder: Path) -> Path:
    zeeland = yaml.safe_load((PROJECT_ROOT / "policies" / "zeeland_5punt.yaml").read_text(encoding="utf-8"))
    _write(folder / "old.yaml", zeeland | {"id": "z_old", "valid_until": f"{CHANGE}-01-01"})
    new = {k: v for k, v in zeeland.items() if k != "deadlines"} | {
        "id": "z_new",
        "version": 2,
        "valid_from": f"{CHANGE}-01-01",
        "calibration_impact": {"window_cycles": 2},
        # the management site's minimum group differs from the organisation's (the index states each)
        "disclosure": zeeland["disclosure"] | {"min_group_size": 8, "management_min_group_size": 6},
        "budget": zeeland["budget"] | {"net_to_gross_factor": 1.5},
        "fairness": zeeland["fairness"]
        | {"award_outcomes": [NEW_OUTCOME, *zeeland["fairness"]["award_outcomes"]]},
    }
    _write(folder / "new.yaml", new)
    periods = [{"policy": "old.yaml", "to_cycle": CHANGE - 1}, {"policy": "new.yaml", "from_cycle": CHANGE}]
    return _write(folder / "calibra.yaml", {"organizations": {ORG: {"policies": periods}}})


def _exports() -> dict[str, pl.DataFrame]:
    """Evaluations, payroll and awards of 400 people over five cycles: women get the output bonus less often
    in one function level, some rewards are net amounts (grossed up by the policy's factor), six people are
    statutory (a group between the two policies' minimum sizes)."""
    rng = np.random.default_rng(2020)
    ratings = ["slecht", "matig", "normaal", "zeer_goed", "uitstekend"]
    rows, pay, awards = [], [], []
    gender = rng.choice(["F", "M"], EMPLOYEES)
    gender[6:12] = "X"  # six people of a third gender category, a group between the two minimum sizes
    level = rng.choice(["S04", "S08", "S10"], EMPLOYEES)
    department = rng.choice(["D1", "D2", "D3", "D4"], EMPLOYEES)
    birth = rng.integers(1960, 2000, EMPLOYEES)
    for cycle in (*OLD_CYCLES, *NEW_CYCLES):
        for i in range(EMPLOYEES):
            employee = f"e{i:05d}"
            fte = float(rng.choice([1.0, 0.8, 0.5]))
            rows.append(
                {
                    "organization": ORG,
                    "cycle": cycle,
                    "employee_id": employee,
                    "department": str(department[i]),
                    "function_level": str(level[i]),
                    "rating": str(rng.choice(ratings, p=[0.05, 0.15, 0.5, 0.2, 0.1])),
                    "employment_type": "statutair" if i < 6 else "contractueel",  # a group of 6
                    "gender": str(gender[i]),
                    "birth_year": int(birth[i]),
                    "fte": fte,
                    "at_scale_maximum": bool(rng.random() < 0.1),
                }
            )
            pay.append(
                {
                    "organization": ORG,
                    "cycle": cycle,
                    "employee_id": employee,
                    "annual_salary": float(rng.normal(45000, 8000)),
                    "fte": fte,
                }
            )
            chance = 0.12 if gender[i] == "F" and level[i] == "S10" else 0.3
            if rng.random() < chance:
                awards.append((cycle, employee, "output_bonus", float(rng.choice([3.0, 7.0])), None, None))
            if rng.random() < 0.15:
                amount = float(rng.choice([250.0, 500.0, 1000.0]))
                awards.append(
                    (cycle, employee, "group_reward", None, amount, str(rng.choice(["netto", "bruto"])))
                )
    award_schema = {
        "cycle": pl.Int64,
        "employee_id": pl.String,
        "award_type": pl.String,
        "pct": pl.Float64,
        "amount": pl.Float64,
        "amount_basis": pl.String,
    }
    return {
        "evaluations": pl.DataFrame(rows),
        "payroll": pl.DataFrame(pay),
        "awards": pl.DataFrame(awards, schema=award_schema, orient="row").with_columns(
            pl.lit(ORG).alias("organization")
        ),
    }


def _stage(database: Path, exports: dict[str, pl.DataFrame]) -> None:
    """The staging tables and one load-ledger row per export and cycle (the fingerprints the increments read)."""
    from models.warehouse import connect, initialise

    with connect(database) as con:
        initialise(con)
        for kind, frame in exports.items():
            con.register("_rows", frame.to_arrow())
            columns = ", ".join(f'"{c}"' for c in frame.columns)
            con.execute(f"INSERT INTO staging.{kind} ({columns}) SELECT {columns} FROM _rows")
            con.unregister("_rows")
            for cycle in sorted(set(frame["cycle"])):
                con.execute(
                    "INSERT INTO audit.load_ledger (file_sha256, kind, organization, cycle, rows_loaded, status) "
                    "VALUES (?, ?, ?, ?, ?, 'loaded')",
                    [f"{kind}{cycle}", kind, ORG, cycle, frame.filter(pl.col("cycle") == cycle).height],
                )


def _of(frame: pl.DataFrame, cycles: tuple[int, ...]) -> pl.DataFrame:
    return frame.filter(pl.col("cycle").is_in(cycles))


def _regimes(folder: Path) -> list[tuple[tuple[int, ...], Policy]]:
    return [(OLD_CYCLES, load_policy(folder / "old.yaml")), (NEW_CYCLES, load_policy(folder / "new.yaml"))]


@pytest.fixture(scope="module")
def two_regimes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pl.DataFrame]]:
    """The fairness marts (and the person-cycle layer they bring up to date) materialised under two regimes."""
    from pipelines.assets.marts.fairness import fairness_marts_asset
    from pipelines.resources import CalibraResource

    folder = tmp_path_factory.mktemp("fairness_regimes")
    config = _configure(folder)
    exports = _exports()
    _stage(folder / "home" / "calibra.duckdb", exports)
    resource = CalibraResource(config_path=str(config), home=str(folder / "home"))
    assert materialize([fairness_marts_asset], resources={"calibra": resource}).success
    return folder, exports


def _stored(folder: Path, table: str) -> pl.DataFrame:
    with duckdb.connect(str(folder / "home" / "calibra.duckdb"), read_only=True) as con:
        return con.sql(f"SELECT * FROM {table}").pl()


def test_the_person_cycle_layer_pairs_each_cycle_by_its_own_policy(
    two_regimes: tuple[Path, dict[str, pl.DataFrame]],
) -> None:
    folder, exports = two_regimes
    stored = _stored(folder, "staging.person_cycle")
    # one set of columns: the award outcomes of every policy the organisation uses
    assert {"award:output_only", "award:performance_bonus"} <= set(stored.columns)
    for cycles, policy in _regimes(folder):
        ev, aw, pay = (_of(exports[kind], cycles) for kind in ("evaluations", "awards", "payroll"))
        reference = person_cycle_frame(ev, aw, pay, {ORG: policy})
        # the contract columns the exports lack are null in the layer; the rest equal the reference
        rows = _of(stored, cycles).select([c for c in stored.columns if c in reference.columns])
        _same("person_cycle", reference.select(rows.columns).cast(dict(rows.schema)), rows)
    # the old policy has no output_only outcome: false in its cycles, as for an award type it does not name
    old = _of(stored, OLD_CYCLES).filter(pl.col("amount_total").is_not_null())
    assert old.height > 0 and not old["award:output_only"].any()
    # net amounts grossed up by each regime's own factor: a 500 net group reward is 975 before, 750 after
    only = (
        exports["awards"]
        .group_by("cycle", "employee_id")
        .agg(pl.len().alias("n"), pl.col("amount").sum(), pl.col("amount_basis").first())
        .filter((pl.col("n") == 1) & (pl.col("amount") == 500.0) & (pl.col("amount_basis") == "netto"))
    )
    totals = stored.join(only.select("cycle", "employee_id"), on=["cycle", "employee_id"])
    for cycles, expected in ((OLD_CYCLES, 975.0), (NEW_CYCLES, 750.0)):
        found = set(_of(totals, cycles)["amount_total"].round(6))
        assert found == {expected}, cycles


def test_the_fairness_marts_equal_each_regime_alone_and_no_window_crosses_the_change(
    two_regimes: tuple[Path, dict[str, pl.DataFrame]],
) -> None:
    folder, exports = two_regimes
    stored = {name: _stored(folder, f"marts.{name}") for name in MARTS}
    parts = []
    for cycles, policy in _regimes(folder):
        ev, aw, pay = (_of(exports[kind], cycles) for kind in ("evaluations", "awards", "payroll"))
        people = people_frame(ev, aw, pay, {ORG: policy})
        marts = fairness_marts(people, {ORG: policy})
        parts.append(
            {
                "fairness": marts.overall,
                "fairness_strata": marts.strata,
                "pay_transparency": pay_transparency(people, {ORG: policy}),
            }
        )
    for name in MARTS:
        reference = pl.concat([part[name] for part in parts], how="vertical_relaxed")
        assert stored[name].height == reference.height > 0, name
        _same(name, reference.select(stored[name].columns).cast(dict(stored[name].schema)), stored[name])
    # the new outcome is compared in the new regime only
    outcomes = stored["fairness"].group_by("outcome").agg(pl.col("cycle").unique().sort())
    assert dict(outcomes.iter_rows())["output_only"] == list(NEW_CYCLES)
    # pooled windows: 3 cycles under the old policy, 2 under the new, never both
    windows = stored["fairness_strata"].filter(pl.col("period") == "window")
    assert dict(windows.select("cycle", "first_cycle").unique().iter_rows()) == {2002: 2000, 2004: 2003}
    # each cycle's rows are publishable by its own policy's minimum group size (8 from the change on)
    fairness = stored["fairness"].filter(pl.col("outcome_kind") == "binary")
    for cycles, k in ((OLD_CYCLES, 5), (NEW_CYCLES, 8)):
        rows = _of(fairness, cycles)
        assert (rows.filter(pl.col("publishable"))["n"] >= k).all(), cycles
        assert rows.filter(~pl.col("publishable") & (pl.col("n") >= k)).height == 0, cycles


def test_a_new_cycle_under_the_new_regime_rebuilds_only_itself(
    two_regimes: tuple[Path, dict[str, pl.DataFrame]], tmp_path: Path
) -> None:
    from pipelines.assets.marts.fairness import fairness_marts_asset
    from pipelines.resources import CalibraResource

    folder, exports = two_regimes
    config = _configure(tmp_path)
    home = tmp_path / "home"
    last = NEW_CYCLES[-1]
    _stage(home / "calibra.duckdb", {k: f.filter(pl.col("cycle") < last) for k, f in exports.items()})
    resource = CalibraResource(config_path=str(config), home=str(home))
    assert materialize([fairness_marts_asset], resources={"calibra": resource}).success
    _stage(home / "calibra.duckdb", {k: f.filter(pl.col("cycle") == last) for k, f in exports.items()})
    result = materialize([fairness_marts_asset], resources={"calibra": resource})
    rebuilt = {
        event.asset_key.path[-1]: event.materialization.metadata.get("organisation_cycles_rebuilt")
        for event in result.get_asset_materialization_events()
    }
    assert rebuilt["fairness"] == dg.MetadataValue.int(1)
    for table in ("staging.person_cycle", *(f"marts.{name}" for name in MARTS)):
        _same(table, _stored(folder, table), _stored(tmp_path, table))


def test_each_cycle_is_published_with_the_thresholds_of_its_own_policy(
    two_regimes: tuple[Path, dict[str, pl.DataFrame]],
) -> None:
    """The publish step's thresholds per cycle: k = 5 for the old cycles, 8 for the new; the protected tables
    equal each regime's rows protected alone with its policy's thresholds (models.releases.registry)."""
    from models.releases.registry import publish_tables
    from pipelines.assets.common import CyclePolicies
    from pipelines.assets.publish import publish_limits, read_sources
    from pipelines.publishing import protect_regimes

    folder, _ = two_regimes
    with duckdb.connect(str(folder / "home" / "calibra.duckdb"), read_only=True) as con:
        sources = read_sources(con, include_worklist=True)
    policies = CyclePolicies(load_settings(folder / "calibra.yaml"))
    limits = publish_limits(policies, sources)[ORG]
    old, new = (Thresholds.from_policy(policy) for _, policy in _regimes(folder))
    assert (old.k, new.k) == (5, 8)
    assert limits == ((frozenset(OLD_CYCLES), old), (frozenset(NEW_CYCLES), new))
    published = protect_regimes({n: f for n, f in sources.items()}, limits, include_worklist=True)
    for cycles, thresholds in ((OLD_CYCLES, old), (NEW_CYCLES, new)):
        alone = publish_tables(
            {
                n: f.filter(pl.col("cycle").is_in(cycles)) if "cycle" in f.columns else f
                for n, f in sources.items()
            },
            {ORG: thresholds},
        )
        for name in ("fairness", "pay_transparency"):
            rows = published.tables[name].filter(pl.col("cycle").is_in(cycles))
            _same(name, alone.tables[name].select(rows.columns).cast(dict(rows.schema)), rows)
    # what a reader sees: a group of 5 to 7 people is shown in the old cycles and hidden in the new
    fairness = published.tables["fairness"].filter(pl.col("scope") == "overall")
    shown = fairness.filter(pl.col("group_n").is_not_null())
    assert shown.filter(pl.col("cycle").is_in(OLD_CYCLES) & (pl.col("group_n") < 8)).height > 0
    assert shown.filter(pl.col("cycle").is_in(NEW_CYCLES) & (pl.col("group_n") < 8)).height == 0


def test_a_window_ending_at_a_cycle_starts_no_earlier_than_its_regime(tmp_path: Path) -> None:
    """CyclePolicies.regime_start: where the pay-gap projection's rating window (and any window ending at a
    cycle) must start so as not to reach across a regime change."""
    from pipelines.assets.common import CyclePolicies

    policies = CyclePolicies(load_settings(_configure(tmp_path)))
    present = [*OLD_CYCLES, *NEW_CYCLES]
    assert [policies.regime_start(ORG, c, present) for c in present] == [2000, 2000, 2000, 2003, 2003]
    assert policies.regime_start(ORG, 2004, [2001, 2004]) == 2004  # only cycles present count
    assert policies.regime_start(ORG, 2002, [2001, 2002]) == 2001


def test_the_site_publishes_each_cycle_with_its_own_policy(
    two_regimes: tuple[Path, dict[str, pl.DataFrame]], tmp_path: Path
) -> None:
    """The publish asset end to end: each cycle's fairness page names the policy of its cycle, and its tables
    hide what that policy's minimum group size hides (the six statutory staff: shown up to 2002, hidden from
    2003 on)."""
    from pipelines.assets.publish import site
    from pipelines.resources import CalibraResource

    folder, _ = two_regimes
    resource = CalibraResource(
        config_path=str(folder / "calibra.yaml"), home=str(folder / "home"), site=str(tmp_path / "site")
    )
    assert materialize([site], resources={"calibra": resource}).success
    root = tmp_path / "site" / "organisatie" / ORG
    shown = {}
    for cycles, (policy_id, version), k in ((OLD_CYCLES, ("z_old", 1), 5), (NEW_CYCLES, ("z_new", 2), 8)):
        for cycle in cycles:
            page = (root / str(cycle) / "fairness.html").read_text(encoding="utf-8")
            assert f"beleid {policy_id}, versie {version}" in page, cycle
            # the group sizes a reader can download: none below the cycle's own minimum
            sizes = _group_sizes(root / str(cycle))
            assert sizes and min(sizes) >= k, cycle
            shown[cycle] = sum(5 <= n < 8 for n in sizes)
    # groups between the two minimums are shown before the change only
    assert sum(shown[c] for c in OLD_CYCLES) > 0 and sum(shown[c] for c in NEW_CYCLES) == 0, shown
    # the pooled-window tables: on the last cycle of each regime's complete window only
    tables = root.glob("*/fairness.vrouwen-en-mannen-binnen-hetzelfde-functieniveau*.csv")
    assert {int(table.parent.name) for table in tables} == {2002, 2004}
    # the index states the lowest minimum size (true of every cycle) and, per policy, what its cycles used
    index = html.unescape((tmp_path / "site" / "organisatie" / "index.html").read_text(encoding="utf-8"))
    assert "Elke getoonde cel komt van minstens 5 personen" in index
    items = re.findall(r"<li>([^<]*\(beleid z_[a-z]+, versie \d[^<]*cellen van[^<]*)</li>", index)
    assert len(items) == 2, items
    assert "cyclus 2000–2002" in items[0] and "beleid z_old, versie 1" in items[0]
    assert "cellen van minstens 5 personen" in items[0]
    assert "cyclus 2003–2004" in items[1] and "beleid z_new, versie 2" in items[1]
    assert "cellen van minstens 8 personen" in items[1]
    # the management index states the management minimum group of each policy (6 from 2003, not 8)
    index = html.unescape((tmp_path / "site" / "management" / "index.html").read_text(encoding="utf-8"))
    items = re.findall(r"<li>([^<]*\(beleid z_[a-z]+, versie \d[^<]*cellen van[^<]*)</li>", index)
    assert len(items) == 2 and "beleid z_new, versie 2" in items[1], items
    assert "cellen van minstens 6 personen" in items[1], items[1]


def _group_sizes(folder: Path) -> list[int]:
    """The numbers in the `n` column of a cycle's fairness downloads (a hidden cell reads "afgeschermd")."""
    sizes = []
    for table in sorted(folder.glob("fairness.*.csv")):
        frame = pl.read_csv(table, separator=";", infer_schema=False)
        if "n" in frame.columns:
            sizes += [int(v) for v in frame["n"].drop_nulls() if v.isdigit()]
    return sizes


def test_process_status_counts_each_cycle_by_its_own_policy(
    two_regimes: tuple[Path, dict[str, pl.DataFrame]],
) -> None:
    """marts.process_status: each cycle's deadlines and left-out categories are its own policy's; it equals
    models.process_status run per regime (with the left-out categories of that regime's fairness rows), and
    the new regime, without a conversation deadline, has no "in window" count."""
    from models.fairness_intersections import left_out_categories
    from models.process_status import process_status
    from pipelines.assets.marts.compliance import process_status_asset
    from pipelines.resources import CalibraResource

    folder, exports = two_regimes
    resource = CalibraResource(config_path=str(folder / "calibra.yaml"), home=str(folder / "home"))
    assert materialize([process_status_asset], resources={"calibra": resource}).success
    stored = _stored(folder, "marts.process_status")
    gender = _stored(folder, "marts.fairness").filter(pl.col("attribute") == "gender")
    parts = []
    for cycles, policy in _regimes(folder):
        left_out = left_out_categories(_of(gender, cycles), {ORG: policy})
        parts.append(process_status({ORG: policy}, _of(exports["evaluations"], cycles), left_out))
    reference = pl.concat(parts)
    _same("process_status", reference.select(stored.columns).cast(dict(stored.schema)), stored)
    in_window = stored.group_by("cycle").agg(pl.col("evaluations_in_window").is_not_null().all())
    assert dict(in_window.iter_rows()) == {2000: True, 2001: True, 2002: True, 2003: False, 2004: False}


def test_every_fairness_row_and_finding_names_the_version_of_its_cycles_policy(
    two_regimes: tuple[Path, dict[str, pl.DataFrame]],
) -> None:
    """marts.fairness and marts.fairness_strata name, in `policy_version`, the version of the policy each
    cycle's row (and its finding sentence) applied: 1 up to 2002, 2 from 2003 on; the organisation release
    publishes it beside the finding."""
    from models.releases.registry import publish_tables
    from pipelines.assets.publish import read_sources

    folder, _ = two_regimes
    expected = {c: 1 for c in OLD_CYCLES} | {c: 2 for c in NEW_CYCLES}
    for table in ("marts.fairness", "marts.fairness_strata"):
        stored = _stored(folder, table)
        versions = stored.group_by("cycle").agg(pl.col("policy_version").unique())
        assert {c: v for c, v in versions.iter_rows()} == {c: [v] for c, v in expected.items()}, table
    # findings exist under both regimes, each beside its cycle's version
    findings = _stored(folder, "marts.fairness").filter(pl.col("finding_nl").is_not_null())
    assert set(findings["cycle"]) & set(OLD_CYCLES) and set(findings["cycle"]) & set(NEW_CYCLES)
    assert all(expected[c] == v for c, v in findings.select("cycle", "policy_version").iter_rows())
    with duckdb.connect(str(folder / "home" / "calibra.duckdb"), read_only=True) as con:
        sources = read_sources(con, include_worklist=True)
    published = publish_tables(sources, {ORG: Thresholds.from_policy(_regimes(folder)[0][1])})
    # every group's row (the cube's totals, group_value null, carry no comparison)
    rows = published.tables["fairness"].filter(
        (pl.col("scope") == "overall") & pl.col("group_value").is_not_null()
    )
    assert rows.height > 0 and rows.filter(pl.col("finding_nl").is_not_null()).height > 0
    assert all(expected[c] == v for c, v in rows.select("cycle", "policy_version").iter_rows())


def test_the_publication_list_judges_each_cycle_by_its_own_policy(tmp_path: Path) -> None:
    """marts.publication_list (Z-9): the new policy stops publishing incidental rewards, so the old cycles list
    their output bonuses and group rewards and the new cycles list none; the mart equals
    models.publication.publication_list run per regime on that regime's cycles with its policy alone."""
    from models.publication import publication_list
    from pipelines.assets.marts.compliance import publication_list_asset
    from pipelines.resources import CalibraResource

    config = _configure(tmp_path)
    new = yaml.safe_load((tmp_path / "new.yaml").read_text(encoding="utf-8"))
    new["compliance"] = new["compliance"] | {"publish_incidental": {"value": False, "rule": "Z-9"}}
    _write(tmp_path / "new.yaml", new)
    exports = _exports()
    _stage(tmp_path / "home" / "calibra.duckdb", exports)
    resource = CalibraResource(config_path=str(config), home=str(tmp_path / "home"))
    assert materialize([publication_list_asset], resources={"calibra": resource}).success
    stored = _stored(tmp_path, "marts.publication_list")
    parts = [
        publication_list({ORG: policy}, _of(exports["awards"], cycles), _of(exports["evaluations"], cycles))
        for cycles, policy in _regimes(tmp_path)
    ]
    reference = pl.concat(parts)
    assert _of(reference, OLD_CYCLES).height > 0 and _of(reference, NEW_CYCLES).height == 0
    assert stored.height == reference.height
    _same("publication_list", reference.select(stored.columns).cast(dict(stored.schema)), stored)


def test_the_fairness_page_takes_its_level_from_the_cycles_rows(tmp_path: Path) -> None:
    """The page's level (dashboards.pages.fairness.confidence_level) is the one the cycle's rows were computed
    at, i.e. the old policy's for an old cycle even when the organisation's latest policy says otherwise; the
    policy's when the rows do not carry it; and no silent default when neither does."""
    from dashboards.pages import SiteData
    from dashboards.pages.fairness import confidence_level
    from models.errors import ConfigError

    settings = load_settings(_configure(tmp_path))
    latest = load_policy(tmp_path / "new.yaml")
    assert latest.typed.fairness.confidence_level == 0.95
    rows = pl.DataFrame({"cycle": [2001, 2001], "confidence_level": [0.9, None]})
    data = SiteData(tables={}, settings=settings, policies={ORG: latest})
    assert confidence_level(data, ORG, rows) == 0.9
    assert confidence_level(data, ORG, rows.drop("confidence_level")) == 0.95
    assert confidence_level(data, ORG) == 0.95
    with pytest.raises(ConfigError, match="confidence_level"):
        confidence_level(SiteData(tables={}, settings=settings), ORG, rows.drop("confidence_level"))


def test_pages_quote_the_policy_their_cycle_was_judged_by(tmp_path: Path) -> None:
    """SiteData.policy_of: the FDR and confidence level a page quotes come from the cycle's own policy (the
    norming page's and the fairness window's significance sentences), not from the organisation's latest."""
    from dashboards.pages import SiteData

    settings = load_settings(_configure(tmp_path))
    data = SiteData(tables={}, settings=settings, policies={ORG: load_policy(tmp_path / "new.yaml")})
    assert {c: data.policy_of(ORG, c).id for c in (*OLD_CYCLES, *NEW_CYCLES)} == {  # type: ignore[union-attr]
        **dict.fromkeys(OLD_CYCLES, "z_old"),
        **dict.fromkeys(NEW_CYCLES, "z_new"),
    }
