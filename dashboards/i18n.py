"""User-facing texts (Dutch default, English on request) and number formats per language.

Dutch: 1.234,5 and 12%; English: 1,234.5 and 12%. Texts are looked up by key; a key missing in English
falls back to Dutch, a key missing altogether is a programming error (KeyError) caught by the tests.
"""

from __future__ import annotations

from typing import Any


class Plural(str):
    """A text with a singular and a plural form: `.format(count=...)` picks the form by the count ("1"
    takes the singular), so "1 beoordelaar" and "3 beoordelaars" instead of "beoordelaar(s)". As a plain
    string it is the plural form."""

    singular: str

    def __new__(cls, singular: str, other: str) -> Plural:
        made = super().__new__(cls, other)
        made.singular = singular
        return made

    def format(self, *args: Any, **kwargs: Any) -> str:
        one = str(kwargs.get("count", "")).strip() == "1"
        return (self.singular if one else str(self)).format(*args, **kwargs)


def plural(singular: str, other: str) -> Plural:
    return Plural(singular, other)


TEXTS: dict[str, dict[str, Any]] = {
    # ---------------------------------------------------------------------------------------------- site
    "site_title": {"nl": "calibra — beoordelen en belonen", "en": "calibra — appraisal and reward"},
    "site_intro": {
        "nl": "Overzichten voor kalibratievergaderingen, normering door het managementteam, eerlijkheid, "
        "budget en proces. Alle cijfers zijn groepstotalen; kleine groepen worden niet getoond.",
        "en": "Overviews for calibration meetings, management-team norming, fairness, budget and process. "
        "All figures are group totals; small groups are not shown.",
    },
    "privacy_intro": {
        "nl": "Elke getoonde cel komt van minstens {k} personen; bedragen van minstens {k_amounts} personen "
        "en geen enkele persoon boven {dominance} van het bedrag. Waar een verborgen cel uit totalen terug "
        "te rekenen zou zijn, is ook een tweede cel verborgen. Groepen waarin iedereen dezelfde beoordeling "
        "kreeg, worden niet uitgesplitst.",
        "en": "Every cell shown comes from at least {k} people; amounts from at least {k_amounts} people with "
        "no single person above {dominance} of the amount. Where a hidden cell could be recomputed from "
        "totals, a second cell is hidden too. Groups in which everyone got the same rating are not broken "
        "down.",
    },
    "organisations": {"nl": "Organisaties", "en": "Organisations"},
    "organisation": {"nl": "Organisatie", "en": "Organisation"},
    "cycles": {"nl": "cycli", "en": "cycles"},
    "cycle": {"nl": "Cyclus", "en": "Cycle"},
    "department": {"nl": "Afdeling", "en": "Department"},
    "departments": {"nl": "Afdelingen", "en": "Departments"},
    "pages": {"nl": "Pagina's", "en": "Pages"},
    "no_data": {"nl": "nog geen gegevens", "en": "no data yet"},
    "not_available": {
        "nl": "nog niet beschikbaar: deze tabel is (nog) niet gebouwd of bevat niets voor deze organisatie "
        "en cyclus.",
        "en": "not yet available: this table has not been built (yet) or holds nothing for this organisation "
        "and cycle.",
    },
    "all_hidden": {
        "nl": "alle cellen zijn afgeschermd (te kleine groepen of iedereen dezelfde uitkomst).",
        "en": "every cell is hidden (groups too small, or everyone had the same outcome).",
    },
    "hidden_legend": {
        "nl": "afgeschermd: te weinig personen, iedereen dezelfde uitkomst, of terug te rekenen uit totalen",
        "en": "hidden: too few people, everyone the same outcome, or recomputable from totals",
    },
    "hidden_title": {"nl": "afgeschermd (kleine groep)", "en": "hidden (small group)"},
    "hidden_short": {"nl": "afgeschermd", "en": "hidden"},
    "source": {"nl": "Bron", "en": "Source"},
    "yes": {"nl": "ja", "en": "yes"},
    "no": {"nl": "nee", "en": "no"},
    "share": {"nl": "Aandeel", "en": "Share"},
    "people": {"nl": "Personen", "en": "People"},
    "units": {"nl": "Eenheden", "en": "Units"},
    "limit_95": {"nl": "95%-grens", "en": "95% limit"},
    "limit_998": {"nl": "99,8%-grens", "en": "99.8% limit"},
    "footer": {
        "nl": "calibra — vertrouwelijk, alleen voor intern gebruik. Alleen groepstotalen; kleine groepen "
        "afgeschermd.",
        "en": "calibra — confidential, internal use only. Group totals only; small groups hidden.",
    },
    "generated": {"nl": "Gemaakt uit", "en": "Built from"},
    # ---------------------------------------------------------------------------------------------- pages
    "page_calibration": {"nl": "Kalibratie", "en": "Calibration"},
    "page_norming": {"nl": "Normering", "en": "Norming"},
    "page_fairness": {"nl": "Eerlijkheid en loontransparantie", "en": "Fairness and pay transparency"},
    "page_budget": {"nl": "Budget en prognose", "en": "Budget and forecast"},
    "page_process": {"nl": "Proces en regels", "en": "Process and rules"},
    "page_data_quality": {"nl": "Datakwaliteit", "en": "Data quality"},
    "page_intro_calibration": {
        "nl": "Kalibratiepakket per afdeling voor de kalibratievergadering: de verdeling van de beoordelingen "
        "tegenover de organisatie en de richtlijn, per functieniveau, de beoordelaars en de werklijst.",
        "en": "Calibration pack per department for the calibration meeting: the distribution of ratings "
        "against the organisation and the guideline, by function level, the evaluators and the worklist.",
    },
    "page_intro_norming": {
        "nl": "Voor het managementteam: lopen de afdelingen en leidinggevenden gelijk in hun beoordelingen, "
        "en verschuift de verdeling over de cycli?",
        "en": "For the management team: do departments and managers rate alike, and does the distribution "
        "shift over the cycles?",
    },
    "page_intro_fairness": {
        "nl": "Verschillen tussen groepen, over de hele organisatie én binnen functieniveau naast elkaar: een "
        "verschil kan binnen de niveaus verdwijnen of omkeren. Daaronder de loontransparantie volgens "
        "artikel 9 en 10 van richtlijn (EU) 2023/970.",
        "en": "Differences between groups, organisation-wide and within function level side by side: a gap "
        "can vanish or reverse within levels. Below, pay transparency under Articles 9 and 10 of Directive "
        "(EU) 2023/970.",
    },
    "page_intro_budget": {
        "nl": "Uitgaven aan beloningen tegenover het budget, structureel en incidenteel, en de prognose per "
        "scenario.",
        "en": "Spending on rewards against the budget, structural and incidental, and the forecast per "
        "scenario.",
    },
    "page_intro_process": {
        "nl": "Termijnen, handtekeningen, beroep en de bevindingen van de regels per afdeling. Een bevinding is "
        "geldige data die een proces- of beleidsprobleem toont.",
        "en": "Deadlines, signatures, appeals and the rule findings per department. A finding is valid data "
        "that shows a process or policy problem.",
    },
    "page_intro_data_quality": {
        "nl": "Wat er is ingelezen, wat in quarantaine ging en welke contractcontroles faalden.",
        "en": "What was read, what went to quarantine and which contract checks failed.",
    },
    # ---------------------------------------------------------------------------------------------- calibration
    "measure_rating": {"nl": "Beoordeling", "en": "Rating"},
    "measure_salary_decision": {"nl": "Salarisbeslissing (trap)", "en": "Salary decision (step)"},
    "guideline": {"nl": "Richtlijn", "en": "Guideline"},
    "protected": {"nl": "beschermd", "en": "protected"},
    "pack_title": {"nl": "Kalibratiepakket", "en": "Calibration pack"},
    "pack_intro": {
        "nl": "Voor de kalibratievergadering: hoe de beoordelingen van deze afdeling zich verhouden tot de "
        "organisatie en de richtlijn, per functieniveau en per beoordelaar, en welke dossiers besproken moeten "
        "worden. Afgedrukt past elk onderdeel op A4.",
        "en": "For the calibration meeting: how this department's ratings compare with the organisation and the "
        "guideline, by function level and by evaluator, and which cases to discuss. Each part prints on A4.",
    },
    "all_departments": {"nl": "Alle afdelingen", "en": "All departments"},
    "chart_distribution_title": {"nl": "Verdeling {measure}", "en": "Distribution {measure}"},
    "chart_distribution_explain": {
        "nl": "Welk deel van de mensen van deze afdeling elke uitkomst kreeg, naast de hele organisatie en de "
        "richtlijn: hogere staven dan de organisatie betekenen dat deze uitkomst hier vaker voorkomt.",
        "en": "The share of this department's people who got each outcome, next to the whole organisation and the "
        "guideline: bars above the organisation's mean this outcome is more common here.",
    },
    "chart_org_distribution_explain": {
        "nl": "Welk deel van alle mensen van de organisatie elke uitkomst kreeg, naast de richtlijn van de "
        "organisatie (als die er is).",
        "en": "The share of all the organisation's people who got each outcome, next to the organisation's "
        "guideline (where it has one).",
    },
    "department_counts_note": {
        "nl": "Het totaal van deze afdeling is afgeschermd (bijvoorbeeld omdat anders een klein aantal mensen "
        "zonder beoordeling terug te rekenen is), dus de grafiek toont geen aandelen. Aantal mensen per "
        "uitkomst: {counts} (· = afgeschermd).",
        "en": "This department's total is hidden (for instance because it would give away a small number of "
        "people without a rating), so the chart shows no shares. People per outcome: {counts} (· = hidden).",
    },
    "department_hidden_note": {
        "nl": "De verdeling van deze afdeling is afgeschermd: te kleine groepen, iedereen dezelfde uitkomst, of "
        "terug te rekenen uit de totalen.",
        "en": "This department's distribution is hidden: groups too small, everyone the same outcome, or "
        "recomputable from the totals.",
    },
    "axis_rating": {"nl": "Uitkomst", "en": "Outcome"},
    "axis_share_people": {"nl": "Aandeel van de mensen", "en": "Share of people"},
    "axis_function_level": {"nl": "Functieniveau", "en": "Function level"},
    "chart_levels_title": {"nl": "Verdeling per functieniveau", "en": "Distribution by function level"},
    "chart_levels_explain": {
        "nl": "De mix van uitkomsten binnen elk functieniveau van deze afdeling: zo zie je of hoge of lage "
        "beoordelingen zich in bepaalde niveaus ophopen.",
        "en": "The mix of outcomes within each function level of this department: it shows whether high or low "
        "ratings pile up in certain levels.",
    },
    "levels_hidden_count": {
        "nl": plural(
            "{count} functieniveau niet getoond: te klein, iedereen dezelfde uitkomst of terug te rekenen.",
            "{count} functieniveaus niet getoond: te klein, iedereen dezelfde uitkomst of terug te rekenen.",
        ),
        "en": plural(
            "{count} function level not shown: too small, everyone the same outcome, or recomputable.",
            "{count} function levels not shown: too small, everyone the same outcome, or recomputable.",
        ),
    },
    "chart_evaluators_title": {
        "nl": "Beoordelaars: mildheid en strengheid",
        "en": "Evaluators: leniency and severity",
    },
    "chart_evaluators_explain": {
        "nl": "Per beoordelaar (gepseudonimiseerd) het geschatte effect op de score ten opzichte van collega's "
        "met vergelijkbare mensen (zelfde afdeling en functieniveau), met 95%-interval. Een interval dat nul "
        "niet raakt, wijst op een mildere (rechts) of strengere (links) beoordelaar; rood is gesignaleerd.",
        "en": "Per evaluator (pseudonymised) the estimated effect on the score compared with colleagues rating "
        "similar people (same department and function level), with a 95% interval. An interval clear of zero "
        "points to a more lenient (right) or more severe (left) evaluator; red is flagged.",
    },
    "evaluators_hidden_note": {
        "nl": plural(
            "{count} beoordelaar niet getoond: te weinig mensen of iedereen dezelfde uitkomst.",
            "{count} beoordelaars niet getoond: te weinig mensen of iedereen dezelfde uitkomst.",
        ),
        "en": plural(
            "{count} evaluator not shown: too few people or everyone the same outcome.",
            "{count} evaluators not shown: too few people or everyone the same outcome.",
        ),
    },
    "axis_evaluator_effect": {
        "nl": "Effect op de score (schaalpunten)",
        "en": "Effect on the score (scale points)",
    },
    "axis_evaluator": {"nl": "Beoordelaar (pseudoniem)", "en": "Evaluator (pseudonym)"},
    "worklist_title": {"nl": "Werklijst voor de vergadering", "en": "Worklist for the meeting"},
    "worklist_confidential": {
        "nl": "VERTROUWELIJK — individuele dossiers met gepseudonimiseerde nummers. Niet verspreiden; alleen voor "
        "de deelnemers aan de kalibratievergadering.",
        "en": "CONFIDENTIAL — individual cases with pseudonymised numbers. Do not distribute; for the "
        "participants of the calibration meeting only.",
    },
    "worklist_left_out": {
        "nl": "De werklijst is bij het bouwen van deze site weggelaten.",
        "en": "The worklist was left out when this site was built.",
    },
    "worklist_empty": {"nl": "Geen dossiers voor deze afdeling.", "en": "No cases for this department."},
    "worklist_truncated": {
        "nl": "De eerste {shown} van {total} dossiers, op reden en functieniveau; de volledige lijst staat in de "
        "vertrouwelijke tabel marts.calibration_worklist.",
        "en": "The first {shown} of {total} cases, by reason and function level; the full list is in the "
        "confidential table marts.calibration_worklist.",
    },
    "worklist_explain": {
        "nl": "Dossiers die de vergadering zou moeten bespreken, met de reden. Nummers zijn pseudoniemen, geen "
        "personeelsnummers.",
        "en": "Cases the meeting should discuss, with the reason. Numbers are pseudonyms, not employee numbers.",
    },
    "worklist_headers": {
        "nl": {
            "employee_id": "Medewerker (pseudoniem)",
            "evaluator_id": "Beoordelaar (pseudoniem)",
            "function_level": "Niveau",
            "measure": "Maat",
            "rating": "Uitkomst",
            "previous_rating": "Vorige cyclus",
            "reason": "Reden",
        },
        "en": {
            "employee_id": "Employee (pseudonym)",
            "evaluator_id": "Evaluator (pseudonym)",
            "function_level": "Level",
            "measure": "Measure",
            "rating": "Outcome",
            "previous_rating": "Previous cycle",
            "reason": "Reason",
        },
    },
    "unit_summary_hidden": {
        "nl": "Geen vergelijking met de norm: de verdeling van deze afdeling is afgeschermd.",
        "en": "No comparison with the norm: this department's distribution is hidden.",
    },
    "unit_summary_flag": {
        "nl": "Gesignaleerd: na correctie voor functieniveau ligt het gemiddelde ({mean}) {direction} dan de "
        "organisatie ({org}), meer dan toeval verklaart (n = {n}).",
        "en": "Flagged: after adjusting for function level the mean ({mean}) is {direction} than the "
        "organisation's ({org}), more than chance explains (n = {n}).",
    },
    "unit_summary_flag_hidden": {
        "nl": "Gesignaleerd: deze afdeling {direction}, meer dan toeval verklaart (na correctie voor "
        "functieniveau); de cijfers zelf zijn afgeschermd.",
        "en": "Flagged: this department {direction}, more than chance explains (after adjusting for function "
        "level); the figures themselves are hidden.",
    },
    "unit_summary_ok": {
        "nl": "Na correctie voor functieniveau is het gemiddelde {mean} tegenover {org} in de organisatie: "
        "binnen wat toeval verklaart of een klein verschil (n = {n}).",
        "en": "After adjusting for function level the mean is {mean} against {org} in the organisation: within "
        "chance or a small difference (n = {n}).",
    },
    "higher": {"nl": "hoger", "en": "higher"},
    "lower": {"nl": "lager", "en": "lower"},
    # ---------------------------------------------------------------------------------------------- norming
    "chart_heatmap_title": {"nl": "Afdeling × uitkomst", "en": "Department × outcome"},
    "people_count_cell": {"nl": "{n} pers.", "en": "{n} ppl"},
    "heatmap_counts_note": {
        "nl": "Bij {departments} is het totaal afgeschermd (bijvoorbeeld omdat anders een klein aantal mensen "
        "zonder beoordeling terug te rekenen is), dus daar staat het aantal mensen per uitkomst in plaats van "
        "het aandeel.",
        "en": "For {departments} the total is hidden (for instance because it would give away a small number "
        "of people without a rating), so there the cells show the number of people per outcome instead of "
        "the share.",
    },
    "chart_heatmap_explain": {
        "nl": "Elke rij is een afdeling, elke kolom een uitkomst; hoe donkerder, hoe groter het aandeel van de "
        "mensen van die afdeling. Zo zie je in één oogopslag welke afdelingen anders beoordelen.",
        "en": "Each row is a department, each column an outcome; the darker, the larger the share of that "
        "department's people. It shows at a glance which departments rate differently.",
    },
    "chart_funnel_title": {"nl": "Trechterplot van de afdelingen", "en": "Funnel plot of the departments"},
    "chart_funnel_explain": {
        "nl": "Elke stip is een afdeling: de gemiddelde score na correctie voor functieniveau tegenover het "
        "aantal mensen. Kleine afdelingen schommelen meer; alleen stippen buiten de stippellijnen wijken meer af "
        "dan toeval verklaart. Rood is gesignaleerd (ook praktisch groot verschil).",
        "en": "Each dot is a department: the mean score after adjusting for function level against its number "
        "of people. Small departments vary more; only dots outside the dotted lines differ more than chance "
        "explains. Red is flagged (a practically large difference as well).",
    },
    "units_hidden_note": {
        "nl": plural(
            "{count} eenheid niet getoond: haar verdeling is afgeschermd.",
            "{count} eenheden niet getoond: hun verdeling is afgeschermd.",
        ),
        "en": plural(
            "{count} unit not shown: its distribution is hidden.",
            "{count} units not shown: their distribution is hidden.",
        ),
    },
    "axis_people": {"nl": "Aantal mensen", "en": "Number of people"},
    "axis_adjusted_mean": {"nl": "Gemiddelde score (gecorrigeerd)", "en": "Mean score (adjusted)"},
    "flagged_units": {
        "nl": "Gesignaleerde afdelingen (significant én praktisch groot verschil na correctie voor "
        "functieniveau), ook waar hun cijfers zijn afgeschermd:",
        "en": "Flagged departments (significant and practically large difference after adjusting for function "
        "level), also where their numbers are hidden:",
    },
    "no_flagged_units": {
        "nl": "Geen afdeling wijkt meer af dan toeval verklaart (na correctie voor functieniveau).",
        "en": "No department differs more than chance explains (after adjusting for function level).",
    },
    "flag_higher": {"nl": "beoordeelt hoger dan de norm", "en": "rates higher than the norm"},
    "flag_lower": {"nl": "beoordeelt lager dan de norm", "en": "rates lower than the norm"},
    "chart_differentiation_title": {
        "nl": "Differentiatie per leidinggevende",
        "en": "Differentiation per manager",
    },
    "chart_differentiation_explain": {
        "nl": "Hoe sterk elke leidinggevende (gepseudonimiseerd) zijn of haar beoordelingen spreidt over de "
        "schaal: 0 = iedereen dezelfde uitkomst, 1 = volledig gespreid. De lijn is de organisatie. Differentiatie "
        "is het uitgangspunt (Z-8).",
        "en": "How widely each manager (pseudonymised) spreads ratings over the scale: 0 = everyone the same "
        "outcome, 1 = fully spread. The line is the organisation. Differentiation is the principle (Z-8).",
    },
    "managers_hidden_note": {
        "nl": plural(
            "{count} leidinggevende niet getoond: te weinig mensen of iedereen dezelfde uitkomst.",
            "{count} leidinggevenden niet getoond: te weinig mensen of iedereen dezelfde uitkomst.",
        ),
        "en": plural(
            "{count} manager not shown: too few people or everyone the same outcome.",
            "{count} managers not shown: too few people or everyone the same outcome.",
        ),
    },
    "managers_cut_note": {
        "nl": "De {shown} leidinggevenden met de minste differentiatie van {total}; de andere staan in de "
        "volledige tabel voor analisten.",
        "en": "The {shown} managers with the least differentiation of {total}; the others are in the full "
        "table for analysts.",
    },
    "axis_differentiation": {"nl": "Differentiatie-index (0–1)", "en": "Differentiation index (0–1)"},
    "axis_manager": {"nl": "Leidinggevende (pseudoniem)", "en": "Manager (pseudonym)"},
    "chart_drift_title": {"nl": "Verschuiving over de cycli", "en": "Drift over the cycles"},
    "chart_drift_explain": {
        "nl": "Het aandeel van elke uitkomst in de hele organisatie per cyclus: stijgende lijnen bij de hoogste "
        "uitkomsten wijzen op inflatie van de beoordelingen.",
        "en": "The share of each outcome in the whole organisation per cycle: rising lines for the top outcomes "
        "point to rating inflation.",
    },
    "one_cycle_only": {
        "nl": "nog niet beschikbaar: er is maar één cyclus.",
        "en": "not yet available: there is only one cycle.",
    },
    "chart_drift_departments_title": {
        "nl": "Verandering van de gemiddelde score {start} → {end}",
        "en": "Change in the mean score {start} → {end}",
    },
    "chart_drift_departments_explain": {
        "nl": "Hoeveel de gemiddelde score van elke afdeling veranderde sinds de vorige cyclus, met 95%-interval; "
        "rood is een duidelijke stijging of daling.",
        "en": "How much each department's mean score changed since the previous cycle, with a 95% interval; red "
        "is a clear rise or fall.",
    },
    "axis_drift": {"nl": "Verandering (schaalpunten)", "en": "Change (scale points)"},
    "chart_transitions_title": {"nl": "Van vorige naar deze cyclus", "en": "From the previous to this cycle"},
    "chart_transitions_explain": {
        "nl": "Van de mensen die beide cycli werden beoordeeld: waar kwamen ze terecht? Elke rij is de uitkomst "
        "in de vorige cyclus en telt op tot 100%.",
        "en": "Of the people rated in both cycles: where did they end up? Each row is the outcome in the "
        "previous cycle and adds up to 100%.",
    },
    "axis_to_rating": {"nl": "Uitkomst {cycle}", "en": "Outcome {cycle}"},
    "axis_from_rating": {"nl": "Uitkomst {cycle}", "en": "Outcome {cycle}"},
    # ---------------------------------------------------------------------------------------------- calibration impact
    "impact_title": {"nl": "Kalibratie-impact", "en": "Calibration impact"},
    "impact_intro": {
        "nl": "Wat deed de kalibratievergadering met de voorstellen van de beoordelaars? Hoeveel beoordelingen "
        "gingen omhoog of omlaag per afdeling, hoe zag de verdeling eruit vóór en na, wie werd vaker omlaag of "
        "omhoog gezet, en werden de verschillen kleiner (eerlijker) of alleen groter?",
        "en": "What did the calibration meeting do to the evaluators' proposals? How many ratings went up or "
        "down per department, what the distribution looked like before and after, who was moved down or up "
        "more often, and whether the differences became smaller (fairer) or just larger?",
    },
    "impact_no_proposals": {
        "nl": "Geen kalibratie-impact: de exports van deze organisatie en cyclus bevatten geen voorgestelde "
        "beoordeling (het voorstel van de beoordelaar vóór de kalibratie), alleen de definitieve. Wat de "
        "vergadering veranderde, is daarom niet te tonen.",
        "en": "No calibration impact: the exports of this organisation and cycle carry no proposed rating (the "
        "evaluator's proposal before calibration), only the final one. What the meeting changed therefore "
        "cannot be shown.",
    },
    "impact_summary": {
        "nl": "De kalibratie veranderde {moved} van de {n} voorstellen ({share}): {down} omlaag en {up} omhoog.",
        "en": "Calibration changed {moved} of the {n} proposals ({share}): {down} down and {up} up.",
    },
    "move_labels": {
        "nl": {"down": "Omlaag", "unchanged": "Ongewijzigd", "up": "Omhoog"},
        "en": {"down": "Moved down", "unchanged": "Unchanged", "up": "Moved up"},
    },
    "stage_labels": {
        "nl": {"proposed": "Voorstel", "final": "Na kalibratie"},
        "en": {"proposed": "Proposal", "final": "After calibration"},
    },
    "chart_impact_departments_title": {
        "nl": "Voorstellen omlaag, omhoog of ongewijzigd per afdeling",
        "en": "Proposals moved down, up or unchanged per department",
    },
    "chart_impact_departments_explain": {
        "nl": "Per afdeling, en onderaan de hele organisatie, welk deel van de voorstellen de kalibratie omlaag "
        "zette, omhoog zette of liet staan. Veel 'omlaag' betekent dat de beoordelaars ruimer voorstelden dan de "
        "vergadering aanvaardde. Grijs met · is afgeschermd.",
        "en": "Per department, and the whole organisation at the bottom, which share of the proposals "
        "calibration moved down, moved up or left as it was. Much 'moved down' means the evaluators proposed "
        "more generously than the meeting accepted. Grey with · is hidden.",
    },
    "axis_share_proposals": {"nl": "Aandeel van de voorstellen", "en": "Share of the proposals"},
    "chart_impact_before_after_title": {
        "nl": "Verdeling vóór en na de kalibratie",
        "en": "Distribution before and after calibration",
    },
    "chart_impact_before_after_explain": {
        "nl": "Het aandeel van elke beoordeling in de voorstellen van de beoordelaars en na de "
        "kalibratievergadering, voor de hele organisatie: zo zie je welke beoordelingen de vergadering schaarser "
        "of ruimer maakte.",
        "en": "The share of each rating in the evaluators' proposals and after the calibration meeting, for the "
        "whole organisation: it shows which ratings the meeting made scarcer or more common.",
    },
    "chart_impact_groups_title": {
        "nl": "Wie werd vaker omlaag of omhoog gezet?",
        "en": "Who was moved down or up more often?",
    },
    "chart_impact_groups_explain": {
        "nl": "Per groep het aandeel van de voorstellen dat de kalibratie omlaag en omhoog zette, met "
        "95%-interval; de stippellijnen zijn de hele organisatie. Een rood omrande stip is gesignaleerd "
        "(significant én praktisch groot verschil met de referentiegroep). Overlappende intervallen wijzen niet "
        "op een duidelijk verschil. · is afgeschermd.",
        "en": "Per group the share of the proposals calibration moved down and up, with a 95% interval; the "
        "dotted lines are the whole organisation. A dot outlined in red is flagged (significant and a "
        "practically large difference from the reference group). Overlapping intervals point to no clear "
        "difference. · is hidden.",
    },
    "axis_moved_share": {"nl": "Aandeel verplaatst", "en": "Share moved"},
    "axis_attribute_group": {"nl": "Kenmerk en groep", "en": "Attribute and group"},
    "reference_mark": {"nl": "(referentie)", "en": "(reference)"},
    "impact_groups_hidden_note": {
        "nl": plural(
            "{count} groep niet getoond, want afgeschermd (te weinig mensen, iedereen dezelfde uitkomst, of "
            "terug te rekenen uit totalen): {groups}. Een groep wordt alleen vergeleken als zij en haar "
            "referentiegroep allebei getoond worden.",
            "{count} groepen niet getoond, want afgeschermd (te weinig mensen, iedereen dezelfde uitkomst, of "
            "terug te rekenen uit totalen): {groups}. Een groep wordt alleen vergeleken als zij en haar "
            "referentiegroep allebei getoond worden.",
        ),
        "en": plural(
            "{count} group not shown because it is hidden (too few people, everyone the same outcome, or "
            "recomputable from totals): {groups}. A group is compared only where it and its reference group "
            "are both shown.",
            "{count} groups not shown because they are hidden (too few people, everyone the same outcome, or "
            "recomputable from totals): {groups}. A group is compared only where it and its reference group "
            "are both shown.",
        ),
    },
    "impact_findings": {"nl": "Gesignaleerd:", "en": "Flagged:"},
    "impact_no_findings": {
        "nl": "Geen groep werd vaker omlaag of omhoog gezet dan toeval verklaart (voor zover de cijfers getoond "
        "worden).",
        "en": "No group was moved down or up more often than chance explains (as far as the figures are shown).",
    },
    "impact_spread_title": {
        "nl": "Eerlijker of alleen luider? Werden de verschillen kleiner of groter?",
        "en": "Fairer, or just louder? Did the differences narrow or widen?",
    },
    "impact_spread_explain": {
        "nl": "Kalibratie hoort verschillen die niet aan de prestaties liggen kleiner te maken: tussen "
        "afdelingen, functieniveaus en beoordelaars (spreiding van de gemiddelde scores) en tussen groepen "
        "(verschil in gemiddelde score met de referentiegroep). Per vergelijking het oordeel, op basis van het "
        "95%-interval van de verandering.",
        "en": "Calibration should make differences that are not about performance smaller: between departments, "
        "function levels and evaluators (spread of the mean scores) and between groups (gap in mean score with "
        "the reference group). Per comparison the verdict, based on the 95% interval of the change.",
    },
    "impact_spread_none": {
        "nl": "Geen vergelijking te tonen: te weinig eenheden of groepen met genoeg mensen.",
        "en": "No comparison to show: too few units or groups with enough people.",
    },
    "impact_spread_no_clear": {
        "nl": "De kalibratie maakte geen enkel verschil duidelijk kleiner of groter.",
        "en": "Calibration clearly narrowed or widened none of the differences.",
    },
    "impact_spread_unclear": {
        "nl": plural(
            "{count} vergelijking zonder duidelijke verandering",
            "{count} vergelijkingen zonder duidelijke verandering",
        ),
        "en": plural(
            "{count} comparison without a clear change", "{count} comparisons without a clear change"
        ),
    },
    "spread_units": {
        "nl": {"department": "Afdelingen", "function_level": "Functieniveaus", "evaluator": "Beoordelaars"},
        "en": {"department": "Departments", "function_level": "Function levels", "evaluator": "Evaluators"},
    },
    # ---------------------------------------------------------------------------------------------- fairness
    "attribute_labels": {
        "nl": {
            "gender": "Gender",
            "function_level": "Functieniveau",
            "age_band": "Leeftijdsgroep",
            "employment_type": "Soort aanstelling",
            "part_time": "Deeltijd",
        },
        "en": {
            "gender": "Gender",
            "function_level": "Function level",
            "age_band": "Age band",
            "employment_type": "Employment type",
            "part_time": "Part-time",
        },
    },
    "gender_labels": {
        "nl": {"F": "vrouwen", "M": "mannen", "X": "X"},
        "en": {"F": "women", "M": "men", "X": "X"},
    },
    "part_time_labels": {
        "nl": {"full_time": "voltijd", "part_time": "deeltijd"},
        "en": {"full_time": "full-time", "part_time": "part-time"},
    },
    "everyone": {"nl": "iedereen", "en": "everyone"},
    "versus": {"nl": "t.o.v.", "en": "vs"},
    "flagged": {"nl": "gesignaleerd", "en": "flagged"},
    "chart_fair_compare_title": {
        "nl": "Verschillen naar {attribute}: hele organisatie en binnen niveau",
        "en": "Differences by {attribute}: organisation-wide and within level",
    },
    "chart_fair_compare_explain": {
        "nl": "De odds ratio van elke groep tegenover de referentiegroep, over de hele organisatie en binnen "
        "functieniveau en afdeling (Cochran–Mantel–Haenszel, met 95%-interval). 1 = geen verschil; rechts = "
        "vaker deze uitkomst. Ligt de stip binnen niveau elders dan die voor de hele organisatie, dan verklaart "
        "de samenstelling naar niveau (een deel van) het verschil.",
        "en": "Each group's odds ratio against the reference group, organisation-wide and within function level "
        "and department (Cochran–Mantel–Haenszel, with 95% interval). 1 = no difference; right = this outcome "
        "more often. When the within-level dot sits elsewhere than the organisation-wide one, the mix of levels "
        "explains (part of) the gap.",
    },
    "scope_overall": {"nl": "Hele organisatie", "en": "Organisation-wide"},
    "scope_within_level": {"nl": "Binnen functieniveau", "en": "Within function level"},
    "scope_within_department": {"nl": "Binnen afdeling", "en": "Within department"},
    "axis_odds_ratio": {"nl": "Odds ratio (logaritmische schaal)", "en": "Odds ratio (log scale)"},
    "axis_outcome_group": {"nl": "Uitkomst en groep", "en": "Outcome and group"},
    "axis_rate": {"nl": "Aandeel met deze uitkomst", "en": "Share with this outcome"},
    "fair_table_title": {"nl": "Aandelen naar {attribute}", "en": "Rates by {attribute}"},
    "fair_table_explain": {
        "nl": "Per uitkomst en groep: hoeveel mensen, welk deel de uitkomst kreeg, de odds ratio over de hele "
        "organisatie en binnen functieniveau, en de q-waarde (gecorrigeerd voor meervoudig toetsen). "
        "'Keert om' betekent dat het verschil binnen de niveaus de andere kant op wijst.",
        "en": "Per outcome and group: how many people, which share got the outcome, the odds ratio "
        "organisation-wide and within function level, and the q-value (corrected for multiple testing). "
        "'Reverses' means the gap points the other way within levels.",
    },
    "fair_headers": {
        "nl": {
            "outcome": "Uitkomst",
            "group": "Groep",
            "n": "n",
            "rate": "Aandeel",
            "odds_ratio": "OR organisatie",
            "within_level": "OR binnen niveau",
            "q": "q binnen niveau",
            "reverses": "Keert om",
            "flag": "Signaal",
        },
        "en": {
            "outcome": "Outcome",
            "group": "Group",
            "n": "n",
            "rate": "Rate",
            "odds_ratio": "OR organisation",
            "within_level": "OR within level",
            "q": "q within level",
            "reverses": "Reverses",
            "flag": "Flag",
        },
    },
    "chart_fair_levels_title": {"nl": "Uitkomsten per functieniveau", "en": "Outcomes per function level"},
    "chart_fair_levels_explain": {
        "nl": "Per functieniveau welk deel van de mensen elke uitkomst kreeg. Beloningen horen zich niet op te "
        "hopen in de hogere functies (Z-16): staven die naar rechts toe stijgen wijzen daarop.",
        "en": "Per function level which share of the people got each outcome. Rewards should not pile up in the "
        "higher functions (Z-16): bars rising to the right point to that.",
    },
    "chart_fair_strata_title": {
        "nl": "Binnen elk functieniveau: {outcome}",
        "en": "Within each function level: {outcome}",
    },
    "chart_fair_strata_explain": {
        "nl": "Het aandeel vrouwen en mannen met deze uitkomst binnen elk functieniveau, naast elkaar: zo zie je "
        "of een verschil over de hele organisatie ook binnen de niveaus bestaat.",
        "en": "The share of women and men with this outcome within each function level, side by side: it shows "
        "whether an organisation-wide gap also exists within levels.",
    },
    "art9_title": {"nl": "Loontransparantie (artikel 9)", "en": "Pay transparency (Article 9)"},
    "art9_intro": {
        "nl": "De rapportage-items van artikel 9 van richtlijn (EU) 2023/970: loonkloof tussen vrouwen en mannen "
        "in gemiddelde en mediaan, variabele beloning, kwartielen en per categorie (functieniveau). "
        "Kloof = (mannen − vrouwen) / mannen. Bedragen op jaarbasis.",
        "en": "The reporting items of Article 9 of Directive (EU) 2023/970: the gender pay gap in mean and "
        "median, variable pay, quartile bands and per category (function level). Gap = (men − women) / men. "
        "Annual amounts.",
    },
    "art9_items": {
        "nl": {
            "a": "Gemiddelde loonkloof (totaal)",
            "b": "Gemiddelde kloof variabele beloning",
            "c": "Mediane loonkloof (totaal)",
            "d": "Mediane kloof variabele beloning",
            "e": "Aandeel met variabele beloning",
        },
        "en": {
            "a": "Mean pay gap (total)",
            "b": "Mean gap in variable pay",
            "c": "Median pay gap (total)",
            "d": "Median gap in variable pay",
            "e": "Share receiving variable pay",
        },
    },
    "art9_band": {"nl": "Aandeel in kwartiel {band}", "en": "Share in quartile band {band}"},
    "art9_headers": {
        "nl": {
            "item": "Artikel",
            "what": "Item",
            "n_women": "n vrouwen",
            "women": "Vrouwen",
            "n_men": "n mannen",
            "men": "Mannen",
            "gap": "Kloof",
        },
        "en": {
            "item": "Article",
            "what": "Item",
            "n_women": "n women",
            "women": "Women",
            "n_men": "n men",
            "men": "Men",
            "gap": "Gap",
        },
    },
    "art9_table_title": {"nl": "Artikel 9: de organisatie", "en": "Article 9: the organisation"},
    "art9_table_explain": {
        "nl": "Bedragen alleen waar minstens 10 vrouwen en 10 mannen bijdragen en niemand meer dan 30% van het "
        "bedrag uitmaakt.",
        "en": "Amounts only where at least 10 women and 10 men contribute and no one makes up more than 30% of "
        "the amount.",
    },
    "chart_art9_levels_title": {
        "nl": "Loonkloof per functieniveau (gemiddelde, totaal)",
        "en": "Pay gap per function level (mean, total)",
    },
    "chart_art9_levels_explain": {
        "nl": "Per functieniveau hoeveel minder vrouwen gemiddeld verdienen dan mannen (negatief: meer). Rood "
        "betekent een kloof boven de drempel van artikel 10.",
        "en": "Per function level how much less women earn on average than men (negative: more). Red means a gap "
        "above the Article 10 threshold.",
    },
    "levels_hidden_note": {
        "nl": plural(
            "{count} niveau niet getoond: te weinig vrouwen of mannen voor een bedrag.",
            "{count} niveaus niet getoond: te weinig vrouwen of mannen voor een bedrag.",
        ),
        "en": plural(
            "{count} level not shown: too few women or men for an amount.",
            "{count} levels not shown: too few women or men for an amount.",
        ),
    },
    "axis_gap": {"nl": "Loonkloof", "en": "Pay gap"},
    "gap": {"nl": "kloof", "en": "gap"},
    "art10_title": {
        "nl": "Gezamenlijke loonevaluatie (artikel 10)",
        "en": "Joint pay assessment (Article 10)",
    },
    "art10_flagged": {
        "nl": "In deze categorieën is de gemiddelde loonkloof minstens de drempel van artikel 10: als die niet "
        "objectief te rechtvaardigen is, volgt een gezamenlijke loonevaluatie.",
        "en": "In these categories the mean pay gap is at least the Article 10 threshold: unless objectively "
        "justified, a joint pay assessment follows.",
    },
    "art10_none": {
        "nl": "Geen getoonde categorie heeft een kloof boven de drempel van artikel 10.",
        "en": "No category shown has a gap above the Article 10 threshold.",
    },
    "art10_hidden": {
        "nl": "{count} categorie(ën) zijn te klein om hier te beoordelen; HR beoordeelt die in de database.",
        "en": "{count} categor(y/ies) are too small to assess here; HR assesses them in the database.",
    },
    # ---------------------------------------------------------------------------------------------- budget
    "budget_privacy": {
        "nl": "Bedragen per afdeling alleen waar minstens 10 mensen bijdragen; anders is het bedrag afgeschermd "
        "(ook als het uit de totalen terug te rekenen zou zijn).",
        "en": "Amounts per department only where at least 10 people contribute; otherwise the amount is hidden "
        "(also where it could be recomputed from the totals).",
    },
    "budget_spend": {"nl": "Uitgaven tegenover budget", "en": "Spend against budget"},
    "budget_forecast": {"nl": "Prognose", "en": "Forecast"},
    "organisation_total": {"nl": "Organisatie (totaal)", "en": "Organisation (total)"},
    "series_cost": {"nl": "Kosten", "en": "Cost"},
    "series_budget": {"nl": "Budget", "en": "Budget"},
    "series_structural": {"nl": "Structureel", "en": "Structural"},
    "series_incidental": {"nl": "Incidenteel", "en": "Incidental"},
    "axis_euro": {"nl": "Euro per jaar", "en": "Euro per year"},
    "axis_share_cost": {"nl": "Aandeel van de kosten", "en": "Share of the cost"},
    "axis_year": {"nl": "Jaar", "en": "Year"},
    "chart_structural_title": {
        "nl": "Structurele verhogingen: kosten tegenover budget",
        "en": "Structural raises: cost against budget",
    },
    "chart_structural_explain": {
        "nl": "Per afdeling wat de structurele verhogingen van deze cyclus op jaarbasis kosten (inclusief "
        "werkgeverslasten) naast het structurele budget; een kostenstaaf boven het budget is een overschrijding.",
        "en": "Per department what this cycle's structural raises cost per year (including employer on-costs) "
        "next to the structural budget; a cost bar above the budget is an overrun.",
    },
    "chart_incidental_title": {
        "nl": "Incidentele beloningen: kosten tegenover budget",
        "en": "Incidental rewards: cost against budget",
    },
    "chart_incidental_explain": {
        "nl": "Per afdeling wat de incidentele beloningen van deze cyclus kosten naast het budget (een aandeel "
        "van de loonsom); afgeschermd waar minder dan 10 mensen een beloning kregen.",
        "en": "Per department what this cycle's incidental rewards cost next to the budget (a share of the "
        "payroll); hidden where fewer than 10 people got a reward.",
    },
    "org_total_note": {
        "nl": "{label}: kosten {cost} tegenover budget {budget} ({share}).",
        "en": "{label}: cost {cost} against budget {budget} ({share}).",
    },
    "chart_mix_title": {"nl": "Structureel tegenover incidenteel", "en": "Structural versus incidental"},
    "chart_mix_explain": {
        "nl": "Welk deel van de beloningskosten van elke afdeling structureel is (blijvende verhogingen) en welk "
        "deel incidenteel (eenmalige beloningen).",
        "en": "Which part of each department's reward cost is structural (lasting raises) and which part "
        "incidental (one-off rewards).",
    },
    "chart_fan_title": {
        "nl": "Prognose van de totale kosten per scenario",
        "en": "Forecast of the total cost per scenario",
    },
    "chart_fan_explain": {
        "nl": "De verwachte totale beloningskosten per jaar voor elk scenario (lijn: mediaan), met de band waarin "
        "90% van de simulaties valt (5%–95%). Hoe breder de band, hoe onzekerder.",
        "en": "The expected total reward cost per year for each scenario (line: median), with the band holding "
        "90% of the simulations (5%–95%). The wider the band, the less certain.",
    },
    "scenario_labels": {
        "nl": {
            "last_cycle": "Zoals vorige cyclus",
            "norm": "Organisatienorm",
            "guideline": "Richtlijn",
            "custom": "Eigen scenario",
        },
        "en": {
            "last_cycle": "As last cycle",
            "norm": "Organisation norm",
            "guideline": "Guideline",
            "custom": "Custom scenario",
        },
    },
    "preset_title": {"nl": "Wat-als: scenario's voor {year}", "en": "What-if: scenarios for {year}"},
    "preset_explain": {
        "nl": "Elk scenario is een vooraf ingestelde verdeling van de beoordelingen (zoals vorige cyclus, de "
        "organisatienorm in elke afdeling, de richtlijn). De tabel zet de mediane kosten en de budgetbenutting "
        "naast elkaar.",
        "en": "Each scenario is a preset distribution of ratings (as last cycle, the organisation norm in every "
        "department, the guideline). The table puts the median cost and budget use side by side.",
    },
    "preset_headers": {
        "nl": {
            "scenario": "Scenario",
            "structural": "Structureel (mediaan)",
            "incidental": "Incidenteel (mediaan)",
            "total": "Totaal (mediaan)",
            "p5": "Totaal 5%",
            "p95": "Totaal 95%",
            "structural_use": "Benutting structureel",
            "incidental_use": "Benutting incidenteel",
        },
        "en": {
            "scenario": "Scenario",
            "structural": "Structural (median)",
            "incidental": "Incidental (median)",
            "total": "Total (median)",
            "p5": "Total 5%",
            "p95": "Total 95%",
            "structural_use": "Structural budget use",
            "incidental_use": "Incidental budget use",
        },
    },
    "whatif_section": {"nl": "Wat-als: verschuivingen in de beoordeling", "en": "What-if: moving ratings"},
    "whatif_title": {"nl": "Scenario {scenario}", "en": "Scenario {scenario}"},
    "whatif_explain": {
        "nl": "Wat het verschuiven van beoordelingen (uit het scenariobestand) doet met kosten en budgetbenutting, "
        "voor en na. Een afdeling staat er alleen met bedragen als er minstens 10 mensen bijdragen.",
        "en": "What moving ratings (from the scenario file) does to cost and budget use, before and after. A "
        "department shows amounts only where at least 10 people contribute.",
    },
    "whatif_headers": {
        "nl": {"scope": "Voor", "metric": "Maat", "before": "Voor", "after": "Na", "change": "Verschil"},
        "en": {"scope": "For", "metric": "Measure", "before": "Before", "after": "After", "change": "Change"},
    },
    "by_type_title": {"nl": "Incidentele beloningen per soort", "en": "Incidental rewards by type"},
    "by_type_explain": {
        "nl": "Aantal en kosten per soort beloning voor de hele organisatie.",
        "en": "Number and cost per type of reward for the whole organisation.",
    },
    "by_type_headers": {
        "nl": {"award_type": "Soort", "rule": "Regel", "awards": "Aantal", "cost": "Kosten"},
        "en": {"award_type": "Type", "rule": "Rule", "awards": "Number", "cost": "Cost"},
    },
    # ---------------------------------------------------------------------------------------------- process
    "process_steps": {"nl": "Termijnen en handtekeningen", "en": "Deadlines and signatures"},
    "process_appeals": {
        "nl": "Beroep, bezwaar en ontbrekende beoordelingen",
        "en": "Appeals, contests and missing ratings",
    },
    "process_findings": {"nl": "Bevindingen per regel", "en": "Findings per rule"},
    "axis_step": {"nl": "Stap", "en": "Step"},
    "axis_people_with_finding": {"nl": "Mensen met een bevinding", "en": "People with a finding"},
    "finding": {"nl": "Regel · controle", "en": "Rule · check"},
    "metric_labels": {
        "nl": {
            "planning_held": "Planningsgesprek gehouden",
            "self_evaluations_done": "Zelfevaluatie gedaan",
            "evaluations_in_window": "Gesprek binnen de termijn",
            "first_signatures_on_time": "1e handtekening op tijd",
            "second_signatures_on_time": "2e handtekening op tijd",
            "reports_delivered": "Verslag bezorgd",
            "reports_delivered_on_time": "Verslag op tijd bezorgd",
            "appeals_filed": "Beroep ingesteld",
            "appeals_upheld": "Beroep gegrond",
            "appeals_rejected": "Beroep ongegrond",
            "appeals_pending": "Beroep lopend",
            "contests_filed": "Trap 0 betwist",
            "ratings_missing": "Geen beoordeling",
            "no_rating_absence": "Geen beoordeling wegens afwezigheid",
        },
        "en": {
            "planning_held": "Planning conversation held",
            "self_evaluations_done": "Self-evaluation done",
            "evaluations_in_window": "Conversation within the window",
            "first_signatures_on_time": "1st signature on time",
            "second_signatures_on_time": "2nd signature on time",
            "reports_delivered": "Report delivered",
            "reports_delivered_on_time": "Report delivered on time",
            "appeals_filed": "Appeal filed",
            "appeals_upheld": "Appeal upheld",
            "appeals_rejected": "Appeal rejected",
            "appeals_pending": "Appeal pending",
            "contests_filed": "Step 0 contested",
            "ratings_missing": "No rating",
            "no_rating_absence": "No rating because of absence",
        },
    },
    "chart_steps_title": {"nl": "Hoe ver het proces kwam", "en": "How far the process got"},
    "chart_steps_explain": {
        "nl": "Welk deel van de beoordeelden elke stap van het proces (op tijd) doorliep, over de hele "
        "organisatie; een korte staaf is een stap die vaak te laat of niet gebeurde.",
        "en": "Which share of the people rated went through each step of the process (on time), "
        "organisation-wide; a short bar is a step that was often late or missing.",
    },
    "chart_appeals_title": {
        "nl": "Beroep, betwisting en ontbrekende beoordelingen",
        "en": "Appeals, contests and missing ratings",
    },
    "chart_appeals_explain": {
        "nl": "Welk deel van de beoordeelden in beroep ging, een trap 0 betwistte of geen beoordeling kreeg.",
        "en": "Which share of the people rated appealed, contested a step 0 or got no rating.",
    },
    "table_steps_title": {"nl": "Processtappen per afdeling", "en": "Process steps per department"},
    "table_steps_explain": {
        "nl": "Per afdeling het aandeel dat elke stap (op tijd) doorliep.",
        "en": "Per department the share that went through each step (on time).",
    },
    "table_appeals_title": {
        "nl": "Beroep en ontbrekende beoordelingen per afdeling",
        "en": "Appeals and missing ratings per department",
    },
    "table_appeals_explain": {
        "nl": "Per afdeling het aandeel met beroep, betwisting of zonder beoordeling.",
        "en": "Per department the share with an appeal, a contest or without a rating.",
    },
    "chart_findings_title": {"nl": "Bevindingen per regel", "en": "Findings per rule"},
    "chart_findings_explain": {
        "nl": "Hoeveel mensen per regel een bevinding hebben: geldige gegevens die op een proces- of "
        "beleidsprobleem wijzen (te late handtekening, verhoging die niet bij de beoordeling past, beloning "
        "zonder motivering). Rood is ernstig.",
        "en": "How many people per rule have a finding: valid data pointing to a process or policy problem (a "
        "late signature, a raise that does not match the rating, a reward without argumentation). Red is "
        "severe.",
    },
    "table_findings_title": {
        "nl": "Bevindingen per regel en afdeling",
        "en": "Findings per rule and department",
    },
    "table_findings_explain": {
        "nl": "Aantal mensen met een bevinding per regel en afdeling.",
        "en": "Number of people with a finding per rule and department.",
    },
    # ---------------------------------------------------------------------------------------------- quality
    "data_quality": {"nl": "Datakwaliteit", "en": "Data quality"},
    "ledger_title": {"nl": "Ingelezen bestanden", "en": "Files read"},
    "ledger_explain": {
        "nl": "Elk ingelezen bestand met het aantal gelezen, geladen, in quarantaine gezette en afgewezen rijen. "
        "Gelezen = geladen + quarantaine + afgewezen: er gaat geen rij verloren.",
        "en": "Every file read, with rows read, loaded, quarantined and rejected. "
        "Read = loaded + quarantined + rejected: no row is lost.",
    },
    "dq_section_files": {"nl": "Bestanden", "en": "Files"},
    "dq_section_quarantine": {"nl": "Quarantaine", "en": "Quarantine"},
    "dq_section_contracts": {"nl": "Datacontracten", "en": "Data contracts"},
    "no_quarantine": {
        "nl": "Geen rijen in quarantaine: elke gelezen rij van deze organisatie en cyclus is geladen (of met "
        "zijn hele bestand afgewezen, zie hierboven).",
        "en": "No rows in quarantine: every row read for this organisation and cycle was loaded (or rejected "
        "with its whole file, see above).",
    },
    "kind_labels": {
        "nl": {
            "evaluations": "beoordelingen",
            "awards": "beloningen",
            "payroll": "salarisadministratie",
            "salary_scales": "salarisschalen",
        },
        "en": {
            "evaluations": "evaluations",
            "awards": "awards",
            "payroll": "payroll",
            "salary_scales": "salary scales",
        },
    },
    "status_labels": {
        "nl": {
            "loaded": "geladen",
            "loaded_with_quarantine": "geladen, deels in quarantaine",
            "rejected": "afgewezen",
            "superseded": "vervangen door een nieuwere export",
        },
        "en": {
            "loaded": "loaded",
            "loaded_with_quarantine": "loaded, partly quarantined",
            "rejected": "rejected",
            "superseded": "superseded by a newer export",
        },
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
            "message": "Melding",
            "loaded_at": "Geladen op",
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
            "message": "Message",
            "loaded_at": "Loaded at",
        },
    },
    "quarantine_by_rule": {"nl": "Quarantaine per regel", "en": "Quarantine by rule"},
    "quarantine_explain": {
        "nl": "Rijen die niet zijn geladen omdat ze het datacontract schenden, per soort, kolom en regel.",
        "en": "Rows held back because they break the data contract, by kind, column and rule.",
    },
    "quarantine_chart_explain": {
        "nl": "Hoeveel rijen elke contractregel tegenhield; de langste balk is de regel die het vaakst faalt.",
        "en": "How many rows each contract rule held back; the longest bar is the rule that fails most.",
    },
    "quarantine_headers": {
        "nl": {"kind": "Soort", "column_name": "Kolom", "rule": "Regel", "rows": "Rijen"},
        "en": {"kind": "Kind", "column_name": "Column", "rule": "Rule", "rows": "Rows"},
    },
    "contract_title": {"nl": "Resultaten van de datacontracten", "en": "Data contract results"},
    "contract_explain": {
        "nl": "Per soort en verwachting: in hoeveel bestanden de controle slaagde of faalde en hoeveel rijen "
        "ze niet haalden.",
        "en": "Per kind and expectation: in how many files the check passed or failed, and how many rows "
        "missed it.",
    },
    "contract_headers": {
        "nl": {
            "kind": "Soort",
            "expectation": "Verwachting",
            "column_name": "Kolom",
            "rule": "Regel",
            "files": "Bestanden",
            "failed_files": "Gefaald",
            "unexpected": "Rijen fout",
        },
        "en": {
            "kind": "Kind",
            "expectation": "Expectation",
            "column_name": "Column",
            "rule": "Rule",
            "files": "Files",
            "failed_files": "Failed",
            "unexpected": "Rows wrong",
        },
    },
    "rows": {"nl": "Rijen", "en": "Rows"},
    "rule": {"nl": "Regel", "en": "Rule"},
    "source_ledger": {
        "nl": "audit.load_ledger",
        "en": "audit.load_ledger",
    },
    "all_organisations": {"nl": "Alle organisaties", "en": "All organisations"},
    # ---------------------------------------------------------------------------------- meeting-ready (#18)
    "download": {"nl": "Downloaden", "en": "Download"},
    "download_csv": {"nl": "CSV (Excel)", "en": "CSV"},
    "download_xlsx": {"nl": "Excel-werkboek (XLSX)", "en": "Excel workbook (XLSX)"},
    "download_sheet": {"nl": "Tabel", "en": "Table"},
    "download_about_sheet": {"nl": "Toelichting", "en": "About"},
    "download_hidden_note": {
        "nl": "Een cel met 'afgeschermd' is op de pagina verborgen (te weinig personen, iedereen dezelfde "
        "uitkomst, of terug te rekenen uit totalen); een lege cel is niet van toepassing.",
        "en": "A cell reading 'hidden' is hidden on the page too (too few people, everyone the same outcome, or "
        "recomputable from totals); an empty cell does not apply.",
    },
    "built_at": {"nl": "Gebouwd op {when}", "en": "Built on {when}"},
    "built_from_one": {"nl": "uit 1 exportbestand", "en": "from 1 export file"},
    "built_from_many": {"nl": "uit {count} exportbestanden", "en": "from {count} export files"},
    "built_from_none": {"nl": "zonder geladen exportbestanden", "en": "from no loaded export file"},
    "page_glossary": {"nl": "Begrippen", "en": "Glossary"},
    "glossary_intro": {
        "nl": "Wat de statistische begrippen op deze site betekenen, in gewone woorden. Elk begrip op een "
        "pagina linkt hierheen.",
        "en": "What the statistical terms on this site mean, in plain words. Every term on a page links here.",
    },
    "department_filter": {"nl": "Toon afdeling", "en": "Show department"},
    "department_filter_all": {"nl": "alle afdelingen", "en": "all departments"},
    "percentage_point": {"nl": "procentpunt", "en": "percentage point"},
    "percentage_points": {"nl": "procentpunten", "en": "percentage points"},
    "budget_amounts_title": {"nl": "Kosten en budget per afdeling", "en": "Cost and budget per department"},
    "budget_amounts_explain": {
        "nl": "De bedragen van de grafieken hierboven als tabel: structurele kosten (heel jaar) en incidentele "
        "kosten tegenover het budget, en welk deel van het budget dat is.",
        "en": "The amounts of the charts above as a table: structural cost (full year) and incidental cost "
        "against the budget, and which share of the budget that is.",
    },
    "budget_amounts_headers": {
        "nl": {
            "headcount": "Medewerkers",
            "structural_cost": "Structureel: kosten",
            "structural_budget": "Structureel: budget",
            "structural_use": "Structureel: benut",
            "incidental_cost": "Incidenteel: kosten",
            "incidental_budget": "Incidenteel: budget",
            "incidental_use": "Incidenteel: benut",
        },
        "en": {
            "headcount": "Employees",
            "structural_cost": "Structural: cost",
            "structural_budget": "Structural: budget",
            "structural_use": "Structural: used",
            "incidental_cost": "Incidental: cost",
            "incidental_budget": "Incidental: budget",
            "incidental_use": "Incidental: used",
        },
    },
    "contract_check_header": {"nl": "Controle", "en": "Check"},
    "contract_columns_header": {"nl": "Kolommen", "en": "Columns"},
    "contract_rule_labels": {
        "nl": {
            "required": "Verplicht veld is ingevuld",
            "allowed_values": "Waarde staat in de toegestane lijst",
            "range": "Waarde ligt binnen het toegestane bereik",
            "pattern": "Waarde heeft het verwachte formaat",
            "max_length": "Tekst is niet langer dan toegestaan",
            "duplicate_key": "Geen dubbele rijen (één rij per persoon)",
            "required_column": "Verplichte kolom is aanwezig",
            "mapping": "Kolommen zijn te koppelen",
            "encoding": "Tekencodering is leesbaar",
            "structure": "Bestand is leesbaar (kopregel, cellen)",
            "date_system": "Datums zijn te lezen",
            "one_organization_per_file": "Eén organisatie per bestand",
            "one_cycle_per_file": "Eén cyclus per bestand",
        },
        "en": {
            "required": "Required field is filled in",
            "allowed_values": "Value is in the allowed list",
            "range": "Value is within the allowed range",
            "pattern": "Value has the expected format",
            "max_length": "Text is not longer than allowed",
            "duplicate_key": "No duplicate rows (one row per person)",
            "required_column": "Required column is present",
            "mapping": "Columns can be mapped",
            "encoding": "Character encoding is readable",
            "structure": "File is readable (header, cells)",
            "date_system": "Dates can be read",
            "one_organization_per_file": "One organisation per file",
            "one_cycle_per_file": "One cycle per file",
        },
    },
}

