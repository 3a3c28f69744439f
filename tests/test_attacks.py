"""The integer-programming attacker (tests/attacker.py) against the organisation release (issue 16, "Protection").

A small gender category left out of the women-versus-men comparison (recoded) would be recovered by
subtraction while any other attribute's total is the whole organisation: X = total − women − men, per outcome.
The fairness mart takes those people out of every other attribute (models.fairness.without_small_others) and the
rows say so (`others_left_out`); the tests below attack that on a hand-built table and on the sample (93 facts
recovered before, none now). The organisation site alone (process page's rated people, budget and forecast
headcount, fairness) must not give it back either: those totals count the shown categories in such a cycle
(126 of 166 facts recovered while they counted everyone, none now; the test prints both). Through the
organisation-wide `ratings` rows, which are on the management site only, it does: the accepted case of a
management reader who reads both sites (docs/privacy.md).
"""

from __future__ import annotations

import polars as pl
import pytest
from attacker import Found, Key, Model, add_cube
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.disclosure.engine import Thresholds
from models.fairness import Outcome, small_other_categories, without_small_others

K = 5
OTHERS = "(others left out)"
BY = ["organization", "cycle", "outcome", "attribute"]


def fairness_model(published: pl.DataFrame, truth: pl.DataFrame) -> Model:
    """Every overall row of the fairness table's binary outcomes as facts: per attribute, group sizes and
    counts (yes, no = size − yes) with the attribute's total; the organisation's population per outcome is
    every attribute's total, plus a category left out where the rows say `others_left_out`. Published rates
    bound counts; published odds ratios are kept for enumeration. `truth` is marts.fairness."""
    model = Model()
    rows = published.filter(
        (pl.col("scope") == "overall") & (pl.col("outcome_kind").fill_null("binary") == "binary")
    )
    true = {
        (r["organization"], r["cycle"], r["outcome"], r["attribute"], r["group_value"]): (r["n"], r["count"])
        for r in truth.filter(pl.col("outcome_kind") == "binary").iter_rows(named=True)
    }
    for (org, cycle, outcome, attribute), part in rows.group_by(BY, maintain_order=True):
        family = (org, cycle, outcome, attribute)
        shown = [g for g in part["group_value"].to_list() if g is not None]
        left_out = bool(part["others_left_out"].fill_null(False).any())
        for r in part.iter_rows(named=True):
            g = r["group_value"]
            if g is None:
                t_n = sum(true.get((*family, s), (0, 0))[0] for s in shown)
                t_c = sum(true.get((*family, s), (0, 0))[1] for s in shown)
            else:
                t_n, t_c = true.get((*family, g), (None, None))
            n_key, yes, no = (("fair", *family, g, h) for h in ("n", "yes", "no"))
            model.fact(n_key, r["group_n"], t_n)
            model.fact(yes, r["count"], t_c)
            both = r["group_n"] is not None and r["count"] is not None
            model.fact(no, r["group_n"] - r["count"] if both else None, None if t_n is None else t_n - t_c)
            model.total(n_key, [yes, no])
            model.ratio(yes, n_key, r["rate"])
            if (
                g is not None
                and r.get("odds_ratio") is not None
                and r.get("reference_group") not in (None, g)
            ):
                ref = r["reference_group"]
                if ref != "rest_of_organisation":
                    model.odds_ratio(
                        yes, no, ("fair", *family, ref, "yes"), ("fair", *family, ref, "no"), r["odds_ratio"]
                    )
        for h in ("n", "yes", "no"):
            model.total(("fair", *family, None, h), [("fair", *family, g, h) for g in shown])
            population = ("population", org, cycle, outcome, h)
            if left_out:
                # The page says this attribute's totals exclude "n < k others": the same people for every
                # attribute that says so (one unknown per outcome), the category left out of the comparison.
                others = ("fair", org, cycle, outcome, OTHERS, h)
                model.fact(others, None, _others_truth(true, rows, (org, cycle, outcome), h))
                model.target(others)
                model.total(population, [("fair", *family, None, h), others])
            else:
                model.equal(population, ("fair", *family, None, h))
    model.small_targets(K)
    return model


def _others_truth(
    true: dict[tuple[object, ...], tuple[int, int]], rows: pl.DataFrame, family: tuple[object, ...], h: str
) -> int:
    """The true number of people (h = "n"), with ("yes") or without ("no") the outcome in the groups of
    (organisation, cycle, outcome) that the mart holds and the page does not show: the left-out category."""
    published = {
        (r["attribute"], r["group_value"])
        for r in rows.filter(
            (pl.col("organization") == family[0])
            & (pl.col("cycle") == family[1])
            & (pl.col("outcome") == family[2])
        ).iter_rows(named=True)
    }
    cells = [v for (o, c, out, a, g), v in true.items() if (o, c, out) == family and (a, g) not in published]
    if h == "n":
        return sum(n for n, _ in cells)
    if h == "yes":
        return sum(c for _, c in cells)
    return sum(n - c for n, c in cells)


