"""Fairness and pay-transparency marts (issue 4): one thin multi-asset over the shared people frame.

Reads the person-cycle layer (staging.person_cycle: evaluations with pay and rewards, paired once in DuckDB),
and writes marts.fairness, marts.fairness_strata and marts.pay_transparency. Metadata holds counts only; the
checks are WARN: they point HR at results to look at, they do not stop the run.
"""

from collections.abc import Iterator, Sequence

import dagster as dg
import polars as pl

from models import person_cycle
from models.contracts import load_contract
from models.fairness import DERIVED, OVERALL_SCHEMA, STRATA_SCHEMA, fairness_marts, window_cycles
from models.pay_transparency import SCHEMA as PAY_SCHEMA
from models.pay_transparency import pay_transparency, people_columns
from pipelines.assets.common import (
    PER_CYCLE,
    concat_passes,
    organisation_policies,
    regime_passes,
    run_slices,
    staged_slices,
)
from pipelines.assets.person_cycle import ensure_person_cycle
from pipelines.assets.slices import SLICES
from pipelines.increments import SliceWork, build_step
from pipelines.resources import CalibraResource

FAIRNESS = dg.AssetKey(["marts", "fairness"])
FAIRNESS_STRATA = dg.AssetKey(["marts", "fairness_strata"])
PAY_TRANSPARENCY = dg.AssetKey(["marts", "pay_transparency"])

# Columns the models use; extra fairness attributes are added from the contract (never from user text).
EVALUATION_COLUMNS = (
    "organization",
    "cycle",
    "employee_id",
    "department",
    "function_level",
    "rating",
    "salary_decision",
    "employment_type",
    "gender",
    "birth_year",
    "fte",
    "at_scale_maximum",
)
CYCLE_COLUMNS = {"fairness": "cycle", "fairness_strata": "cycle", "pay_transparency": "cycle"}
NOT_ATTRIBUTES = {"identifier", "free_text"}  # PII classes that are never a fairness attribute


def _evaluation_columns(columns: Sequence[str]) -> list[str]:
    """Some evaluation contract columns (names checked against the contract, in its order, never interpolated
    from anything else)."""
    contract = load_contract("evaluations")
    return [c.name for c in contract.columns if c.name in columns]


def _attribute_columns(requested: Sequence[str]) -> list[str]:
    """Requested attributes that are evaluation contract columns fit to compare groups on."""
    contract = load_contract("evaluations")
    usable = {c.name for c in contract.columns if c.pii not in NOT_ATTRIBUTES}
    return [a for a in requested if a in usable and a not in DERIVED]


