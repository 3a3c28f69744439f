"""Page 5 — process and rule findings: deadlines, signatures, appeals and the findings per rule and
department (a finding is valid data that shows a process or policy problem, DESIGN.md)."""

from __future__ import annotations

import polars as pl

from dashboards import figures
from dashboards.components import (
    Chart,
    Column,
    PageContext,
    all_hidden,
    esc,
    hidden_legend,
    html_table,
    render_chart,
    table_block,
    unavailable,
)
from dashboards.i18n import text
from dashboards.pages import SiteData

PROCESS = "process"
FINDINGS = "findings"
STEPS = (
    "planning_held",
    "self_evaluations_done",
    "evaluations_in_window",
    "first_signatures_on_time",
    "second_signatures_on_time",
    "reports_delivered",
    "reports_delivered_on_time",
)
APPEALS = (
    "appeals_filed",
    "appeals_upheld",
    "appeals_rejected",
    "appeals_pending",
    "contests_filed",
    "ratings_missing",
    "no_rating_absence",
)


def check_labels(language: str) -> dict[str, str]:
    """Plain descriptions of the rule checks, from the rule registry (models.rules) where available."""
    try:
        from models.rules import CHECKS
    except ImportError:  # the rule engine is optional for the site
        return {}
    return {f"{c.rule}|{c.name}": (c.what_en if language == "en" else c.what_nl) for c in CHECKS}


def _finding_label(key: str, labels: dict[str, str]) -> str:
    rule, _, name = key.partition("|")
    what = labels.get(key, name)
    return f"{rule} · {what if len(what) <= 70 else what[:69] + '…'}"


def metric_label(metric: str, language: str) -> str:
    return text("metric_labels", language).get(metric, metric)


def _org_chart(frame: pl.DataFrame, metrics: tuple[str, ...], ctx: PageContext, key: str) -> str:
    language = ctx.language
    title = text(f"chart_{key}_title", language)
    org = frame.filter(pl.col("department").is_null() & pl.col("metric").is_in(list(metrics)))
    if org.height == 0:
        return unavailable(title, "marts.process_status", language)
    order = {m: i for i, m in enumerate(metrics)}
    org = org.sort(pl.col("metric").replace_strict(order, default=99))
    tidy = org.select(
        pl.col("metric")
        .map_elements(lambda m: metric_label(m, language), return_dtype=pl.String)
        .alias("label"),
        pl.col("share").alias("value"),
    )
    if tidy["value"].drop_nulls().len() == 0:
        return all_hidden(title, language)
    figure = figures.horizontal_bars(
        tidy, language, text("axis_share_people", language), text("axis_step", language), percent=True
    )
    figure.update_layout(xaxis={"range": [0, 1.12]})
    n = org["group_n"].drop_nulls()
    return render_chart(
        Chart(
            figure,
            title,
            text(f"chart_{key}_explain", language),
            "marts.process_status (" + text("protected", language) + ")",
            int(n.max()) if n.len() else None,  # type: ignore[arg-type]
        ),
        ctx,
    )


def others_left_out(frame: pl.DataFrame) -> bool:
    """The cycle's counts are over the shown gender categories (a small one left out, models.process_status)."""
    return "others_left_out" in frame.columns and bool(frame["others_left_out"].fill_null(False).any())


def _department_table(frame: pl.DataFrame, metrics: tuple[str, ...], language: str, key: str) -> str:
    part = frame.filter(pl.col("metric").is_in(list(metrics)))
    if part.height == 0:
        return ""
    total = text("organisation_total_left_out" if others_left_out(frame) else "organisation_total", language)
    present = [m for m in metrics if m in part["metric"].unique().to_list()]
    wide = (
        part.with_columns(pl.col("department").fill_null(total))
        .pivot(on="metric", index="department", values="share")
        .join(
            part.filter(pl.col("metric") == present[0])
            .with_columns(pl.col("department").fill_null(total))
            .select("department", "group_n"),
            on="department",
            how="left",
        )
    )
    # A null share here is a hidden cell (the metric exists for the organisation).
    wide = wide.with_columns(pl.lit(True).alias("suppressed"))
    wide = wide.sort(pl.col("department") == total, "department")
    columns = [
        Column("department", text("department", language), hidden_flag=None),
        Column("group_n", "n", "int"),
    ]
    columns += [Column(m, metric_label(m, language), "pct") for m in present]
    return table_block(
        text(f"table_{key}_title", language),
        text(f"table_{key}_explain", language),
        "marts.process_status",
        html_table(wide, columns, language),
        language,
    )