def _hand_people() -> pl.DataFrame:
    """Hand-built people as models.fairness.person_frame gives them: women 120 (30 with the outcome), men 110
    (20), gender X 3 (1); every person in one of two age bands."""
    rows = []
    for gender, n, yes, young in (("F", 120, 30, 50), ("M", 110, 20, 48), ("X", 3, 1, 2)):
        for i in range(n):
            rows.append({"cycle": 2024, "a:gender": gender, "a:age_band": "<40" if i < young else "40+",
                         "o:incidental_reward": i < yes})  # fmt: skip
    return pl.DataFrame(rows)


INCIDENTAL = Outcome("incidental_reward", "binary", True, {"nl": "", "en": ""}, "", "", "")


def _hand_sources() -> dict[str, pl.DataFrame]:
    """marts.fairness of the hand-built people, through the mart's own rule for a small other category
    (models.fairness.without_small_others: X is taken out of every attribute but gender)."""
    people = without_small_others(_hand_people(), [INCIDENTAL], ["F", "M"], K)
    rows = []
    for attribute in ("gender", "age_band"):
        column = f"a:{attribute}"
        counts = (
            people.filter(pl.col(column).is_not_null())
            .group_by(pl.col(column).alias("group_value"))
            .agg(pl.len().alias("n"), pl.col("o:incidental_reward").sum().alias("count"))
        )
        for r in counts.iter_rows(named=True):
            rows.append({"organization": "o", "cycle": 2024, "outcome": "incidental_reward", "outcome_kind": "binary",
                         "attribute": attribute, "group_value": r["group_value"], "n": r["n"], "count": r["count"]})  # fmt: skip
    return {"marts.fairness": pl.DataFrame(rows).sort("attribute", "group_value")}


def test_the_mart_takes_a_small_other_category_out_of_every_other_attribute() -> None:
    """The subtraction leak (total − women − men) is closed where the totals are made: in the mart. X (3
    people) stays in the gender rows (the release leaves it out and says so) and leaves the age bands; with 5
    people X is kept everywhere, except when with or without the outcome fewer than k remain."""
    people = _hand_people()
    kept = without_small_others(people, [INCIDENTAL], ["F", "M"], K)
    assert kept.height == people.height and kept["a:gender"].to_list() == people["a:gender"].to_list()
    x = kept.filter(pl.col("a:gender") == "X")
    assert x["a:age_band"].null_count() == 3
    assert kept.filter(pl.col("a:gender") != "X")["a:age_band"].null_count() == 0
    assert small_other_categories(people, [INCIDENTAL], ["F", "M"], K).to_dicts() == [
        {"cycle": 2024, "category": "X"}
    ]
    five = pl.concat([people, people.filter(pl.col("a:gender") == "X").head(2)])  # X: 5 people, 1 or 2 yes
    assert small_other_categories(five, [INCIDENTAL], ["F", "M"], K).height == 1, "fewer than k with it"
    balanced = five.with_columns(
        pl.when(pl.col("a:gender") == "X").then(True).otherwise(pl.col("o:incidental_reward")).alias("o:incidental_reward")
    )  # fmt: skip
    ten = pl.concat([balanced.filter(pl.col("a:gender") == "X"), five.filter(pl.col("a:gender") == "X").with_columns(pl.lit(False).alias("o:incidental_reward")), people.filter(pl.col("a:gender") != "X")])  # fmt: skip
    assert small_other_categories(ten, [INCIDENTAL], ["F", "M"], K).height == 0, "5 with and 5 without: shown"
    assert without_small_others(ten, [INCIDENTAL], ["F", "M"], K)["a:age_band"].null_count() == 0