@dg.multi_asset(
    name="fairness_marts",
    specs=[
        dg.AssetSpec(
            FAIRNESS,
            deps=[SLICES],
            group_name="marts",
            kinds={"duckdb", "polars"},
            description="Group rates, adverse impact and exact/stratified tests per organisation × cycle × "
            "outcome × attribute × group (docs/marts/fairness.md).",
        ),
        dg.AssetSpec(
            FAIRNESS_STRATA,
            deps=[SLICES],
            group_name="marts",
            kinds={"duckdb", "polars"},
            description="The same comparisons within each function level and each department, side by side "
            "with the overall ones (docs/marts/fairness.md).",
        ),
        dg.AssetSpec(
            PAY_TRANSPARENCY,
            deps=[SLICES],
            group_name="marts",
            kinds={"duckdb", "polars"},
            description="Article 9 items (a)–(g) of Directive (EU) 2023/970 per organisation × cycle "
            "(docs/marts/fairness.md).",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "no_adverse_impact",
            asset=FAIRNESS,
            description="No publishable group is disadvantaged significantly (BH q < metrics.fdr) and "
            "practically (adverse impact ratio below the threshold, or a standardised difference of at "
            "least metrics.practical_effect).",
        ),
        dg.AssetCheckSpec(
            "no_within_stratum_disadvantage",
            asset=FAIRNESS_STRATA,
            description="No publishable group is disadvantaged significantly and practically within a "
            "function level or a department.",
        ),
        dg.AssetCheckSpec(
            "no_article10_trigger",
            asset=PAY_TRANSPARENCY,
            description="No function level has a mean gender pay gap at or above the Art. 10 threshold "
            "(which would require a joint pay assessment).",
        ),
    ],
    **PER_CYCLE,
)
def fairness_marts_asset(context: dg.AssetExecutionContext, calibra: CalibraResource) -> Iterator[object]:
    """Fairness and pay transparency for every configured organisation and cycle.

    marts.fairness — grain organization × cycle × outcome × attribute × group_value: n, count, rate with a
    Wilson interval, reference group, difference, ratio, adverse impact ratio, exact (Fisher) or rank
    (Mann–Whitney) test with BH q-value and the pooled z-test beside it, and within-level / within-department
    CMH (van Elteren) results side by side: common odds ratio and interval, CMH χ² without (headline) and with
    continuity correction, Breslow–Day χ² with its df and p, reversal and heterogeneity flags.
    marts.fairness_strata — grain organization × period × cycle × outcome × attribute × stratum_type × stratum ×
    group_value: the per-stratum rates, odds ratios with Woolf intervals and tests behind the stratified results
    (the forest plots of the site); period "window" rows pool women and men within function level over the
    complete window of calibration_impact.window_cycles cycles ending at `cycle` (from `first_cycle`).
    marts.pay_transparency — grain organization × cycle × item × measure × component × basis × category:
    the Art. 9 gaps and shares for women and men, with the Art. 10 flag per function level.
    Every row says whether it is publishable (policy disclosure minimum sizes)."""
    settings = calibra.settings()
    policies = organisation_policies(calibra)
    organizations = sorted(policies)
    extra = {
        org: list(settings.organizations[org].attributes) if org in settings.organizations else []
        for org in organizations
    }
    requested = [
        a
        for org in organizations
        for policy in policies.every(org)
        for a in [*policy.typed.fairness.attributes, *extra[org]]
    ]
    ignored_by_run: list[set[str]] = []
    stratified_tests: list[int] = []

    def compute(work: SliceWork) -> dict[str, pl.DataFrame]:
        # A cycle is judged by the policy in force for it: one pass per contiguous run of a regime (a single
        # pass when no organisation changed its regime), reading only that run's cycles, so a pooled window
        # of marts.fairness_strata never pools cycles of two policies.
        wanted = _evaluation_columns([*EVALUATION_COLUMNS, *_attribute_columns(requested)])
        results = []
        for regime, (condition, params) in regime_passes(
            policies, work, staged_slices(con, "evaluations") if work.whole else ()
        ):
            # the evaluated people of the configured organisations and the cycles this pass reads
            people = person_cycle.read(
                con,
                people_columns(wanted, regime),
                f"evaluated AND list_contains(?, organization) AND {condition}",
                [organizations, *params],
            )
            calibra.progress(f"fairness: {people.height} evaluations")
            # The rows of the slices rebuilt; the earlier cycles read only feed the pooled windows ending at
            # them.
            cycles = (
                None
                if work.whole
                else {org: {c for o, c in work.rebuild if o == org} for org in organizations}
            )
            marts = fairness_marts(people, regime, extra, cycles)
            ignored_by_run.append({a for names in marts.ignored_attributes.values() for a in names})
            stratified_tests.append(marts.stratified_tests)
            results.append(
                {
                    "fairness": marts.overall,
                    "fairness_strata": marts.strata,
                    "pay_transparency": pay_transparency(people if work.whole else work.keep(people), regime),
                }
            )
        return concat_passes(
            results,
            {"fairness": OVERALL_SCHEMA, "fairness_strata": STRATA_SCHEMA, "pay_transparency": PAY_SCHEMA},
        )

    with calibra.writer() as con:
        ensure_person_cycle(con, settings, policies)
        # Every fairness and pay figure is one cycle's (a cycle's evaluations with its awards and payroll), but
        # for the pooled-window rows of marts.fairness_strata, which read the window's cycles.
        slices, tables = build_step(
            con,
            settings,
            "fairness",
            changed=run_slices(context),
            organizations=organizations,
            kinds=["evaluations", "awards", "payroll"],
            # A cycle's rows read its pooled window (models.fairness.window_cycles; one cycle without one).
            # (the longest of the organisation's policies: a window never reaches before its regime began).
            lookback={
                org: max(window_cycles(policy) or 1 for policy in policies.every(org))
                for org in organizations
            },
            tables=CYCLE_COLUMNS,
            compute=compute,
        )
    overall, strata, pay = tables["fairness"], tables["fairness_strata"], tables["pay_transparency"]
    flagged = int(overall["flag"].sum())
    flagged_strata = int(strata["flag"].sum())
    art10 = pay.filter(pl.col("article10_flag")).select("organization", "cycle", "category").unique().height
    ignored = sorted(set().union(*ignored_by_run))
    yield dg.MaterializeResult(
        asset_key=FAIRNESS,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(overall.height),
            "organizations": dg.MetadataValue.int(overall["organization"].n_unique()),
            "comparisons_tested": dg.MetadataValue.int(int(overall["p_value"].is_not_null().sum())),
            "stratified_tests_this_run": dg.MetadataValue.int(sum(stratified_tests)),
            "organisation_cycles_rebuilt": dg.MetadataValue.int(len(slices.rebuild)),
            "flagged": dg.MetadataValue.int(flagged),
            "publishable_rows": dg.MetadataValue.int(int(overall["publishable"].sum())),
            # Counts of comparisons whose story changes inside strata (issue 17), per stratification.
            **{
                f"{kind}_{within}": dg.MetadataValue.int(
                    int(overall[f"{within}_{kind}"].fill_null(False).sum())
                )
                for within in ("within_level", "within_department")
                for kind in ("reverses", "heterogeneous")
            },
            # configuration names, not data: attributes asked for that the evaluations do not carry
            "attributes_not_available": dg.MetadataValue.text(", ".join(ignored) or "none"),
        },
    )
    yield dg.MaterializeResult(
        asset_key=FAIRNESS_STRATA,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(strata.height),
            "flagged": dg.MetadataValue.int(flagged_strata),
            "publishable_rows": dg.MetadataValue.int(int(strata["publishable"].sum())),
        },
    )
    yield dg.MaterializeResult(
        asset_key=PAY_TRANSPARENCY,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(pay.height),
            "article10_categories": dg.MetadataValue.int(art10),
            "publishable_rows": dg.MetadataValue.int(int(pay["publishable"].sum())),
        },
    )
    yield dg.AssetCheckResult(
        asset_key=FAIRNESS,
        check_name="no_adverse_impact",
        passed=flagged == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"flagged_comparisons": dg.MetadataValue.int(flagged)},
    )
    yield dg.AssetCheckResult(
        asset_key=FAIRNESS_STRATA,
        check_name="no_within_stratum_disadvantage",
        passed=flagged_strata == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"flagged_comparisons": dg.MetadataValue.int(flagged_strata)},
    )
    yield dg.AssetCheckResult(
        asset_key=PAY_TRANSPARENCY,
        check_name="no_article10_trigger",
        passed=art10 == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"categories_at_or_above_threshold": dg.MetadataValue.int(art10)},
    )