def _findings(frame: pl.DataFrame, ctx: PageContext) -> str:
    language = ctx.language
    title = text("chart_findings_title", language)
    totals = frame.filter(pl.col("department").is_null())
    if totals.height == 0:
        return unavailable(title, "marts.compliance_findings", language)
    labels = check_labels(language)
    tidy = (
        totals.with_columns(
            pl.concat_str([pl.col("rule"), pl.lit("|"), pl.col("check")])
            .map_elements(lambda key: _finding_label(key, labels), return_dtype=pl.String)
            .alias("label"),
        )
        .select(
            "label",
            pl.col("n").cast(pl.Float64).alias("value"),
            (pl.col("severity") == "high").alias("flagged"),
        )
        .sort("value", descending=True, nulls_last=True)
    )
    figure = figures.horizontal_bars(
        tidy, language, text("axis_people_with_finding", language), text("rule", language)
    )
    parts = [
        render_chart(
            Chart(
                figure,
                title,
                text("chart_findings_explain", language),
                "marts.compliance_findings (" + text("protected", language) + ")",
                int(totals["n"].drop_nulls().sum()),
            ),
            ctx,
        )
    ]
    depts = frame.filter(pl.col("department").is_not_null())
    if depts.height:
        # One row per department (the page's department filter narrows it), one column per finding in plain
        # words; the findings' texts become headers only (escaped) and the frame's columns get neutral keys.
        keys = sorted(
            {f"{r}|{c}" for r, c in depts.select("rule", "check").unique().iter_rows()},
            key=lambda k: _finding_label(k, labels),
        )
        column_of = {key: f"c{i}" for i, key in enumerate(keys)}
        keyed = depts.with_columns(
            pl.concat_str([pl.col("rule"), pl.lit("|"), pl.col("check")])
            .replace_strict(column_of)
            .alias("_column")
        )
        wide = keyed.pivot(on="_column", index="department", values="n", aggregate_function="first").sort(
            "department"
        )
        wide = wide.with_columns(pl.lit(True).alias("suppressed"))
        columns = [Column("department", text("department", language), hidden_flag=None)]
        columns += [Column(column_of[k], _finding_label(k, labels), "int") for k in keys]
        parts.append(
            table_block(
                text("table_findings_title", language),
                text("table_findings_explain", language),
                "marts.compliance_findings",
                html_table(wide, columns, language),
                language,
            )
        )
    return "\n".join(parts)


def body(data: SiteData, ctx: PageContext, organization: str, cycle: int) -> str:
    language = ctx.language
    parts = [
        f"<h1>{esc(text('page_process', language))}</h1>",
        f"<p class='lead'>{esc(text('page_intro_process', language))}</p>",
        hidden_legend(language),
    ]
    frame = data.get(PROCESS, organization, cycle)
    parts.append(f"<h2>{esc(text('process_steps', language))}</h2>")
    if frame is None or frame.height == 0:
        parts.append(unavailable(text("process_steps", language), "marts.process_status", language))
    else:
        if others_left_out(frame):
            parts.append(f"<p class='explain'>{esc(text('process_others_left_out', language))}</p>")
        parts.append(_org_chart(frame, STEPS, ctx, "steps"))
        parts.append(_department_table(frame, STEPS, language, "steps"))
        parts.append(f"<h2>{esc(text('process_appeals', language))}</h2>")
        parts.append(_org_chart(frame, APPEALS, ctx, "appeals"))
        parts.append(_department_table(frame, APPEALS, language, "appeals"))
    parts.append(f"<h2>{esc(text('process_findings', language))}</h2>")
    findings = data.get(FINDINGS, organization, cycle)
    if findings is None or findings.height == 0:
        parts.append(unavailable(text("process_findings", language), "marts.compliance_findings", language))
    else:
        parts.append(_findings(findings, ctx))
    return "\n".join(parts)