def test_the_organisation_site_totals_count_the_shown_categories() -> None:
    """The process status and the budget headcount leave out, in a cycle, the people of the categories the
    fairness mart leaves out (models.disclosure.recode.mark_left_out_people on the rule's output): every count
    is then women and men (and whoever is not left out), the organisation is the sum of its departments, and
    every row of that cycle says so; another cycle keeps everyone."""
    from models.budget import TOTAL, with_shown_headcount
    from models.config import PROJECT_ROOT, load_settings
    from models.policy import policy_for
    from models.process_status import process_status

    settings = load_settings(PROJECT_ROOT / "calibra.yaml")
    policies = {"zeeland-demo": policy_for(settings, "zeeland-demo")}
    people = [
        ("A", "F", "normaal"),
        ("A", "M", None),
        ("A", "X", "goed"),
        ("B", "F", "goed"),
        ("B", "X", None),
    ]
    evaluations = pl.DataFrame(
        [
            {"organization": "zeeland-demo", "cycle": cycle, "department": d, "gender": g, "rating": r}
            for cycle in (2023, 2024)
            for d, g, r in people
        ]
    )
    left_out = pl.DataFrame({"organization": ["zeeland-demo"], "cycle": [2024], "gender": ["X"]})
    status = process_status(policies, evaluations, left_out).sort("cycle", "department")
    rows = status.select("cycle", "department", "n", "ratings_missing", "others_left_out").rows()
    assert rows == [
        (2023, "A", 3, 1, False),
        (2023, "B", 2, 1, False),
        (2024, "A", 2, 1, True),
        (2024, "B", 1, 0, True),
    ]
    budget = pl.DataFrame(
        {
            "organization": "zeeland-demo",
            "cycle": [2023, 2023, 2023, 2024, 2024, 2024],
            "department": ["A", "B", TOTAL] * 2,
            "headcount": [3, 2, 5, 3, 2, 5],
        }
    )
    shown = with_shown_headcount(budget, evaluations, left_out).sort("cycle", "department")
    assert shown.select("cycle", "department", "shown_headcount", "others_left_out").rows() == [
        (2023, TOTAL, 5, False),
        (2023, "A", 3, False),
        (2023, "B", 2, False),
        (2024, TOTAL, 3, True),
        (2024, "A", 2, True),
        (2024, "B", 1, True),
    ]


def test_the_attacker_is_not_blind() -> None:
    """A small cell hidden alone next to its published margins is recovered; with a second hidden cell in each
    equation it is not; an odds ratio pins what the margins leave open."""
    model = Model()
    published = pl.DataFrame({"d": ["a", "a", None, None], "r": ["x", None, "x", None], "n": [None, 9, 9, 9]})
    truth = published.with_columns(pl.col("n").fill_null(3))
    add_cube(model, "t", published, truth, [], ["d", "r"], "n")
    # The truth (3) contradicts the published margins (9): a model that disagrees with the truth is reported.
    assert model.check_truth(), "a model that disagrees with the truth is reported"
    model = Model()
    published = pl.DataFrame(
        {"d": ["a", "a", "a", "b", "b", "b", None, None, None], "r": ["x", "y", None] * 3, "n": [None, 20, 23, 9, 25, 34, 12, 45, 57]}
    )  # fmt: skip
    truth = published.with_columns(pl.col("n").fill_null(3))
    add_cube(model, "t", published, truth, [], ["d", "r"], "n")
    model.small_targets(K)
    assert not model.check_truth()
    found = model.attack()
    assert [(f.recovered, f.low, f.true) for f in found] == [(True, 3, 3.0)]
    # Odds ratio: a + c = 10, b = 6, d = 6 published; (a·6)/(6·c) = a/c = 0.43 (2 decimals) → a = 3, c = 7.
    model = Model()
    for key, shown, true in (("a", None, 3), ("b", 6, 6), ("c", None, 7), ("d", 6, 6), ("t", 10, 10)):
        model.fact(key, shown, true)
    model.total("t", ["a", "c"])
    model.small_targets(K)
    assert all(not f.recovered for f in model.attack()), "without the odds ratio a ranges over 0..10"
    model.odds_ratio("a", "b", "c", "d", round(3 / 7, 2))
    assert [f.recovered for f in model.attack()] == [True]


def _publish_hand(sources: dict[str, pl.DataFrame]) -> pl.DataFrame:
    from models.releases.registry import _fairness_release

    return _fairness_release(sources, Thresholds(k=K), {}).frame


def test_a_left_out_category_is_not_recovered_by_subtraction() -> None:
    sources = _hand_sources()
    published = _publish_hand(sources)
    gender = published.filter((pl.col("attribute") == "gender") & (pl.col("scope") == "overall"))
    assert gender["others_left_out"].all() and "X" not in gender["group_value"].to_list(), "X is recoded"
    model = fairness_model(published, sources["marts.fairness"])
    assert not model.check_truth()
    found = model.attack()
    others = [f for f in found if OTHERS in f.key]  # type: ignore[operator]
    assert len(others) == 3, "the left-out category's size and both its cells are attacked"
    assert all(f.consistent for f in found), "the bounds must hold the true value"
    recovered = [f for f in found if f.recovered]
    print("\nsubtraction attack (hand-built):", [(f.key, f.low, f.high, f.true) for f in others])
    assert not recovered


