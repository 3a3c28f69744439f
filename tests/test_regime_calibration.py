"""The calibration marts judge each cycle by the policy in force for it (issue 20, "Regimes change over time").

One organisation changes regime between cycles: 2000-2002 under the Zeeland five-point policy, 2003-2004 under
a four-point policy with other guideline shares, thresholds and a shorter leniency window. The marts the
Dagster asset writes must equal models.calibration run directly on each regime's cycles with that regime's
policy alone (the independent reference), and no cross-cycle statistic reaches across the change: rating
transitions and drift have no 2002 -> 2003 pair, the worklist no sharp change in 2003, the leniency window of
2003 starts in 2003 (docs/design.md, "Which policy each output applies").
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import polars as pl
import pytest
import yaml

from models.calibration import MART_SCHEMAS, calibration_marts
from models.config import PROJECT_ROOT
from models.policy import load_policy
from pipelines.runs import materialize
from tests.test_calibration import FOUR_POINT_YAML, ZEELAND, ZEELAND_CODES, ZEELAND_PROBS, simulate
from tests.test_increments import _same

OLD_CYCLES, NEW_CYCLES = (2000, 2001, 2002), (2003, 2004)
CHANGE = NEW_CYCLES[0]
# The four-point scale of the new regime, from the simulated five-point ratings.
TO_FOUR_POINT = {
    "slecht": "onder",
    "matig": "net",
    "normaal": "goed",
    "zeer_goed": "top",
    "uitstekend": "top",
}


def _write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _configure(folder: Path) -> Path:
    zeeland = yaml.safe_load((PROJECT_ROOT / "policies" / "zeeland_5punt.yaml").read_text(encoding="utf-8"))
    _write(folder / "old.yaml", zeeland | {"id": "z_old", "valid_until": f"{CHANGE}-01-01"})
    four = yaml.safe_load(FOUR_POINT_YAML)
    _write(folder / "new.yaml", four | {"id": "z_new", "version": 2, "valid_from": f"{CHANGE}-01-01"})
    periods = [
        {"policy": "old.yaml", "to_cycle": CHANGE - 1},
        {"policy": "new.yaml", "from_cycle": CHANGE},
    ]
    return _write(folder / "calibra.yaml", {"organizations": {ZEELAND: {"policies": periods}}})


def _evaluations() -> pl.DataFrame:
    rng = np.random.default_rng(20)
    frame = simulate(
        rng,
        ZEELAND_CODES,
        ZEELAND_PROBS,
        cycles=len(OLD_CYCLES) + len(NEW_CYCLES),
        employees=240,
        lenient_team=3,
        lenient_shift=1.0,
    )
    new = pl.col("cycle") >= CHANGE
    return frame.with_columns(
        pl.when(new).then(pl.col("rating").replace_strict(TO_FOUR_POINT)).otherwise(pl.col("rating"))
    ).with_columns(
        # a planted jump at the change: a sharp change (and upward drift) were the two scales compared
        pl.when(new & (pl.col("employee_id") < "00020"))
        .then(pl.lit("top"))
        .otherwise(pl.col("rating"))
        .alias("rating")
    )


def _stage(database: Path, evaluations: pl.DataFrame) -> None:
    """staging.evaluations and one load-ledger row per cycle (the fingerprints the increments read)."""
    from models.warehouse import connect, initialise

    with connect(database) as con:
        initialise(con)
        con.register("_rows", evaluations.to_arrow())
        columns = ", ".join(f'"{c}"' for c in evaluations.columns)
        con.execute(f"INSERT INTO staging.evaluations ({columns}) SELECT {columns} FROM _rows")
        con.unregister("_rows")
        for cycle in sorted(set(evaluations["cycle"])):
            con.execute(
                "INSERT INTO audit.load_ledger (file_sha256, kind, organization, cycle, rows_loaded, status) "
                "VALUES (?, 'evaluations', ?, ?, ?, 'loaded')",
                [f"sha{cycle}", ZEELAND, cycle, evaluations.filter(pl.col("cycle") == cycle).height],
            )


def _materialize(config: Path, home: Path) -> dg.ExecuteInProcessResult:
    from pipelines.assets.marts.calibration import calibration_marts_asset
    from pipelines.resources import CalibraResource

    resource = CalibraResource(config_path=str(config), home=str(home))
    result = materialize([calibration_marts_asset], resources={"calibra": resource})
    assert result.success
    return result


def _marts(database: Path) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(database), read_only=True) as con:
        return {name: con.sql(f"SELECT * FROM marts.{name}").pl() for name in MART_SCHEMAS}


@pytest.fixture(scope="module")
def two_regimes(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, pl.DataFrame, dict[str, pl.DataFrame]]:
    folder = tmp_path_factory.mktemp("regimes")
    config = _configure(folder)
    evaluations = _evaluations()
    _stage(folder / "home" / "calibra.duckdb", evaluations)
    result = _materialize(config, folder / "home")
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    # every rating is on the scale of its own cycle's policy (the latest policy alone would reject 2000-2002)
    assert checks["ratings_on_scale"]
    return folder, evaluations, _marts(folder / "home" / "calibra.duckdb")


def test_each_cycle_equals_the_marts_of_its_own_policy_alone(
    two_regimes: tuple[Path, pl.DataFrame, dict[str, pl.DataFrame]],
) -> None:
    folder, evaluations, marts = two_regimes
    old, new = load_policy(folder / "old.yaml"), load_policy(folder / "new.yaml")
    reference = {
        name: pl.concat(
            [
                calibration_marts(evaluations.filter(pl.col("cycle").is_in(cycles)), {ZEELAND: policy})[name]
                for cycles, policy in ((OLD_CYCLES, old), (NEW_CYCLES, new))
            ],
            how="vertical_relaxed",
        )
        for name in MART_SCHEMAS
    }
    for name in MART_SCHEMAS:
        assert marts[name].height > 0 or name == "calibration_worklist", name
        _same(name, reference[name].select(marts[name].columns).cast(dict(marts[name].schema)), marts[name])
    # the distribution of a cycle is that cycle's own, on its own scale and guideline
    distribution = marts["rating_distribution"]
    for cycle, policy in ((2001, old), (2004, new)):
        alone = calibration_marts(evaluations.filter(pl.col("cycle") == cycle), {ZEELAND: policy})
        rows = distribution.filter(pl.col("cycle") == cycle)
        assert set(rows["rating"]) <= set(policy.rating_codes)
        _same("rating_distribution", alone["rating_distribution"].cast(dict(rows.schema)), rows)
    # the latest policy alone would judge the old cycles differently (their codes are not on its scale)
    latest = calibration_marts(evaluations.filter(pl.col("cycle") == 2001), {ZEELAND: new})
    assert latest["unit_deviation"].height < marts["unit_deviation"].filter(pl.col("cycle") == 2001).height


def test_no_cross_cycle_statistic_reaches_across_the_regime_change(
    two_regimes: tuple[Path, pl.DataFrame, dict[str, pl.DataFrame]],
) -> None:
    _, _, marts = two_regimes
    pairs = {
        name: set(marts[name].select("from_cycle", "to_cycle").unique().iter_rows())
        for name in ("rating_transitions", "rating_drift")
    }
    for name, found in pairs.items():
        assert found == {(2000, 2001), (2001, 2002), (2003, 2004)}, name
    # the worklist's sharp changes: none in the first cycle of the new regime (no previous cycle under it)
    worklist = marts["calibration_worklist"]
    sharp = worklist.filter(pl.col("reason_code") == "sharp_change")
    assert sharp.filter(pl.col("cycle") == CHANGE).height == 0
    assert (
        worklist.filter(pl.col("cycle") == CHANGE)["previous_rating"].null_count()
        == worklist.filter(pl.col("cycle") == CHANGE).height
    )
    # the leniency window stops at the change: 3 cycles under the old policy, 2 under the new, never both
    windows = dict(marts["evaluator_leniency"].select("cycle", "window_first_cycle").unique().iter_rows())
    assert windows == {2000: 2000, 2001: 2000, 2002: 2000, 2003: 2003, 2004: 2003}


def test_a_new_cycle_under_the_new_regime_ends_in_the_marts_of_a_whole_run(
    two_regimes: tuple[Path, pl.DataFrame, dict[str, pl.DataFrame]], tmp_path: Path
) -> None:
    _, evaluations, whole = two_regimes
    config = _configure(tmp_path)
    home = tmp_path / "home"
    _stage(home / "calibra.duckdb", evaluations.filter(pl.col("cycle") < NEW_CYCLES[-1]))
    _materialize(config, home)
    _stage(home / "calibra.duckdb", evaluations.filter(pl.col("cycle") == NEW_CYCLES[-1]))
    result = _materialize(config, home)
    rebuilt = {
        event.asset_key.path[-1]: event.materialization.metadata.get("organisation_cycles_rebuilt")
        for event in result.get_asset_materialization_events()
    }
    assert rebuilt["rating_distribution"] == dg.MetadataValue.int(1)  # only the new cycle
    incremental = _marts(home / "calibra.duckdb")
    for name in MART_SCHEMAS:
        _same(name, whole[name], incremental[name])


def test_calibration_impact_windows_stay_inside_a_regime(tmp_path: Path) -> None:
    """Two Zeeland regimes (the old pools 3 cycles, the new 2 and withholds groups under 8): each cycle's impact
    marts equal models.calibration_impact on its regime's cycles with that policy alone, and no window of the
    new regime reaches back before the change."""
    from models.calibration_impact import SCHEMAS, calibration_impact_marts
    from pipelines.assets.marts.calibration_impact import calibration_impact
    from pipelines.resources import CalibraResource
    from tests.test_calibration_impact import ORG, random_evaluations

    zeeland = yaml.safe_load((PROJECT_ROOT / "policies" / "zeeland_5punt.yaml").read_text(encoding="utf-8"))
    _write(tmp_path / "old.yaml", zeeland | {"id": "z_old", "valid_until": f"{CHANGE}-01-01"})
    new = zeeland | {
        "id": "z_new",
        "version": 2,
        "valid_from": f"{CHANGE}-01-01",
        "calibration_impact": {"window_cycles": 2},
        "disclosure": zeeland["disclosure"] | {"min_group_size": 8},
    }
    _write(tmp_path / "new.yaml", new)
    periods = [{"policy": "old.yaml", "to_cycle": CHANGE - 1}, {"policy": "new.yaml", "from_cycle": CHANGE}]
    config = _write(tmp_path / "calibra.yaml", {"organizations": {ORG: {"policies": periods}}})
    evaluations = random_evaluations(300, seed=20, cycles=(*OLD_CYCLES, *NEW_CYCLES))
    home = tmp_path / "home"
    from models.warehouse import connect, initialise

    with connect(home / "calibra.duckdb") as con:
        initialise(con)
        con.register("_rows", evaluations.to_arrow())
        columns = ", ".join(f'"{c}"' for c in evaluations.columns)
        con.execute(f"INSERT INTO staging.evaluations ({columns}) SELECT {columns} FROM _rows")
        for cycle in (*OLD_CYCLES, *NEW_CYCLES):
            con.execute(
                "INSERT INTO audit.load_ledger (file_sha256, kind, organization, cycle, rows_loaded, status) "
                "VALUES (?, 'evaluations', ?, ?, 1, 'loaded')",
                [f"sha{cycle}", ORG, cycle],
            )
    resource = CalibraResource(config_path=str(config), home=str(home))
    assert materialize([calibration_impact], resources={"calibra": resource}).success
    with duckdb.connect(str(home / "calibra.duckdb"), read_only=True) as con:
        written = {name: con.sql(f"SELECT * FROM marts.{name}").pl() for name in SCHEMAS}

    policies = (load_policy(tmp_path / "old.yaml"), load_policy(tmp_path / "new.yaml"))
    parts = [
        calibration_impact_marts(evaluations.filter(pl.col("cycle").is_in(cycles)), {ORG: policy}).marts
        for cycles, policy in zip((OLD_CYCLES, NEW_CYCLES), policies, strict=True)
    ]
    for name in SCHEMAS:
        reference = pl.concat([p[name] for p in parts], how="vertical_relaxed")
        assert written[name].height > 0, name
        _same(name, reference.select(written[name].columns).cast(dict(written[name].schema)), written[name])
    windows = written["calibration_impact"].filter(pl.col("period") == "window")
    first = dict(windows.select("cycle", "first_cycle").unique().iter_rows())
    # 2003, the first cycle of the new regime, has no window (one cycle is the cycle's own period)
    assert first == {2001: 2000, 2002: 2000, 2004: 2003}


def test_the_evaluator_report_judges_each_cycle_by_its_own_policy(
    two_regimes: tuple[Path, pl.DataFrame, dict[str, pl.DataFrame]],
) -> None:
    """The evaluator report's passes follow the regimes too: its two marts equal models.calibration's
    evaluator_report run on each regime's cycles with that regime's policy alone, and no evaluator window
    pools cycles of both regimes."""
    from models.calibration.evaluator_report import evaluator_report
    from pipelines.assets.marts.evaluators import evaluator_report_asset
    from pipelines.resources import CalibraResource

    folder, evaluations, _ = two_regimes
    resource = CalibraResource(config_path=str(folder / "calibra.yaml"), home=str(folder / "home"))
    assert materialize([evaluator_report_asset], resources={"calibra": resource}).success
    old, new = load_policy(folder / "old.yaml"), load_policy(folder / "new.yaml")
    names = ("evaluator_report", "evaluator_fair_ratings")
    parts = [
        evaluator_report(evaluations.filter(pl.col("cycle").is_in(cycles)), {ZEELAND: policy})
        for cycles, policy in ((OLD_CYCLES, old), (NEW_CYCLES, new))
    ]
    with duckdb.connect(str(folder / "home" / "calibra.duckdb"), read_only=True) as con:
        stored = {name: con.sql(f"SELECT * FROM marts.{name}").pl() for name in names}
    for name in names:
        reference = pl.concat([part[name] for part in parts], how="vertical_relaxed")
        assert stored[name].height == reference.height, name
        _same(name, reference.select(stored[name].columns).cast(dict(stored[name].schema)), stored[name])
    report = stored["evaluator_report"]
    windows = report.filter(pl.col("cycle") >= CHANGE)
    assert windows.height > 0 and windows["window_first_cycle"].drop_nulls().min() >= CHANGE