# Glossary: key -> the names a page uses for the term (per language; matched case-insensitively as whole
# words) and a plain explanation. Pages link the first mention in a sentence to glossary.html#key.
GLOSSARY: dict[str, dict[str, Any]] = {
    "odds-ratio": {
        "term": {"nl": "Odds ratio", "en": "Odds ratio"},
        "names": {"nl": ["odds ratio", "odds ratio's", "odds-ratio"], "en": ["odds ratio", "odds ratios"]},
        "text": {
            "nl": "Hoeveel groter de kans op een uitkomst is in de ene groep dan in de andere, als verhouding "
            "van de 'odds' (kans dat het gebeurt gedeeld door kans dat het niet gebeurt). 1 betekent geen "
            "verschil; 2 betekent twee keer zo grote odds; 0,5 de helft.",
            "en": "How much larger the chance of an outcome is in one group than in another, as the ratio of "
            "the 'odds' (chance it happens divided by chance it does not). 1 means no difference; 2 twice the "
            "odds; 0.5 half.",
        },
    },
    "cmh": {
        "term": {"nl": "Cochran–Mantel–Haenszel (CMH)", "en": "Cochran–Mantel–Haenszel (CMH)"},
        "names": {"nl": ["Cochran–Mantel–Haenszel", "CMH"], "en": ["Cochran–Mantel–Haenszel", "CMH"]},
        "text": {
            "nl": "Een odds ratio die groepen eerst binnen lagen vergelijkt (bijvoorbeeld binnen hetzelfde "
            "functieniveau en dezelfde afdeling) en die lagen dan samenneemt. Zo telt een verschil in "
            "samenstelling van de groepen niet als ongelijke behandeling.",
            "en": "An odds ratio that compares groups within strata first (for instance within the same "
            "function level and department) and then pools the strata, so a difference in how the groups are "
            "made up does not count as unequal treatment.",
        },
    },
    "interval": {
        "term": {"nl": "95%-interval (betrouwbaarheidsinterval)", "en": "95% interval (confidence interval)"},
        "names": {
            "nl": ["95%-interval", "betrouwbaarheidsinterval", "interval"],
            "en": ["95% interval", "confidence interval", "interval"],
        },
        "text": {
            "nl": "Het gebied waarin de echte waarde met 95% zekerheid ligt, gegeven de gegevens. Een breed "
            "interval betekent weinig gegevens; een interval dat de 'geen verschil'-lijn niet raakt, wijst op "
            "een echt verschil.",
            "en": "The range that holds the true value with 95% confidence, given the data. A wide interval "
            "means little data; an interval clear of the 'no difference' line points to a real difference.",
        },
    },
    "q-value": {
        "term": {"nl": "q-waarde", "en": "q-value"},
        "names": {"nl": ["q-waarde", "q-waarden"], "en": ["q-value", "q-values"]},
        "text": {
            "nl": "Een p-waarde die is gecorrigeerd omdat er veel vergelijkingen tegelijk zijn gedaan "
            "(Benjamini–Hochberg). Wie alleen verschillen met een q-waarde onder 0,05 signaleert, verwacht "
            "dat hooguit 5% daarvan toeval is.",
            "en": "A p-value corrected for making many comparisons at once (Benjamini–Hochberg). Flagging only "
            "differences with a q-value below 0.05 expects at most 5% of them to be chance.",
        },
    },
    "p-value": {
        "term": {"nl": "p-waarde", "en": "p-value"},
        "names": {"nl": ["p-waarde", "p-waarden"], "en": ["p-value", "p-values"]},
        "text": {
            "nl": "De kans op een verschil minstens zo groot als het gevonden verschil als er in werkelijkheid "
            "geen verschil is. Hoe kleiner, hoe minder waarschijnlijk toeval.",
            "en": "The chance of a difference at least as large as the one found if there really is none. The "
            "smaller, the less likely it is chance.",
        },
    },
    "funnel-plot": {
        "term": {"nl": "Trechterplot", "en": "Funnel plot"},
        "names": {"nl": ["trechterplot"], "en": ["funnel plot"]},
        "text": {
            "nl": "Elke afdeling als punt: hoe groot (links klein, rechts groot) tegenover haar gemiddelde. De "
            "grenzen lopen als een trechter: kleine afdelingen wijken door toeval meer af. Een punt buiten de "
            "grenzen wijkt meer af dan toeval verklaart.",
            "en": "Each department as a dot: its size (small left, large right) against its mean. The limits "
            "narrow like a funnel: small departments differ more by chance. A dot outside the limits differs "
            "more than chance explains.",
        },
    },
    "control-limit": {
        "term": {"nl": "95%- en 99,8%-grens", "en": "95% and 99.8% limit"},
        "names": {
            "nl": ["95%-grens", "99,8%-grens", "controlegrens"],
            "en": ["95% limit", "99.8% limit", "control limit"],
        },
        "text": {
            "nl": "De grenzen van een trechterplot: buiten de 95%-grens valt door toeval 1 op de 20 afdelingen, "
            "buiten de 99,8%-grens 1 op de 500.",
            "en": "The limits of a funnel plot: by chance 1 department in 20 falls outside the 95% limit and 1 "
            "in 500 outside the 99.8% limit.",
        },
    },
    "differentiation-index": {
        "term": {"nl": "Differentiatie-index", "en": "Differentiation index"},
        "names": {
            "nl": ["differentiatie-index", "differentiatie"],
            "en": ["differentiation index", "differentiation"],
        },
        "text": {
            "nl": "Hoe verschillend een leidinggevende zijn mensen beoordeelt, van 0 (iedereen dezelfde "
            "beoordeling) tot 1 (zo gespreid als de schaal toelaat).",
            "en": "How differently a manager rates their people, from 0 (everyone the same rating) to 1 (as "
            "spread as the scale allows).",
        },
    },
    "median": {
        "term": {"nl": "Mediaan", "en": "Median"},
        "names": {"nl": ["mediaan"], "en": ["median"]},
        "text": {
            "nl": "De middelste waarde: de helft ligt eronder, de helft erboven. Minder gevoelig voor uitschieters "
            "dan het gemiddelde.",
            "en": "The middle value: half lie below, half above. Less sensitive to outliers than the mean.",
        },
    },
    "pay-gap": {
        "term": {"nl": "Loonkloof", "en": "Pay gap"},
        "names": {"nl": ["loonkloof", "beloningsverschil"], "en": ["pay gap"]},
        "text": {
            "nl": "Het verschil in gemiddelde (of mediane) beloning tussen vrouwen en mannen, als percentage van "
            "de beloning van mannen (EU-richtlijn loontransparantie, artikel 9).",
            "en": "The difference in mean (or median) pay between women and men, as a percentage of men's pay "
            "(EU pay transparency directive, article 9).",
        },
    },
    "percentage-point": {
        "term": {"nl": "Procentpunt", "en": "Percentage point"},
        "names": {"nl": ["procentpunt", "procentpunten"], "en": ["percentage point", "percentage points"]},
        "text": {
            "nl": "Het verschil tussen twee percentages: van 40% naar 45% is 5 procentpunten meer (en 12,5% "
            "meer).",
            "en": "The difference between two percentages: from 40% to 45% is 5 percentage points more (and "
            "12.5% more).",
        },
    },
    "scale-point": {
        "term": {"nl": "Schaalpunt", "en": "Scale point"},
        "names": {"nl": ["schaalpunt", "schaalpunten"], "en": ["scale point", "scale points"]},
        "text": {
            "nl": "Eén stap op de beoordelingsschaal (bijvoorbeeld van 'normaal' naar 'zeer goed').",
            "en": "One step on the rating scale (for instance from 'good' to 'very good').",
        },
    },
    "hidden": {
        "term": {"nl": "Afgeschermd (·)", "en": "Hidden (·)"},
        "names": {"nl": ["afgeschermd"], "en": []},
        "text": {
            "nl": "Een cel die niet getoond wordt om personen te beschermen: te weinig personen, iedereen dezelfde "
            "uitkomst, of terug te rekenen uit totalen. In downloads staat er 'afgeschermd'.",
            "en": "A cell not shown to protect people: too few people, everyone the same outcome, or "
            "recomputable from totals. Downloads read 'hidden'.",
        },
    },
}