@pytest.fixture(scope="module")
def fairness_attack(sample_run):  # type: ignore[no-untyped-def]
    """Every overall number of the sample's fairness page (sizes, counts, rates, odds ratios, totals), two
    consecutive cycles of one organisation in one model (no number links two cycles' fairness rows, so the
    pair recovers what each cycle does on its own and no more). Returns (facts attacked, recovered, seconds)."""
    import itertools
    import time

    import duckdb

    from models.privacy import publish_tables
    from pipelines.assets.publish import read_sources

    con = duckdb.connect(str(sample_run.settings.database), read_only=True)
    try:
        sources = read_sources(con, include_worklist=False)
    finally:
        con.close()
    wanted = ("marts.fairness", "marts.fairness_strata", "marts.rating_distribution")
    sources = {k: v for k, v in sources.items() if k in wanted}
    published = publish_tables(sources, {o: Thresholds(k=K) for o in sample_run.settings.organizations})
    fairness = published.tables["fairness"]
    truth = sources["marts.fairness"]
    started = time.perf_counter()
    recovered: list[Found] = []
    attacked = 0
    for org in sorted(set(fairness["organization"].to_list())):
        cycles = sorted(set(fairness.filter(pl.col("organization") == org)["cycle"].to_list()))
        for first, second in itertools.pairwise(cycles):
            part = fairness.filter((pl.col("organization") == org) & pl.col("cycle").is_in([first, second]))
            model = fairness_model(part, truth)
            assert not model.check_truth(), "the model must hold for the true counts"
            found = model.attack()
            assert all(f.consistent for f in found), "the bounds must hold the true value"
            attacked += len(found)
            recovered += [f for f in found if f.recovered]
    seconds = time.perf_counter() - started
    left_out = [f for f in recovered if OTHERS in f.key]  # type: ignore[operator]
    print(
        f"\nfairness attack: {attacked} hidden facts attacked, {len(recovered)} recovered "
        f"({len(left_out)} of them a left-out category), {seconds:.1f} s"
    )
    return attacked, recovered, seconds


def test_integer_attacker_recovers_no_suppressed_fairness_cell_of_the_sample(fairness_attack) -> None:  # type: ignore[no-untyped-def]
    attacked, recovered, _ = fairness_attack
    suppressed = [f for f in recovered if OTHERS not in f.key]  # type: ignore[operator]
    assert attacked > 0
    assert not suppressed, suppressed[:5]


def test_integer_attacker_recovers_no_left_out_category_of_the_sample(fairness_attack) -> None:  # type: ignore[no-untyped-def]
    _, recovered, _ = fairness_attack
    assert not [f for f in recovered if OTHERS in f.key], "total − women − men gives the others back"  # type: ignore[operator]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=40)),
        min_size=2,
        max_size=4,
    ),
    st.tuples(st.integers(min_value=5, max_value=40), st.integers(min_value=5, max_value=40)),
)
def test_integer_attacker_recovers_no_suppressed_cell_of_generated_fairness_tables(
    ages: list[tuple[int, int]], men: tuple[int, int]
) -> None:
    """Generated fairness tables (women, men and 2 to 4 age bands, with and without the outcome; no category
    left out): every overall number is attacked and no hidden cell of 1 to k−1 people comes back."""
    total_yes, total_no = sum(a for a, _ in ages), sum(b for _, b in ages)
    men_yes, men_no = min(men[0], total_yes), min(men[1], total_no)
    groups = {
        "gender": {"F": (total_yes - men_yes, total_no - men_no), "M": (men_yes, men_no)},
        "age_band": {f"a{i}": cell for i, cell in enumerate(ages)},
    }
    rows = [
        {"organization": "o", "cycle": 2024, "outcome": "incidental_reward", "outcome_kind": "binary",
         "attribute": attribute, "group_value": g, "n": yes + no, "count": yes}
        for attribute, values in groups.items()
        for g, (yes, no) in values.items()
        if yes + no > 0
    ]  # fmt: skip
    sources = {"marts.fairness": pl.DataFrame(rows)}
    published = _publish_hand(sources)
    model = fairness_model(published, sources["marts.fairness"])
    assert not model.check_truth()
    found = model.attack()
    assert all(f.consistent for f in found), "the bounds must hold the true value"
    assert not [f for f in found if f.recovered]


