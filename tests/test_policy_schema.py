"""One typed schema for policies/*.yaml (models.policy.PolicyFile) and calibra.yaml (models.config.ConfigFile):
every shipped file loads, a misspelt or unknown key fails at load naming the file, the key and the nearest
known key, and a value a file leaves out takes the schema's default."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from models.config import PROJECT_ROOT, ConfigFile, load_settings
from models.errors import ConfigError
from models.policy import Disclosure, PolicyFile, load_policy, policy_for, schema_default

POLICIES = sorted((PROJECT_ROOT / "policies").glob("*.yaml")) + sorted(
    (PROJECT_ROOT / "tests" / "fixtures").rglob("*4punt.yaml")
)


def _write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _ploeg() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "policies" / "ploeg.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_every_shipped_policy_fits_the_schema(path: Path) -> None:
    PolicyFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert load_policy(path).rating_codes


def test_a_misspelt_key_names_the_file_the_key_and_the_nearest_known_key(tmp_path: Path) -> None:
    raw = _ploeg()
    raw["disclosure"]["min_group_sise"] = raw["disclosure"].pop("min_group_size")
    path = _write(tmp_path / "typo.yaml", raw)
    with pytest.raises(ConfigError) as error:
        load_policy(path)
    message = str(error.value)
    assert str(path) in message
    assert "'disclosure.min_group_sise'" in message and "did you mean 'min_group_size'" in message


def test_an_unknown_section_is_refused_with_the_nearest_section(tmp_path: Path) -> None:
    raw = _ploeg()
    raw["metricz"] = raw.pop("metrics")
    with pytest.raises(ConfigError, match=r"unknown key 'metricz'; did you mean 'metrics'"):
        load_policy(_write(tmp_path / "section.yaml", raw))


def test_a_key_inside_a_list_item_is_checked(tmp_path: Path) -> None:
    raw = _ploeg()
    raw["rating_scale"]["values"][1]["scor"] = raw["rating_scale"]["values"][1].pop("score")
    with pytest.raises(ConfigError, match=r"'rating_scale\.values\.1\.scor'; did you mean 'score'"):
        load_policy(_write(tmp_path / "item.yaml", raw))


def test_a_value_out_of_range_names_its_key(tmp_path: Path) -> None:
    raw = _ploeg()
    raw["disclosure"]["dominance_share"] = {"value": 3, "rule": "test"}  # a share above 1
    with pytest.raises(
        ConfigError, match=r"'disclosure\.dominance_share' input should be less than or equal"
    ):
        load_policy(_write(tmp_path / "range.yaml", raw))


def test_a_left_out_value_takes_the_schema_default(tmp_path: Path) -> None:
    raw = _ploeg()
    del raw["disclosure"]
    del raw["metrics"]["fdr"]
    policy = load_policy(_write(tmp_path / "defaults.yaml", raw))
    assert policy.min_group_size == Disclosure().min_group_size == 5
    assert policy.min_group_size_amounts == 10 and policy.dominance_share == 0.3
    assert policy.rule_value("metrics", "fdr") == schema_default("metrics", "fdr") == 0.05
    # a caller's own default does not override the schema's
    assert policy.rule_value("disclosure", "min_group_size", default=7) == 5
    # where the schema has no default, the caller's applies (management k follows min_group_size)
    assert schema_default("disclosure", "management_min_group_size") is None
    assert policy.rule_value("disclosure", "management_min_group_size", default=9) == 9
    # an annotated value is read as its value, the annotation kept for rule ids
    assert (
        load_policy(PROJECT_ROOT / "policies" / "zeeland_5punt.yaml").rule_value("forecast", "draws")
        == PolicyFile.model_validate(
            yaml.safe_load((PROJECT_ROOT / "policies" / "zeeland_5punt.yaml").read_text(encoding="utf-8"))
        ).forecast.draws
    )


def test_schema_defaults_are_copies() -> None:
    schema_default("disclosure", "compared_groups").append("X")
    assert schema_default("disclosure", "compared_groups") == ["F", "M"]


def test_the_audience_settings_are_part_of_the_schema(tmp_path: Path) -> None:
    raw = _ploeg()
    raw["disclosure"] |= {
        "management_min_group_size": 5,
        "meeting_min_group_size": 1,
        "compared_groups": ["F", "M"],
    }
    policy = load_policy(_write(tmp_path / "audiences.yaml", raw))
    assert policy.rule_value("disclosure", "meeting_min_group_size") == 1


def test_calibra_yaml_fits_the_schema_and_fills_its_defaults(tmp_path: Path) -> None:
    ConfigFile.model_validate(yaml.safe_load((PROJECT_ROOT / "calibra.yaml").read_text(encoding="utf-8")))
    path = _write(tmp_path / "calibra.yaml", {"organizations": {"x": {"policy": "p.yaml"}}})
    settings = load_settings(path, tmp_path / "home")
    assert settings.schedules == {"hour": 6, "budget_days_before_payout": 14}
    assert settings.organizations["x"].name == {"nl": "x", "en": "x"}
    assert settings.mappings_dirs == ((tmp_path / "mappings").resolve(),)


def test_calibra_yaml_misspelt_keys_name_the_nearest_known_key(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "calibra.yaml",
        {"mapings": ["mappings"], "schedules": {"hours": 6}, "organizations": {"x": {"polcy": "p.yaml"}}},
    )
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    message = str(error.value)
    assert "unknown key 'mapings'; did you mean 'mappings'" in message
    assert "unknown key 'schedules.hours'; did you mean 'hour'" in message
    assert "unknown key 'organizations.x.polcy'; did you mean 'policy'" in message and str(path) in message
    _write(path, {"organizations": {"x": {"name": {"nl": "X", "en": "X"}}}})
    with pytest.raises(ConfigError, match=r"organisation 'x': name either one policy"):
        load_settings(path)


def _regime_change(tmp_path: Path) -> Path:
    """An organisation whose regime changed with the 2024 cycle: two policies, each with its period."""
    old, new = _ploeg(), _ploeg()
    old |= {"id": "ploeg_old", "valid_until": "2024-06-01"}
    new |= {"id": "ploeg_new", "valid_from": "2024-06-01"}
    _write(tmp_path / "old.yaml", old)
    _write(tmp_path / "new.yaml", new)
    periods = [{"policy": "old.yaml", "to_cycle": 2023}, {"policy": "new.yaml", "from_cycle": 2024}]
    return _write(tmp_path / "calibra.yaml", {"organizations": {"x": {"policies": periods}}})


def test_a_cycle_is_judged_by_the_policy_in_force_for_it(tmp_path: Path) -> None:
    settings = load_settings(_regime_change(tmp_path), tmp_path / "home")
    assert policy_for(settings, "x", 2022).id == "ploeg_old"
    assert policy_for(settings, "x", 2023).id == "ploeg_old"
    assert policy_for(settings, "x", 2025).id == "ploeg_new"
    assert policy_for(settings, "x").id == "ploeg_new"  # without a cycle: the latest
    # the cycle of the change: the old policy was in force for part of 2024 too, the new one from June
    old = load_policy(tmp_path / "old.yaml")
    assert old.in_force_for(2024) and not old.in_force_for(2025)
    assert str(old.valid_until) == "2024-06-01" and old.valid_from is None


def test_a_policy_named_for_a_cycle_it_is_not_in_force_for_is_refused(tmp_path: Path) -> None:
    config = _regime_change(tmp_path)
    periods = [{"policy": "old.yaml", "to_cycle": 2025}, {"policy": "new.yaml", "from_cycle": 2026}]
    _write(config, {"organizations": {"x": {"policies": periods}}})
    settings = load_settings(config, tmp_path / "home")
    assert policy_for(settings, "x", 2024).id == "ploeg_old"
    with pytest.raises(ConfigError, match=r"policy ploeg_old is not in force for cycle 2025"):
        policy_for(settings, "x", 2025)


def test_policy_periods_must_not_overlap_or_run_backwards(tmp_path: Path) -> None:
    config = _regime_change(tmp_path)
    overlapping = [{"policy": "old.yaml", "to_cycle": 2024}, {"policy": "new.yaml", "from_cycle": 2024}]
    _write(config, {"organizations": {"x": {"policies": overlapping}}})
    with pytest.raises(ConfigError, match="overlap"):
        load_settings(config)
    backwards = [{"policy": "old.yaml", "from_cycle": 2024, "to_cycle": 2020}]
    _write(config, {"organizations": {"x": {"policies": backwards}}})
    with pytest.raises(ConfigError, match="runs backwards"):
        load_settings(config)
    raw = _ploeg() | {"valid_from": "2024-01-01", "valid_until": "2023-01-01"}
    with pytest.raises(ConfigError, match="valid_until must come after valid_from"):
        load_policy(_write(tmp_path / "period.yaml", raw))


def test_typed_access_gives_the_same_values_as_the_string_paths() -> None:
    for path in POLICIES:
        policy = load_policy(path)
        typed = policy.typed
        assert typed is policy.typed  # validated once
        assert typed.disclosure.min_group_size == policy.min_group_size
        assert typed.metrics.fdr == policy.rule_value("metrics", "fdr")
        assert typed.calibration.leniency_window_cycles == policy.rule_value(
            "calibration", "leniency_window_cycles"
        )
        assert [v.code for v in typed.rating_scale.values] == policy.rating_codes
        # every value the models read typed equals its string path (annotations unwrapped, defaults filled)
        paths = {
            ("compliance", "cycle_months"): typed.compliance.cycle_months,
            ("compliance", "publish_incidental"): typed.compliance.publish_incidental,
            ("budget", "net_to_gross_factor"): typed.budget.net_to_gross_factor,
            ("structural", "award_type"): typed.structural.award_type,
            ("structural", "no_raise_at_maximum"): typed.structural.no_raise_at_maximum,
            (
                "argumentation",
                "publish_structural_above_pct",
            ): typed.argumentation.publish_structural_above_pct,
            ("absence", "min_presence_months"): typed.absence.min_presence_months,
            ("fairness", "award_outcomes"): typed.fairness.award_outcomes,
            ("fairness", "part_time_below_fte"): typed.fairness.part_time_below_fte,
            ("fairness", "pay_transparency", "article10_gap_threshold"): (
                typed.fairness.pay_transparency.article10_gap_threshold
            ),
            ("pay_gap", "rating_window_cycles"): typed.pay_gap.rating_window_cycles,
            ("pay_gap", "objective_factors"): typed.pay_gap.objective_factors,
            ("forecast", "horizon_years"): typed.forecast.horizon_years,
            ("ingest", "max_quarantine_share"): typed.ingest.max_quarantine_share,
        }
        for path, value in paths.items():
            assert value == policy.rule_value(*path), (path, policy.id)


def test_findings_of_each_cycle_follow_the_policy_in_force_for_that_cycle(tmp_path: Path) -> None:
    """One organisation, two policies over different cycles: the marts' CyclePolicies gives each cycle its
    own, and the findings of a cycle name the policy that judged it. The 2023 policy has no conversation
    deadline (no Z-12 check); the 2024 one has it, so only the 2024 late conversation is a finding."""
    import datetime as dt

    import polars as pl

    from models.rules import compliance_findings
    from pipelines.assets.common import organisation_policies
    from pipelines.resources import CalibraResource

    zeeland = yaml.safe_load((PROJECT_ROOT / "policies" / "zeeland_5punt.yaml").read_text(encoding="utf-8"))
    old = {k: v for k, v in zeeland.items() if k != "deadlines"} | {
        "id": "z_old",
        "valid_until": "2024-01-01",
    }
    new = zeeland | {"id": "z_new", "version": 2, "valid_from": "2024-01-01"}
    _write(tmp_path / "old.yaml", old)
    _write(tmp_path / "new.yaml", new)
    periods = [{"policy": "old.yaml", "to_cycle": 2023}, {"policy": "new.yaml", "from_cycle": 2024}]
    config = _write(tmp_path / "calibra.yaml", {"organizations": {"z": {"policies": periods}}})
    policies = organisation_policies(CalibraResource(config_path=str(config), home=str(tmp_path / "home")))
    assert policies["z"].id == "z_new"  # as a mapping: the latest
    assert [policies.for_cycle("z", c).id for c in (2022, 2023, 2024, 2025)] == ["z_old"] * 2 + ["z_new"] * 2

    row = {
        "organization": "z",
        "employee_id": "e1",
        "department": "Economie",
        "rating": "normaal",
        "employment_type": "contractueel",
        "fte": 1.0,
        "months_in_service": 60.0,
    }
    findings = []
    for cycle in (2023, 2024):  # as the compliance asset does: one organisation-cycle at a time
        late = pl.DataFrame([{**row, "cycle": cycle, "conversation_date": dt.date(cycle + 1, 6, 1)}])
        findings.append(compliance_findings({"z": policies.for_cycle("z", cycle)}, evaluations=late))
    both = pl.concat(findings)
    late_conversations = both.filter(pl.col("rule") == "Z-12")
    assert late_conversations.select("cycle", "policy_id", "policy_version").rows() == [(2024, "z_new", 2)]
    assert set(both.filter(pl.col("cycle") == 2023).get_column("policy_id")) <= {"z_old"}
    assert set(both.filter(pl.col("cycle") == 2023).get_column("policy_version")) <= {1}


def test_the_quarantine_threshold_is_a_policy_value_of_the_cycle(tmp_path: Path) -> None:
    """The ingest's quarantine_share check warns at the share of quarantined rows the policy in force for an
    organisation-cycle allows (ingest.max_quarantine_share, 5% unless the policy says otherwise)."""
    from models.ingest import FileOutcome
    from pipelines.assets.ingest import over_quarantine_limit, quarantine_limit

    config = _regime_change(tmp_path)
    new = yaml.safe_load((tmp_path / "new.yaml").read_text(encoding="utf-8"))
    new["ingest"] = {"max_quarantine_share": {"value": 0.2, "note": "a test"}}
    _write(tmp_path / "new.yaml", new)
    old = yaml.safe_load((tmp_path / "old.yaml").read_text(encoding="utf-8"))
    old.pop("ingest", None)  # left out: the schema's default
    _write(tmp_path / "old.yaml", old)
    settings = load_settings(config, tmp_path / "home")
    assert schema_default("ingest", "max_quarantine_share") == 0.05
    assert [quarantine_limit(settings, "x", c) for c in (2023, 2024)] == [0.05, 0.2]
    assert quarantine_limit(settings, "not-configured", 2024) == 0.05
    # the share of bad rows that rejects a file whole sits beside it, in the schema only (50%)
    from models.validation import max_bad_row_share

    assert [max_bad_row_share(policy_for(settings, "x", c)) for c in (2023, 2024)] == [0.5, 0.5]

    def outcome(cycle: int, read: int, quarantined: int) -> FileOutcome:
        return FileOutcome(f"x_{cycle}.csv", "sha", "loaded", "evaluations", "x", cycle, read, 0, quarantined)

    # 10% quarantined: over the old policy's 5%, under the new policy's 20%; a second file of the cycle counts
    outcomes = [outcome(2023, 100, 10), outcome(2024, 100, 10), outcome(2024, 50, 5)]
    assert over_quarantine_limit(settings, outcomes) == [("x", 2023, 0.1)]
    assert over_quarantine_limit(settings, [outcome(2024, 100, 20)]) == [("x", 2024, 0.2)]  # at the limit
    with pytest.raises(ConfigError, match=r"ingest\.max_quarantine_share"):
        new["ingest"] = {"max_quarantine_share": 1.5}
        _write(tmp_path / "bad.yaml", new)
        load_policy(tmp_path / "bad.yaml")


def test_every_page_footer_names_the_policy_version_of_its_cycle(tmp_path: Path) -> None:
    """A cycle page names the policy that judged that cycle (id, version, period in force), in Dutch and in
    English from the catalogue; a page over several cycles lists each policy with the cycles it judged."""
    from datetime import UTC, datetime

    from dashboards.components import FOOTER_TOKEN
    from dashboards.site import placed, policies_of_cycles

    zeeland = yaml.safe_load((PROJECT_ROOT / "policies" / "zeeland_5punt.yaml").read_text(encoding="utf-8"))
    _write(
        tmp_path / "old.yaml",
        zeeland | {"id": "z_old", "valid_from": "2011-01-01", "valid_until": "2018-01-01"},
    )
    _write(tmp_path / "new.yaml", zeeland | {"id": "z_new", "version": 3, "valid_from": "2018-01-01"})
    periods = [{"policy": "old.yaml", "to_cycle": 2017}, {"policy": "new.yaml", "from_cycle": 2018}]
    config = _write(tmp_path / "calibra.yaml", {"organizations": {"z": {"policies": periods}}})
    settings = load_settings(config, tmp_path / "home")
    policies = policies_of_cycles(settings, {"z": [2016, 2017, 2018]})
    assert {cycle: p.id for (_, cycle), p in policies.items()} == {
        2016: "z_old",
        2017: "z_old",
        2018: "z_new",
    }

    page = f"<html><footer>{FOOTER_TOKEN}</footer></html>"
    pages = {"z/2017/budget.html": page, "z/2018/budget.html": page, "data_quality.html": page}
    built = datetime(2026, 1, 2, tzinfo=UTC)
    dutch = placed(pages, {}, built, "nl", policies)
    english = placed(pages, {}, built, "en", policies)
    name = zeeland["name"]["nl"]
    assert (
        f"Regels: {name} (beleid z_old, versie 1), geldig van 2011-01-01 tot 2018-01-01."
        in dutch["z/2017/budget.html"]
    )
    assert "(beleid z_new, versie 3), geldig vanaf 2018-01-01." in dutch["z/2018/budget.html"]
    assert "z_old" not in dutch["z/2018/budget.html"]
    assert "(policy z_new, version 3), in force from 2018-01-01." in english["z/2018/budget.html"]
    overview = str(dutch["data_quality.html"])
    assert "z, cyclus 2016\u20132017: " in overview and "z, cyclus 2018: " in overview
    assert "Regels" not in overview  # the list names the policies, not "Rules:" on every line
    assert overview.index("z_old") < overview.index("z_new")
    assert "Rules used per cycle" in english["data_quality.html"]
    # without policies (a caller that has none) the footer is the build time and exports only
    assert "Regels" not in placed(pages, {}, built, "nl")["z/2017/budget.html"]


def test_the_budget_prices_each_cycle_on_the_policy_in_force_for_it(tmp_path: Path) -> None:
    """Two cycles under two regimes that differ in the structural budget (Z-14: 5% of the payroll before
    2024, 2.8% from 2024): marts.budget names each cycle's policy and applies its percentage."""
    import duckdb
    import polars as pl

    from pipelines.assets.marts import budget as assets
    from pipelines.resources import CalibraResource
    from pipelines.runs import materialize
    from tests.test_budget import CYCLE, write_staging, zeeland_inputs

    zeeland = yaml.safe_load((PROJECT_ROOT / "policies" / "zeeland_5punt.yaml").read_text(encoding="utf-8"))
    old_budget = zeeland["budget"] | {"structural_budget_pct": {"value": 5.0, "rule": "Z-14"}}
    old = zeeland | {"id": "z_old", "valid_until": f"{CYCLE}-01-01", "budget": old_budget}
    _write(tmp_path / "old.yaml", old)
    _write(tmp_path / "new.yaml", zeeland | {"id": "z_new", "version": 2, "valid_from": f"{CYCLE}-01-01"})
    periods = [{"policy": "old.yaml", "to_cycle": CYCLE - 1}, {"policy": "new.yaml", "from_cycle": CYCLE}]
    organisation = "zeeland-demo"
    config = _write(tmp_path / "calibra.yaml", {"organizations": {organisation: {"policies": periods}}})

    inputs = zeeland_inputs()
    assert set(inputs.evaluations["organization"]) == {organisation}

    def both_cycles(frame: pl.DataFrame) -> pl.DataFrame:
        earlier = frame.with_columns(pl.lit(CYCLE - 1).cast(frame.schema["cycle"]).alias("cycle"))
        return pl.concat([earlier, frame])

    two_cycles = type(inputs)(
        both_cycles(inputs.evaluations),
        both_cycles(inputs.payroll),
        both_cycles(inputs.awards),
        inputs.scales,
    )
    write_staging(tmp_path / "home" / "calibra.duckdb", two_cycles)
    resource = CalibraResource(config_path=str(config), home=str(tmp_path / "home"))
    assert materialize([assets.budget], resources={"calibra": resource}).success
    with duckdb.connect(str(tmp_path / "home" / "calibra.duckdb"), read_only=True) as con:
        rows = con.execute(
            """SELECT cycle, policy_id, structural_budget / payroll FROM marts.budget
               WHERE level = 'organisatie' ORDER BY cycle"""
        ).fetchall()
    assert [(cycle, policy) for cycle, policy, _ in rows] == [(CYCLE - 1, "z_old"), (CYCLE, "z_new")]
    assert rows[0][2] / rows[1][2] == pytest.approx(5.0 / 2.8)