def glossary_terms(language: str) -> dict[str, str]:
    """Every name a page may use for a glossary term (lower case) -> the term's anchor."""
    return {name.lower(): key for key, entry in GLOSSARY.items() for name in entry["names"].get(language, [])}


def text(key: str, language: str) -> Any:
    entry = TEXTS[key]
    return entry.get(language, entry["nl"])


def fmt_int(value: int, language: str) -> str:
    grouped = f"{int(value):,}"
    return grouped.replace(",", ".") if language == "nl" else grouped


MINUS = "\u2212"  # a typographic minus sign, not a hyphen


def fmt_number(value: float, language: str, decimals: int = 1) -> str:
    grouped = f"{value:,.{decimals}f}"
    if language == "nl":
        grouped = grouped.replace(",", "\0").replace(".", ",").replace("\0", ".")
    if grouped.startswith("-"):
        # "-0,0" says nothing: a value that rounds to zero is written without a sign.
        grouped = grouped[1:] if not any(c in "123456789" for c in grouped) else MINUS + grouped[1:]
    return grouped


def fmt_points(change: float, language: str, decimals: int = 1) -> str:
    """A change of a percentage in percentage points: "−0,1 procentpunt", "+2,5 procentpunten".

    Dutch says "procentpunt" up to one point (0,5 procentpunt), English "point" for exactly one only."""
    number = fmt_number(100 * change, language, decimals)
    size = abs(round(100 * change, decimals))
    sign = "+" if not number.startswith(MINUS) and size > 0 else ""
    singular = size <= 1 if language == "nl" else size == 1
    unit = text("percentage_point" if singular else "percentage_points", language)
    return f"{sign}{number} {unit}"


def fmt_pct(share: float, language: str, decimals: int = 0) -> str:
    return fmt_number(100 * share, language, decimals) + "%"


def fmt_money(value: float, language: str) -> str:
    """Whole euros: € 12.345 (Dutch) or €12,345 (English)."""
    amount = fmt_number(round(value), language, 0)
    if amount.startswith(MINUS):
        return f"{MINUS}€ {amount[1:]}" if language == "nl" else f"{MINUS}€{amount[1:]}"
    return f"€ {amount}" if language == "nl" else f"€{amount}"