def _left_out_in_gender_rows(
    model: Model,
    fairness: pl.DataFrame,
    truth: pl.DataFrame,
    population: Key,
    order: dict[str, int] | None = None,
) -> None:
    """Per outcome "rated at least <code>" of one organisation × cycle: the fairness table's women and men rows
    (sizes and counts) and the left-out people (targets) make up `population` (everyone rated). With `order`
    (the scale), the count at or above <code> is also the sum of the `("ratings", code)` facts at or above it."""
    rows = fairness.filter(
        (pl.col("scope") == "overall")
        & (pl.col("attribute") == "gender")
        & pl.col("outcome").str.starts_with("rating_at_least_")
        & pl.col("group_value").is_not_null()
    )
    true = {
        (r["outcome"], r["group_value"]): (r["n"], r["count"])
        for r in truth.filter(pl.col("attribute") == "gender").iter_rows(named=True)
    }
    for outcome, part in rows.group_by("outcome", maintain_order=True):
        code = str(outcome[0]).removeprefix("rating_at_least_")
        if order is not None and code not in order:
            continue
        shown = part["group_value"].to_list()
        others = [v for (o, g), v in true.items() if o == outcome[0] and g not in shown]
        for r in part.iter_rows(named=True):
            group_true = true[(outcome[0], r["group_value"])]
            model.fact(("fair", outcome[0], r["group_value"], "n"), r["group_n"], group_true[0])
            model.fact(("fair", outcome[0], r["group_value"], "yes"), r["count"], group_true[1])
            model.ratio(("fair", outcome[0], r["group_value"], "yes"), ("fair", outcome[0], r["group_value"], "n"),
                        r.get("rate"))  # fmt: skip
        x_n, x_yes = (("fair", outcome[0], OTHERS, h) for h in ("n", "yes"))
        model.fact(x_n, None, sum(n for n, _ in others))
        model.fact(x_yes, None, sum(c for _, c in others))
        model.target(x_n)
        model.target(x_yes)
        model.total(population, [*(("fair", outcome[0], g, "n") for g in shown), x_n])
        if order is not None:
            at_least = [("ratings", r) for r, p in order.items() if p >= order[code]]
            model.total(("at_least", code), at_least)
            model.total(("at_least", code), [*(("fair", outcome[0], g, "yes") for g in shown), x_yes])


def _people_by_department(evaluations: pl.DataFrame, left_out: set[str]) -> dict[str, dict[str | None, int]]:
    """The true counts behind the organisation site's people totals, from staging.evaluations of one
    organisation × cycle: per department (None = the organisation), everyone evaluated of the shown categories
    ("S") and of the left-out ones ("XE"), and of them those without a rating ("U", "XU")."""
    frame = evaluations.with_columns(
        pl.col("gender").cast(pl.String).is_in(sorted(left_out)).fill_null(False).alias("_out"),
        pl.col("rating").is_null().alias("_unrated"),
    )
    counts: dict[str, dict[str | None, int]] = {"S": {}, "XE": {}, "U": {}, "XU": {}}
    for (department, out), part in frame.group_by("department", "_out"):
        counts["XE" if out else "S"][department] = part.height
        counts["XU" if out else "U"][department] = int(part["_unrated"].sum())
    for part in counts.values():
        part[None] = sum(part.values())
    return counts


def _people_counts(
    model: Model,
    name: str,
    published: pl.DataFrame,
    everyone: dict[str | None, int],
    truth: dict[str, dict[str | None, int]],
    column: str,
    by: tuple[str, ...] = (),
) -> int:
    """A published people count per department (None = the organisation): everyone evaluated of the shown
    categories, plus the left-out ones unless the row says `others_left_out`. Linked only where the mart's
    count of everyone (`everyone`, before any category is left out) is everyone evaluated, as the reader may
    know (budget and forecast headcount also count people paid but not evaluated). Returns the rows linked."""
    departments = [d for d in truth["S"] if d is not None]
    if any(everyone.get(d) != truth["S"].get(d, 0) + truth["XE"].get(d, 0) for d in [*departments, None]):
        return 0
    linked = 0
    for r in published.iter_rows(named=True):
        d = r["department"]
        if d is not None and d not in truth["S"]:
            continue
        key = (name, *(r[b] for b in by), d)
        left_out = bool(r.get("others_left_out") or False)
        model.fact(key, r[column], truth["S"].get(d, 0) + (0 if left_out else truth["XE"].get(d, 0)))
        model.total(key, [("S", d)] if left_out else [("S", d), ("XE", d)])
        linked += 1
    return linked


def organisation_site_model(
    published: dict[str, pl.DataFrame],
    sources: dict[str, pl.DataFrame],
    evaluations: pl.DataFrame,
    org: str,
    cycle: int,
) -> Model:
    """The left-out category through the organisation site alone. Unknowns per department d (None = the
    organisation, the sum of its departments): S (evaluated, shown categories), XE (evaluated, left out), U and
    XU (of them without a rating), the rated S − U and XE − XU. The process page's "ratings missing" rows give,
    per department and for the organisation, everyone evaluated (`group_n`) and those without a rating (`count`,
    with its rate), over S (and XE, XU unless the rows say `others_left_out`); the budget's and the forecast's
    headcount are the same people (where the marts say so). The fairness table's "rated at least" rows count
    women and men of the rated (overall and per department stratum): with the left-out category's rated
    people (the targets, per outcome) they make up the rated of S and XE. The targets are recovered when the
    totals count the left-out people next to women and men, and cannot be when they do not."""
    model = Model()

    def mine(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.filter((pl.col("organization") == org) & (pl.col("cycle") == cycle))

    fairness = mine(published["fairness"])
    truth_rows = mine(sources["marts.fairness"]).filter(pl.col("attribute") == "gender")
    shown_genders = set(
        fairness.filter((pl.col("scope") == "overall") & (pl.col("attribute") == "gender"))["group_value"]
        .drop_nulls()
        .to_list()
    )
    left_out = set(truth_rows["group_value"].drop_nulls().to_list()) - shown_genders
    truth = _people_by_department(mine(evaluations), left_out)
    departments = sorted(d for d in truth["S"] if d is not None)
    for part in ("S", "XE", "U", "XU", "R", "XR"):
        for d in [*departments, None]:
            if part in ("R", "XR"):
                base = "S" if part == "R" else "XE"
                value = truth[base].get(d, 0) - truth["U" if part == "R" else "XU"].get(d, 0)
            else:
                value = truth[part].get(d, 0)
            model.fact((part, d), None, value)
        model.total((part, None), [(part, d) for d in departments])
    for d in [*departments, None]:
        model.total(("S", d), [("R", d), ("U", d)])
        model.total(("XE", d), [("XR", d), ("XU", d)])
    # The process page: size and unrated per department and for the organisation.
    process = mine(published["process"]).filter(pl.col("metric") == "ratings_missing")
    for r in process.iter_rows(named=True):
        d = r["department"]
        if d is not None and d not in truth["S"]:
            continue
        left = bool(r.get("others_left_out") or False)
        size = truth["S"].get(d, 0) + (0 if left else truth["XE"].get(d, 0))
        unrated = truth["U"].get(d, 0) + (0 if left else truth["XU"].get(d, 0))
        model.fact(("size", d), r["group_n"], size)
        model.fact(("unrated", d), r["count"], unrated)
        model.total(("size", d), [("S", d)] if left else [("S", d), ("XE", d)])
        model.total(("unrated", d), [("U", d)] if left else [("U", d), ("XU", d)])
        model.ratio(("unrated", d), ("size", d), r.get("rate"))
    # The budget's and the forecast's headcount (the forecast starts from this cycle's people).
    budget_src = mine(sources["marts.budget"]) if "marts.budget" in sources else pl.DataFrame()
    if "budget" in published and budget_src.height:
        everyone = {
            (None if level == "organisatie" else d): h
            for d, level, h in budget_src.select("department", "level", "headcount").iter_rows()
        }
        _people_counts(model, "budget", mine(published["budget"]), everyone, truth, "headcount")
    forecast_src = sources.get("marts.budget_forecast", pl.DataFrame())
    if "forecast" in published and forecast_src.height:
        base = forecast_src.filter((pl.col("organization") == org) & (pl.col("base_cycle") == cycle))
        everyone = {
            (None if level == "organisatie" else d): h
            for d, level, h in base.select("department", "level", "headcount").unique().iter_rows()
        }
        rows = mine(published["forecast"])
        _people_counts(model, "forecast", rows, everyone, truth, "headcount", ("scenario", "forecast_cycle"))
    # The fairness table: women and men of the rated, overall and per department stratum, per outcome.
    strata = fairness.filter(
        (pl.col("scope") == "department")
        & (pl.col("attribute") == "gender")
        & pl.col("outcome").str.starts_with("rating_at_least_")
        & pl.col("group_value").is_not_null()
    )
    overall = fairness.filter(
        (pl.col("scope") == "overall")
        & (pl.col("attribute") == "gender")
        & pl.col("outcome").str.starts_with("rating_at_least_")
        & pl.col("group_value").is_not_null()
    )
    strata_src = mine(sources["marts.fairness_strata"]).filter(
        (pl.col("stratum_type") == "department") & (pl.col("attribute") == "gender")
    )
    true_strata = {
        (r["outcome"], r["stratum"], r["group_value"]): r["n"] for r in strata_src.iter_rows(named=True)
    }
    true_overall = {(r["outcome"], r["group_value"]): r["n"] for r in truth_rows.iter_rows(named=True)}
    for outcome in sorted(set(overall["outcome"])):
        shown = sorted(overall.filter(pl.col("outcome") == outcome)["group_value"])
        for r in overall.filter(pl.col("outcome") == outcome).iter_rows(named=True):
            model.fact(
                ("fair", outcome, None, r["group_value"]),
                r["group_n"],
                true_overall[(outcome, r["group_value"])],
            )
        published_n = {
            (r["stratum"], r["group_value"]): r["group_n"]
            for r in strata.filter(pl.col("outcome") == outcome).iter_rows(named=True)
        }
        for g in shown:
            for d in departments:
                model.fact(
                    ("fair", outcome, d, g), published_n.get((d, g)), true_strata.get((outcome, d, g), 0)
                )
            model.total(("fair", outcome, None, g), [("fair", outcome, d, g) for d in departments])
        for d in [*departments, None]:
            x_true = (
                sum(n for (o, dd, g), n in true_strata.items() if o == outcome and dd == d and g in left_out)
                if d is not None
                else sum(n for (o, g), n in true_overall.items() if o == outcome and g in left_out)
            )
            others = ("fair", outcome, d, OTHERS)
            model.fact(others, None, x_true)
            model.target(others)
            model.total(("R", d), [("fair", outcome, d, g) for g in shown])
            model.equal(("XR", d), others)
    return model


def _flagged_cycles(published: dict[str, pl.DataFrame]) -> list[tuple[str, int]]:
    flagged = published["fairness"].filter(pl.col("others_left_out").fill_null(False))
    return list(flagged.select("organization", "cycle").unique().sort("organization", "cycle").iter_rows())


@pytest.fixture(scope="module")
def sample_sources_and_release(sample_run):  # type: ignore[no-untyped-def]
    import duckdb

    from models.privacy import publish_tables
    from pipelines.assets.publish import read_sources

    con = duckdb.connect(str(sample_run.settings.database), read_only=True)
    try:
        sources = read_sources(con, include_worklist=False)
    finally:
        con.close()
    published = publish_tables(
        sources, {o: Thresholds(k=K) for o in sample_run.settings.organizations}
    ).tables
    return sources, published


# The marts of the organisation site that count people (and what their attack needs).
SITE_MARTS = (
    "marts.fairness",
    "marts.fairness_strata",
    "marts.rating_distribution",
    "marts.process_status",
    "marts.budget",
    "marts.budget_forecast",
)


def _site_attack(
    sources: dict[str, pl.DataFrame], evaluations: pl.DataFrame, organizations: list[str]
) -> tuple[int, list[Found], int]:
    """Publish the organisation site's people-counting tables from `sources` and attack every cycle that leaves
    a category out: (facts attacked, recovered, people-count rows of budget and forecast linked)."""
    from models.privacy import publish_tables
    from models.releases.registry import ORGANISATION, PAGES

    published = publish_tables(
        {k: v for k, v in sources.items() if k in SITE_MARTS}, {o: Thresholds(k=K) for o in organizations}
    ).tables
    organisation = {n: f for n, f in published.items() if PAGES.get(n, ("", ""))[1] == ORGANISATION}
    assert "ratings" not in organisation, "the rating distribution is on the management site only"
    assert {"fairness", "process", "budget", "forecast"} <= set(organisation)
    recovered: list[Found] = []
    attacked = 0
    for org, cycle in _flagged_cycles(published):
        model = organisation_site_model(organisation, sources, evaluations, org, cycle)
        assert not model.check_truth(), model.check_truth()[:3]
        found = model.attack()
        assert all(f.consistent for f in found), "the bounds must hold the true value"
        attacked += len(found)
        recovered += [f for f in found if f.recovered]
    return attacked, recovered, len(_flagged_cycles(published))


@pytest.fixture(scope="module")
def site_attack_inputs(sample_run):  # type: ignore[no-untyped-def]
    """The organisation release's sources and the staged evaluations of the sample."""
    import duckdb

    from pipelines.assets.publish import read_sources

    con = duckdb.connect(str(sample_run.settings.database), read_only=True)
    try:
        sources = read_sources(con, include_worklist=False)
        evaluations = con.sql("SELECT * FROM staging.evaluations").pl()
    finally:
        con.close()
    return sources, evaluations, list(sample_run.settings.organizations)


def _report_site_attack(label: str, attack: tuple[int, list, int]) -> None:  # type: ignore[type-arg]
    attacked, recovered, cycles = attack
    people = [f for f in recovered if f.true > 0]
    print(
        f"\norganisation-site attack, {label} (totals over "
        f"{'everyone' if label == 'before' else 'the shown categories'}): {cycles} cycles, {attacked} "
        f"left-out facts attacked, {len(recovered)} recovered ({len(people)} of them a positive count)"
    )


def test_the_organisation_site_alone_does_not_give_the_left_out_category_back(site_attack_inputs) -> None:  # type: ignore[no-untyped-def]
    """Only what the organisation site publishes (registry PAGES: the organisation release): the process page's
    rated people per department and organisation, the budget's and the forecast's headcount and the fairness
    table's women and men leave the small gender category's rated people open in every cycle that leaves it
    out. The attacker's sight is checked on the marts as they were, in the soak tier (next test)."""
    sources, evaluations, organizations = site_attack_inputs
    after = _site_attack(sources, evaluations, organizations)
    _report_site_attack("after", after)
    assert after[0] > 0, "left-out facts must be attacked"
    assert not after[1], [(f.key, f.low, f.true) for f in after[1][:5]]


def test_the_organisation_site_attacker_sees_the_left_out_category_in_totals_over_everyone(
    sample_run, site_attack_inputs
) -> None:  # type: ignore[no-untyped-def]
    """Before: the same marts with the process status, budget and forecast counted over everyone (the marts
    as they were: `process_status` without `left_out`, the budget's and the forecast's `headcount`), where
    rated − women − men gives it back: the attacker of the previous test is not blind (soak tier)."""
    from models.process_status import process_status
    from pipelines.assets.common import CyclePolicies

    sources, evaluations, organizations = site_attack_inputs
    before_sources = {
        **sources,
        "marts.process_status": process_status(CyclePolicies(sample_run.settings), evaluations),
        "marts.budget": sources["marts.budget"].drop("shown_headcount", "others_left_out"),
        "marts.budget_forecast": sources["marts.budget_forecast"].drop("shown_headcount", "others_left_out"),
    }
    before = _site_attack(before_sources, evaluations, organizations)
    after = _site_attack(sources, evaluations, organizations)
    _report_site_attack("before", before)
    assert before[0] > 0 and before[1], (
        "the attacker must recover the left-out category from everyone's totals"
    )
    assert after[0] == before[0], "the same left-out facts are attacked"


def ratings_model(published: dict[str, pl.DataFrame], truth: pl.DataFrame, org: str, cycle: int) -> Model:
    """The left-out category through `ratings` (management site): the organisation-wide rating distribution
    of `ratings` counts everyone rated, so per outcome "rated at least <code>" the population is its total and
    the count is the sum of its codes at or above <code> (order from `rating_scale`); the fairness table's women
    and men rows (sizes and counts) and the left-out people make up the same population."""
    model = Model()
    scale = published["rating_scale"].filter(
        (pl.col("organization") == org) & (pl.col("measure") == "rating")
    )
    order = dict(scale.select("rating", "position").iter_rows())
    ratings = published["ratings"].filter(
        (pl.col("organization") == org)
        & (pl.col("cycle") == cycle)
        & (pl.col("measure") == "rating")
        & pl.col("department").is_null()
        & pl.col("function_level").is_null()
    )
    for rating, n in ratings.select("rating", "n").iter_rows():
        model.fact(("ratings", rating), n)
    model.total(("ratings", None), [("ratings", r) for r in order])
    mine = (pl.col("organization") == org) & (pl.col("cycle") == cycle)
    _left_out_in_gender_rows(
        model, published["fairness"].filter(mine), truth.filter(mine), ("ratings", None), order
    )
    return model


def test_the_management_reader_gets_the_left_out_category_back_through_ratings(
    sample_sources_and_release,
) -> None:  # type: ignore[no-untyped-def]
    """The accepted case (issue 16; docs/privacy.md, "Audiences"): `ratings` is on the management site,
    protected within itself, and a management reader who also reads the organisation site can subtract women
    and men from its organisation-wide rated total. Recorded here so the documented limit is a measured one:
    when the release stops giving it back, this fails and docs/privacy.md must change with it."""
    sources, published = sample_sources_and_release
    truth = sources["marts.fairness"]
    recovered: list[Found] = []
    attacked = 0
    for org, cycle in _flagged_cycles(published):
        model = ratings_model(published, truth, org, cycle)
        assert not model.check_truth(), model.check_truth()[:3]
        found = model.attack()
        assert all(f.consistent for f in found), "the bounds must hold the true value"
        attacked += len(found)
        recovered += [f for f in found if f.recovered]
    print(
        f"\nratings attack (management reader): {attacked} left-out facts attacked, {len(recovered)} recovered"
    )
    assert attacked > 0
    assert recovered, (
        "the management reader no longer gets the left-out category back: update docs/privacy.md"
    )
