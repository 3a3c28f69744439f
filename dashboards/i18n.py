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
    "site_intro_organisation": {
        "nl": "Overzichten van eerlijkheid, loontransparantie, budget en het verloop van de beoordelingscyclus. "
        "Alle cijfers zijn groepstotalen; kleine groepen worden niet getoond.",
        "en": "Overviews of fairness, pay transparency, budget and the progress of the appraisal cycle. All "
        "figures are group totals; small groups are not shown.",
    },
    "site_intro_management": {
        "nl": "Overzichten voor de kalibratievergaderingen en de normering door het managementteam: de "
        "verdeling per afdeling tegenover de organisatie en de richtlijn, de beoordelaars, de werklijst en "
        "de datakwaliteit.",
        "en": "Overviews for calibration meetings and management-team norming: each department's distribution "
        "against the organisation and the guideline, the evaluators, the worklist and data quality.",
    },
    "site_audience_organisation": {
        "nl": "Deze site is voor alle medewerkers en de ondernemingsraad: eerlijkheid, loontransparantie, "
        "budget en verloop van de cyclus, met volledige bescherming van kleine groepen.",
        "en": "This site is for all staff and the works council: fairness, pay transparency, budget and the "
        "cycle's progress, with full protection of small groups.",
    },
    "site_audience_management": {
        "nl": "Deze site is voor het managementteam en HR: de normeringsreview, de kalibratiepagina's per "
        "afdeling (met pseudoniemen) en de datakwaliteit. Niet verspreiden onder alle medewerkers; hun "
        "pagina's staan in de organisatiesite.",
        "en": "This site is for the management team and HR: the norming review, the calibration pages per "
        "department (with pseudonyms) and data quality. Do not share with all staff; their pages are in the "
        "organisation site.",
    },
    "privacy_intro_organisation": {
        "nl": "Elke getoonde cel komt van minstens {k} personen; bedragen van minstens {k_amounts} personen "
        "en geen enkele persoon boven {dominance} van het bedrag. Waar een verborgen cel uit de andere "
        "cijfers van deze site terug te rekenen zou zijn, is ook een tweede cel verborgen. Groepen waarin "
        "iedereen dezelfde beoordeling kreeg, worden niet uitgesplitst.",
        "en": "Every cell shown comes from at least {k} people; amounts from at least {k_amounts} people with "
        "no single person above {dominance} of the amount. Where a hidden cell could be recomputed from the "
        "other figures of this site, a second cell is hidden too. Groups in which everyone got the same "
        "rating are not broken down.",
    },
    # The index, when the cycles' policies protect with different thresholds (dashboards/site.py).
    "privacy_thresholds_per_policy": {
        "nl": "Elke cyclus is afgeschermd met de drempels van het beleid van die cyclus:",
        "en": "Each cycle is protected with the thresholds of its own policy:",
    },
    "privacy_thresholds_of_policy_organisation": {
        "nl": "{organization}, cyclus {cycles} ({policy}): cellen van minstens {k} personen, bedragen van "
        "minstens {k_amounts}, niemand boven {dominance} van een bedrag.",
        "en": "{organization}, cycle {cycles} ({policy}): cells of at least {k} people, amounts of at least "
        "{k_amounts}, nobody above {dominance} of an amount.",
    },
    "privacy_thresholds_of_policy_management": {
        "nl": "{organization}, cyclus {cycles} ({policy}): cellen van minstens {k} personen.",
        "en": "{organization}, cycle {cycles} ({policy}): cells of at least {k} people.",
    },
    "privacy_intro_management": {
        "nl": "Normering: elke getoonde cel komt van minstens {k} personen, en waar een verborgen cel uit de "
        "totalen van dezelfde tabel terug te rekenen zou zijn, is ook een tweede cel verborgen. De "
        "kalibratiepagina van een afdeling is voor haar eigen vergadering: de aantallen van die afdeling "
        "staan er volledig, andere afdelingen alleen als totaal van de organisatie.",
        "en": "Norming: every cell shown comes from at least {k} people, and where a hidden cell could be "
        "recomputed from the totals of the same table, a second cell is hidden too. A department's "
        "calibration page is for its own meeting: that department's counts are shown in full, other "
        "departments only as the organisation's total.",
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
        "nl": "Voor het managementteam: per afdeling de verdeling van de beoordelingen tegenover de organisatie "
        "en de richtlijn, per functieniveau, en de beoordelaars, met beschermde aantallen (kleine groepen "
        "afgeschermd). De dossiers en de volledige aantallen van een afdeling staan alleen in het "
        "kalibratiepakket van haar vergadering.",
        "en": "For the management team: per department the distribution of ratings against the organisation and "
        "the guideline, by function level, and the evaluators, with protected counts (small groups hidden). A "
        "department's cases and full counts are only in the calibration pack of its meeting.",
    },
    "page_intro_norming": {
        "nl": "Voor het managementteam: lopen de afdelingen en leidinggevenden gelijk in hun beoordelingen, "
        "en verschuift de verdeling over de cycli?",
        "en": "For the management team: do departments and managers rate alike, and does the distribution "
        "shift over the cycles?",
    },
    "page_intro_fairness": {
        "nl": "Verschillen tussen groepen, over de hele organisatie, binnen functieniveau en binnen afdeling naast "
        "elkaar: een verschil kan binnen de niveaus of afdelingen verdwijnen of omkeren, en niveaus of afdelingen "
        "kunnen onderling verschillen. Daaronder de loontransparantie volgens artikel 9 en 10 van richtlijn (EU) "
        "2023/970.",
        "en": "Differences between groups, organisation-wide, within function level and within department side by "
        "side: a gap can vanish or reverse within levels or departments, and levels or departments can differ "
        "from each other. Below, pay transparency under Articles 9 and 10 of Directive (EU) 2023/970.",
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
    "department_page_title": {"nl": "Afdeling", "en": "Department"},
    "department_page_intro": {
        "nl": "Voor het managementteam: hoe de beoordelingen van deze afdeling zich verhouden tot de organisatie "
        "en de richtlijn, per functieniveau en per beoordelaar. Aantallen van minder dan k mensen zijn "
        "afgeschermd, en waar nodig nog een cel zodat ze niet terug te rekenen zijn. De werklijst met de "
        "dossiers en de volledige aantallen staan alleen in het kalibratiepakket van de vergadering van deze "
        "afdeling.",
        "en": "For the management team: how this department's ratings compare with the organisation and the "
        "guideline, by function level and by evaluator. Counts of fewer than k people are hidden, and where "
        "needed one more cell so that they cannot be recomputed. The worklist of cases and the full counts are "
        "only in the calibration pack of this department's meeting.",
    },
    "all_departments": {"nl": "Alle afdelingen", "en": "All departments"},
    "excl_hidden_short": {"nl": "excl. n < k", "en": "excl. n < k"},
    "excl_hidden_note": {
        "nl": "Excl. n < k: in {units} tellen n en de aandelen alleen de getoonde cellen.",
        "en": "Excl. n < k: in {units}, n and the shares count only the shown cells.",
    },
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
    "levels_banded_note": {
        "nl": "Functieniveaus met minder dan k mensen zijn samengevoegd met aangrenzende niveaus tot banden van "
        "minstens k mensen ({bands}); per band, niet per niveau.",
        "en": "Function levels with fewer than k people are merged with adjacent levels into bands of at least k "
        "people ({bands}); shown per band, not per level.",
    },
    "levels_one_band": {
        "nl": "de functieniveaus van deze afdeling vormen samen één band van minstens k mensen: de verdeling "
        "hierboven.",
        "en": "this department's function levels together form a single band of at least k people: the "
        "distribution above.",
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
    # ------------------------------------------------------------------ evaluator report (issue 23)
    "evr_title": {
        "nl": "Beoordelaars op de loonrelevante uitkomsten",
        "en": "Evaluators on the pay-relevant outcomes",
    },
    "evr_unavailable": {
        "nl": "Het beoordelaarsrapport is nog niet gebouwd.",
        "en": "The evaluator report has not been built yet.",
    },
    "evr_none": {"nl": "Geen beoordelaars in deze selectie.", "en": "No evaluators in this selection."},
    "evr_intro": {
        "nl": "Over de cycli {period}: hoe vaak elke beoordelaar (gepseudonimiseerd) een uitkomst geeft "
        "waar geld aan vastzit, vergeleken met wat een gemiddelde beoordelaar geeft aan mensen van hetzelfde "
        "functieniveau en dezelfde afdeling. Per snijpunt van de schaal, niet alleen het gemiddelde: wie de top "
        "vaak geeft maar ook de onderkant gebruikt, valt bij een gemiddelde weg en hier niet.",
        "en": "Over cycles {period}: how often each evaluator (pseudonymised) hands out an outcome that "
        "carries money, compared with what an average evaluator gives people of the same function level and "
        "department. Per cut point of the scale, not just the mean: whoever gives the top often but also uses "
        "the bottom disappears in a mean and not here.",
    },
    "evr_no_pay_cuts": {
        "nl": "Het beleid noemt voor deze schaal geen loonrelevante snijpunten (calibration.pay_relevant_cut_points).",
        "en": "The policy names no pay-relevant cut points for this scale (calibration.pay_relevant_cut_points).",
    },
    "evr_chart_title": {
        "nl": "Aandeel {outcome} of hoger per beoordelaar",
        "en": "Share {outcome} or higher per evaluator",
    },
    "evr_chart_explain": {
        "nl": "Dicht bolletje: het aandeel dat de beoordelaar zou geven aan een team zoals de hele organisatie "
        "(gecorrigeerd voor functieniveau en afdeling, gekrompen naar het gemiddelde), met 95%-interval. Open "
        "cirkel: het werkelijk gegeven aandeel in het eigen team. Stippellijn: de organisatie. Rood: "
        "gesignaleerd (exacte toets na correctie voor meervoudig toetsen, praktisch groot verschil).",
        "en": "Solid dot: the share the evaluator would give a team like the whole organisation (adjusted for "
        "function level and department, shrunk toward the average), with a 95% interval. Open circle: the "
        "share actually given in the own team. Dotted line: the organisation. Red: flagged (exact test after "
        "correction for multiple testing, practically large difference).",
    },
    "evr_axis_share": {"nl": "Aandeel {outcome} of hoger", "en": "Share {outcome} or higher"},
    "evr_hover_observed": {"nl": "gegeven", "en": "given"},
    "evr_hover_expected": {"nl": "verwacht", "en": "expected"},
    "evr_legend_adjusted": {"nl": "Gecorrigeerd en gekrompen", "en": "Adjusted and shrunk"},
    "evr_legend_observed": {"nl": "Gegeven in eigen team", "en": "Given in own team"},
    "evr_legend_hidden": {"nl": "Afgeschermd", "en": "Hidden"},
    "evr_cut_note": {
        "nl": "De eerste {shown} van {total} beoordelaars: gesignaleerde eerst, dan de grootste teams.",
        "en": "The first {shown} of {total} evaluators: flagged ones first, then the largest teams.",
    },
    "evr_hidden_note": {
        "nl": plural(
            "{count} beoordelaar zonder cijfers: een aantal boven of onder dit snijpunt is kleiner dan de "
            "minimale groep, of iedereen kreeg dezelfde uitkomst. Een signalering blijft zichtbaar.",
            "{count} beoordelaars zonder cijfers: een aantal boven of onder dit snijpunt is kleiner dan de "
            "minimale groep, of iedereen kreeg dezelfde uitkomst. Een signalering blijft zichtbaar.",
        ),
        "en": plural(
            "{count} evaluator without numbers: a count above or below this cut point is below the minimum "
            "group, or everyone got the same outcome. A flag stays visible.",
            "{count} evaluators without numbers: a count above or below this cut point is below the minimum "
            "group, or everyone got the same outcome. A flag stays visible.",
        ),
    },
    "evr_not_separable": {
        "nl": "De gegevens onderscheiden beoordelaars op dit snijpunt niet (spreiding tussen beoordelaars geschat "
        "op 0): de getoonde verschillen zijn ongekrompen, niet ten onrechte op nul gezet.",
        "en": "The data do not separate evaluators at this cut point (between-evaluator variance estimated at 0): "
        "the differences shown are unshrunk, not wrongly set to zero.",
    },
    "evr_uncertain": {
        "nl": "De spreiding tussen beoordelaars op dit snijpunt is niet met zekerheid groter dan nul; de "
        "krimp is daardoor sterk.",
        "en": "The between-evaluator variance at this cut point is not clearly above zero; shrinkage is strong.",
    },
    "evr_no_flags": {
        "nl": "Geen beoordelaar geeft een loonrelevante uitkomst aantoonbaar vaker of minder vaak dan collega's.",
        "en": "No evaluator hands out a pay-relevant outcome demonstrably more or less often than colleagues.",
    },
    "evr_flagged_intro": {"nl": "Gesignaleerd:", "en": "Flagged:"},
    "evr_flag_higher": {
        "nl": "geeft {outcome} of hoger vaker dan collega's.",
        "en": "gives {outcome} or higher more often than colleagues.",
    },
    "evr_flag_lower": {
        "nl": "geeft {outcome} of hoger minder vaak dan collega's.",
        "en": "gives {outcome} or higher less often than colleagues.",
    },
    "evr_numbers_hidden": {"nl": "(cijfers afgeschermd)", "en": "(numbers hidden)"},
    "evr_fair_cases": {
        "nl": plural(
            "{count} beoordeling in deze cyclus zou bij een gemiddelde beoordelaar aan de andere kant van deze "
            "loonstap vallen.",
            "{count} beoordelingen in deze cyclus zouden bij een gemiddelde beoordelaar aan de andere kant van "
            "deze loonstap vallen.",
        ),
        "en": plural(
            "{count} rating this cycle would fall on the other side of this pay step with an average evaluator.",
            "{count} ratings this cycle would fall on the other side of this pay step with an average evaluator.",
        ),
    },
    "evr_scale_title": {"nl": "Gebruik van de schaal", "en": "Use of the scale"},
    "evr_scale_explain": {
        "nl": "Middencategorie: aandeel in de meest gegeven middelste uitkomst (iedereen 'normaal'). Uitersten: "
        "aandeel in de laagste of hoogste uitkomst. Differentiatie (Z-8): 0 = iedereen hetzelfde, 1 = gelijk "
        "over de schaal. Infit en outfit: modelfit, rond 1 verwacht; onder 0,5 te voorspelbaar, boven 1,5 grillig.",
        "en": "Middle category: share in the most used middle outcome (everyone 'normal'). Extremes: share in the "
        "lowest or highest outcome. Differentiation (Z-8): 0 = everyone the same, 1 = even over the scale. "
        "Infit and outfit: model fit, about 1 expected; below 0.5 too predictable, above 1.5 erratic.",
    },
    "evr_scale_headers": {
        "nl": {
            "evaluator": "Beoordelaar",
            "n": "n",
            "central": "Middencategorie",
            "extreme": "Uitersten",
            "differentiation": "Differentiatie",
            "infit": "Infit",
            "outfit": "Outfit",
            "fit": "Fit",
            "pattern": "Gesignaleerd",
        },
        "en": {
            "evaluator": "Evaluator",
            "n": "n",
            "central": "Middle category",
            "extreme": "Extremes",
            "differentiation": "Differentiation",
            "infit": "Infit",
            "outfit": "Outfit",
            "fit": "Fit",
            "pattern": "Flagged",
        },
    },
    "evr_fit_words": {
        "nl": {
            "fits": "past",
            "too_predictable": "te voorspelbaar",
            "erratic": "grillig",
            "too_small": "te weinig",
        },
        "en": {
            "fits": "fits",
            "too_predictable": "too predictable",
            "erratic": "erratic",
            "too_small": "too few",
        },
    },
    "evr_central": {"nl": "middencategorie", "en": "middle category"},
    "evr_extreme": {"nl": "uitersten", "en": "extremes"},
    "evr_bias_title": {"nl": "Verschil naar groep", "en": "Difference by group"},
    "evr_bias_explain": {
        "nl": "Beoordeelt een beoordelaar vrouwen, deeltijders of een leeftijdsgroep anders dan collega's "
        "vergelijkbare mensen beoordelen? Alleen waar de groep en de rest elk de minimale groepsgrootte halen "
        "({tested} vergelijkingen getoetst).",
        "en": "Does an evaluator rate women, part-timers or an age group differently from how colleagues rate "
        "comparable people? Only where the group and the rest each reach the minimum group size ({tested} "
        "comparisons tested).",
    },
    "evr_bias_none": {
        "nl": "Geen gesignaleerd verschil naar groep.",
        "en": "No flagged difference by group.",
    },
    "evr_agreement_title": {
        "nl": "Overeenstemming bij wisseling van beoordelaar",
        "en": "Agreement when the evaluator changed",
    },
    "evr_agreement_explain": {
        "nl": "Medewerkers die twee opeenvolgende cycli door verschillende beoordelaars zijn beoordeeld, naast "
        "wie dezelfde beoordelaar hield (de tweede evaluator tekent alleen, F-3, en geeft geen eigen oordeel). "
        "Kappa 0 = toeval, 1 = volledige overeenstemming; echte veranderingen in functioneren tellen mee.",
        "en": "Employees rated in two consecutive cycles by different evaluators, beside those who kept the same "
        "evaluator (the second evaluator only signs, F-3, and gives no rating of their own). Kappa 0 = chance, "
        "1 = full agreement; real changes in performance count too.",
    },
    "evr_agreement_changed_evaluator": {"nl": "Andere beoordelaar", "en": "Different evaluator"},
    "evr_agreement_same_evaluator": {"nl": "Zelfde beoordelaar", "en": "Same evaluator"},
    "evr_print_screen_only": {
        "nl": "Afgedrukt: de loonrelevante uitkomsten. Het gebruik van de schaal, verschil naar groep en de "
        "overeenstemming bij wisseling van beoordelaar staan in dit pakket op het scherm.",
        "en": "In print: the pay-relevant outcomes. The use of the scale, difference by group and agreement when "
        "the evaluator changed are in this pack on screen.",
    },
    # Intersections on the fairness page (issue 23; dashboards/pages/intersections_section.py)
    "ixn_title": {
        "nl": "Intersecties: geslacht × deeltijd × functieniveau",
        "en": "Intersections: gender × part-time × function level",
    },
    "ixn_intro": {
        "nl": "Vrouwen in deeltijd op één functieniveau kunnen anders uitkomen dan geslacht of deeltijd apart "
        "laten zien. Zulke groepen zijn klein: bij acht mensen verschuift één persoon het percentage met 12 "
        "procentpunten. Daarom staat naast het ruwe percentage een gekrompen schatting: het percentage van de "
        "groep, naar dat van het hele functieniveau getrokken, sterker naarmate de groep kleiner is "
        "(hiërarchisch Bayesiaans, bèta-binomiaal), met een 95%-interval. Alleen de uitkomsten die de beloning bepalen.",
        "en": "Part-time women at one function level can fare differently from what gender or part-time alone "
        "shows. Such groups are small: with eight people one person moves the percentage by 12 points. Beside "
        "the raw percentage there is therefore a shrunk estimate: the group's percentage pulled toward that of "
        "the whole function level, the more so the smaller the group (hierarchical Bayes, beta-binomial), with a "
        "95% interval. Only the outcomes that decide pay.",
    },
    "ixn_unavailable": {
        "nl": "De intersecties zijn nog niet berekend.",
        "en": "The intersections have not been computed yet.",
    },
    "ixn_none": {
        "nl": "Geen groepen met bekend geslacht, arbeidsduur en functieniveau.",
        "en": "No groups with known gender, working time and function level.",
    },
    "ixn_chart_title": {"nl": "{outcome} of hoger per groep", "en": "{outcome} or higher per group"},
    "ixn_chart_explain": {
        "nl": "Gevulde stip: gekrompen schatting met 95%-interval; open cirkel: het ruwe percentage van de groep; "
        "grijs streepje: het percentage van het hele functieniveau. Hoe verder de stip van de cirkel, hoe kleiner "
        "de groep en hoe minder het ruwe percentage zegt.",
        "en": "Filled dot: shrunk estimate with 95% interval; open circle: the group's raw percentage; grey bar: "
        "the percentage of the whole function level. The further the dot from the circle, the smaller the group "
        "and the less the raw percentage says.",
    },
    "ixn_axis_rate": {"nl": "Aandeel {outcome} of hoger", "en": "Share {outcome} or higher"},
    "ixn_axis_group": {"nl": "Niveau · geslacht · arbeidsduur", "en": "Level · gender · working time"},
    "ixn_legend_shrunk": {"nl": "Gekrompen (95%-interval)", "en": "Shrunk (95% interval)"},
    "ixn_legend_raw": {"nl": "Ruw", "en": "Raw"},
    "ixn_legend_level": {"nl": "Functieniveau", "en": "Function level"},
    "ixn_legend_hidden": {"nl": "Afgeschermd", "en": "Hidden"},
    "ixn_hidden_note": {
        "nl": plural(
            "{count} groep is afgeschermd (te klein, of iedereen dezelfde uitkomst).",
            "{count} groepen zijn afgeschermd (te klein, of iedereen dezelfde uitkomst).",
        ),
        "en": plural(
            "{count} group is hidden (too small, or everyone had the same outcome).",
            "{count} groups are hidden (too small, or everyone had the same outcome).",
        ),
    },
    "ixn_pooled": {
        "nl": "De verschillen tussen de groepen zijn niet groter dan toeval: elke gekrompen schatting is het "
        "percentage van het functieniveau.",
        "en": "The differences between the groups are no larger than chance: every shrunk estimate is the "
        "function level's percentage.",
    },
    "ixn_strength": {
        "nl": "Het niveau weegt als {m} extra mensen: een groep van zoveel mensen wordt half naar het niveau "
        "getrokken.",
        "en": "The level weighs as {m} extra people: a group of that many is pulled halfway toward the level.",
    },
    "ixn_table_title": {"nl": "{outcome} of hoger: de cijfers", "en": "{outcome} or higher: the numbers"},
    "ixn_table_explain": {
        "nl": "Per groep het aantal mensen, hoeveel de uitkomst kregen, het ruwe en het gekrompen percentage met "
        "interval, het percentage van het functieniveau en het gewicht van de eigen gegevens van de groep.",
        "en": "Per group the number of people, how many got the outcome, the raw and the shrunk percentage with "
        "its interval, the function level's percentage and the weight of the group's own data.",
    },
    "ixn_headers": {
        "nl": {
            "function_level": "Niveau",
            "gender": "Geslacht",
            "part_time": "Arbeidsduur",
            "n": "n",
            "count": "Met uitkomst",
            "rate": "Ruw",
            "shrunk_rate": "Gekrompen",
            "shrunk_lo": "Interval van",
            "shrunk_hi": "tot",
            "level_rate": "Niveau",
            "own_weight": "Eigen gewicht",
        },
        "en": {
            "function_level": "Level",
            "gender": "Gender",
            "part_time": "Working time",
            "n": "n",
            "count": "With outcome",
            "rate": "Raw",
            "shrunk_rate": "Shrunk",
            "shrunk_lo": "Interval from",
            "shrunk_hi": "to",
            "level_rate": "Level",
            "own_weight": "Own weight",
        },
    },
    "worklist_title": {"nl": "Werklijst voor de vergadering", "en": "Worklist for the meeting"},
    "worklist_confidential": {
        "nl": "VERTROUWELIJK — individuele dossiers met gepseudonimiseerde nummers. Niet verspreiden; alleen voor "
        "de deelnemers aan de kalibratievergadering.",
        "en": "CONFIDENTIAL — individual cases with pseudonymised numbers. Do not distribute; for the "
        "participants of the calibration meeting only.",
    },
    "pack_worklist_explain": {
        "nl": "Dossiers die de vergadering zou moeten bespreken, met de reden. Nummers zijn personeelsnummers "
        "zoals in het HR-systeem.",
        "en": "Cases the meeting should discuss, with the reason. Numbers are employee numbers as in the HR "
        "system.",
    },
    "pack_confidential": {
        "nl": "VERTROUWELIJK — met personeelsnummers; alleen voor de deelnemers aan deze vergadering, niet doorsturen.",
        "en": "CONFIDENTIAL — with employee numbers; for the participants of this meeting only, do not forward.",
    },
    # The management pack (pipelines/packs.py): the norming review with evaluators and managers re-identified.
    "pack_management_confidential": {
        "nl": "VERTROUWELIJK — normeringsreview met beoordelaars en leidinggevenden onder hun personeelsnummer "
        "zoals in het HR-systeem. Alleen voor het managementteam en HR; niet doorsturen, niet op een gedeelde "
        "schijf.",
        "en": "CONFIDENTIAL — norming review with evaluators and managers by their employee number as in the HR "
        "system. For the management team and HR only; do not forward, do not put on a shared drive.",
    },
    # A pack in which some pseudonyms could not be turned back (no key, exports gone, unprintable identifier).
    "pack_pseudonyms_left": {
        "nl": plural(
            "VERTROUWELIJK — niet doorsturen, niet op een gedeelde schijf. {count} nummer kon niet worden "
            "teruggezet en staat er als pseudoniem: de exports staan niet meer in de inbox, de "
            "pseudonimiseringssleutel is niet die waarmee het werd gemaakt, of het nummer bevat tekens die een "
            "pakket niet toont.",
            "VERTROUWELIJK — niet doorsturen, niet op een gedeelde schijf. {count} nummers konden niet worden "
            "teruggezet en staan er als pseudoniem: de exports staan niet meer in de inbox, de "
            "pseudonimiseringssleutel is niet die waarmee ze werden gemaakt, of het nummer bevat tekens die een "
            "pakket niet toont.",
        ),
        "en": plural(
            "CONFIDENTIAL — do not forward, do not put on a shared drive. {count} number could not be turned "
            "back and is shown as a pseudonym: the exports are no longer in the inbox, the pseudonymisation key "
            "is not the one it was made with, or the number holds characters a pack does not show.",
            "CONFIDENTIAL — do not forward, do not put on a shared drive. {count} numbers could not be turned "
            "back and are shown as pseudonyms: the exports are no longer in the inbox, the pseudonymisation key "
            "is not the one they were made with, or the numbers hold characters a pack does not show.",
        ),
    },
    # The packs' index pages (dashboards/pack_index.py): what lies in <home>/packs/ and for whom.
    "packs_index_title": {"nl": "Pakketten", "en": "Packs"},
    "packs_index_confidential": {
        "nl": "VERTROUWELIJK — overzicht van de pakketten met personeelsnummers, voor wie ze uitdeelt. Geef elk "
        "pakket alleen aan zijn eigen publiek; niet doorsturen, niet op een gedeelde schijf.",
        "en": "CONFIDENTIAL — overview of the packs with employee numbers, for whoever hands them out. Give each "
        "pack to its own audience only; do not forward, do not put on a shared drive.",
    },
    "packs_index_intro": {
        "nl": "Een kalibratiepakket is voor de deelnemers aan de kalibratievergadering van één afdeling, het "
        "managementpakket voor het managementteam en HR. manifest.json in deze map zegt per bestand voor welk "
        "publiek het is, met zijn sha256 en bouwtijd.",
        "en": "A calibration pack is for the participants of one department's calibration meeting, the "
        "management pack for the management team and HR. manifest.json in this folder says for each file which "
        "audience it is for, with its sha256 and build time.",
    },
    "packs_index_cycles": {"nl": "Organisaties en cycli", "en": "Organisations and cycles"},
    "packs_index_meeting": {
        "nl": "Kalibratiepakketten: één per afdeling, voor haar vergadering",
        "en": "Calibration packs: one per department, for its meeting",
    },
    "packs_index_management": {
        "nl": "Managementpakket: voor het managementteam en HR",
        "en": "Management pack: for the management team and HR",
    },
    "packs_index_rated": {
        "nl": plural("{count} beoordeelde medewerker", "{count} beoordeelde medewerkers"),
        "en": plural("{count} rated employee", "{count} rated employees"),
    },
    "packs_index_cases": {
        "nl": plural("{count} dossier op de werklijst", "{count} dossiers op de werklijst"),
        "en": plural("{count} case on the worklist", "{count} cases on the worklist"),
    },
    "packs_index_meeting_count": {
        "nl": plural("{count} kalibratiepakket", "{count} kalibratiepakketten"),
        "en": plural("{count} calibration pack", "{count} calibration packs"),
    },
    "packs_index_management_count": {
        "nl": plural("{count} managementpakket", "{count} managementpakketten"),
        "en": plural("{count} management pack", "{count} management packs"),
    },
    "packs_index_none": {"nl": "Geen pakketten.", "en": "No packs."},
    "packs_index_back": {"nl": "Alle pakketten", "en": "All packs"},
    # What a pack says where the site's labels say "(pseudoniem)" / "(gepseudonimiseerd)".
    # short: it is also a chart's axis title (a chart of three evaluators is about 200 pixels high)
    "pack_mark_pseudonym": {"nl": " (personeelsnr.)", "en": " (employee no.)"},
    "pack_mark_pseudonymised": {"nl": " (op personeelsnummer)", "en": " (by employee number)"},
    "fair_others_left_out": {
        "nl": "Excl. n < k anderen: een geslachtscategorie naast vrouwen en mannen met minder mensen dan de "
        "minimale groepsgrootte telt in deze cyclus in geen enkele groep en geen enkel totaal mee, zodat ze niet "
        "uit de verschillen af te leiden is.",
        "en": "Excluding n < k others: a gender category besides women and men with fewer people than the minimum "
        "group size counts in no group and no total in this cycle, so that it cannot be derived from the "
        "differences.",
    },
    "process_others_left_out": {
        "nl": "Excl. n < k anderen: in deze cyclus laat de pagina Eerlijkheid en loontransparantie een geslachtscategorie naast vrouwen "
        "en mannen weg omdat ze minder mensen telt dan de minimale groepsgrootte k. Die mensen tellen ook hier niet "
        "mee: n en elk aandeel, per afdeling en voor de organisatie, gaan over de getoonde categorieën, en de "
        "organisatie is de som van haar afdelingen.",
        "en": "Excluding n < k others: in this cycle the Fairness and pay transparency page leaves out a gender category besides women "
        "and men because it has fewer people than the minimum group size k. Those people are not counted here "
        "either: n and every share, per department and for the organisation, are over the categories shown, and "
        "the organisation is the sum of its departments.",
    },
    "budget_others_left_out": {
        "nl": "Excl. n < k anderen: het aantal medewerkers, per afdeling en voor de organisatie (ook in de "
        "prognose), telt in deze cyclus een geslachtscategorie naast vrouwen en mannen met minder mensen dan de "
        "minimale groepsgrootte k niet mee, net als de pagina's Eerlijkheid en loontransparantie en Proces en regels. De bedragen gaan over "
        "iedereen.",
        "en": "Excluding n < k others: the number of employees, per department and for the organisation (also in "
        "the forecast), does not count a gender category besides women and men with fewer people than the "
        "minimum group size k in this cycle, as on the Fairness and pay transparency and the Process and rules pages. The amounts are over everyone.",
    },
    "organisation_total_left_out": {
        "nl": "Organisatie (totaal, excl. n < k anderen)",
        "en": "Organisation (total, excluding n < k others)",
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
        "nl": "In deze cyclus, over alle functieniveaus samen, werd geen groep vaker omlaag of omhoog gezet dan "
        "toeval verklaart (voor zover de cijfers getoond worden).",
        "en": "In this cycle, over all function levels together, no group was moved down or up more often than "
        "chance explains (as far as the figures are shown).",
    },
    # ---------------------------------------------------------------- calibration moves within function level
    "impact_levels_title": {
        "nl": "Binnen hetzelfde functieniveau: wie werd vaker omlaag of omhoog gezet?",
        "en": "Within the same function level: who was moved down or up more often?",
    },
    "impact_levels_explain": {
        "nl": "Per functieniveau, over de cycli {period} samen (een medewerker telt eens per cyclus), hoeveel "
        "vrouwen en hoeveel mannen de kalibratie omlaag zette, met de odds ratio (vrouwen tegenover mannen), "
        "Fisher p en de Benjamini–Hochberg q over alle niveaus. Een verschil binnen één functieniveau komt niet "
        "doordat vrouwen en mannen in andere niveaus werken. Gesignaleerd: significant (q < 0,05) én een "
        "praktisch groot verschil. · is afgeschermd: minder mensen dan het minimum, of iedereen aan dezelfde kant "
        "(allemaal of niemand verplaatst). Een vergelijking staat er alleen als beide groepen getoond worden.",
        "en": "Per function level, over the cycles {period} together (an employee counts once per cycle), how "
        "many women and how many men calibration moved down, with the odds ratio (women against men), Fisher p "
        "and the Benjamini–Hochberg q over all levels. A difference within one function level does not come from "
        "women and men working in different levels. Flagged: significant (q < 0.05) and a practically large "
        "difference. · is hidden: fewer people than the minimum, or everyone on the same side (all or none "
        "moved). A comparison is shown only where both groups are.",
    },
    "impact_levels_caption": {
        "nl": "Vrouwen en mannen per functieniveau, {direction} gezet, cycli {period}",
        "en": "Women and men per function level, {direction}, cycles {period}",
    },
    "impact_levels_moved": {"nl": "verplaatst", "en": "moved"},
    "impact_levels_odds": {"nl": "Odds ratio (v/m)", "en": "Odds ratio (w/m)"},
    "impact_levels_significant": {
        "nl": "Vaker of minder vaak dan toeval verklaart (Benjamini–Hochberg q onder {fdr}):",
        "en": "More or less often than chance explains (Benjamini–Hochberg q below {fdr}):",
    },
    "impact_levels_more": {"nl": "vaker", "en": "more often"},
    "impact_levels_less": {"nl": "minder vaak", "en": "less often"},
    "impact_levels_sentence": {
        "nl": "{subject} in functieniveau {level} werden in de cycli {period} bij de kalibratie {how} "
        "{direction} gezet dan {reference} in hetzelfde functieniveau: {count} van de {n} ({rate}) tegenover "
        "{ref_count} van de {ref_n} ({ref_rate}); odds ratio {odds}, Fisher p {p}, q {q}.",
        "en": "{subject} in function level {level} were {direction} in calibration {how} than {reference} in "
        "the same function level in the cycles {period}: {count} of {n} ({rate}) against {ref_count} of {ref_n} "
        "({ref_rate}); odds ratio {odds}, Fisher p {p}, q {q}.",
    },
    "impact_levels_no_findings": {
        "nl": "Binnen geen enkel functieniveau werd een groep vaker omlaag of omhoog gezet dan toeval verklaart "
        "(voor zover de cijfers getoond worden).",
        "en": "Within no function level was a group moved down or up more often than chance explains (as far as "
        "the figures are shown).",
    },
    "impact_levels_no_window": {
        "nl": "De vergelijking binnen functieniveau telt meerdere cycli samen; voor deze cyclus is er nog geen "
        "volledige reeks cycli met voorstellen.",
        "en": "The comparison within function level pools several cycles; this cycle has no complete series of "
        "cycles with proposals yet.",
    },
    "impact_levels_left_out": {
        "nl": "Kleine gendercategorieën buiten vrouwen en mannen zijn in een functieniveau weggelaten (minder dan "
        "het minimum aantal mensen); de totalen tellen alleen de getoonde groepen.",
        "en": "Small gender categories other than women and men are left out within a function level (fewer "
        "than the minimum number of people); the totals count only the groups shown.",
    },
    # ---------------------------------------------------------------- end of calibration moves within level
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
        "nl": "Verschillen naar {attribute}: hele organisatie, binnen niveau en binnen afdeling",
        "en": "Differences by {attribute}: organisation-wide, within level and within department",
    },
    "chart_fair_compare_explain": {
        "nl": "De odds ratio van elke groep tegenover de referentiegroep, over de hele organisatie (95%-interval "
        "van Woolf) en binnen functieniveau en afdeling (Mantel–Haenszel, met 95%-interval). 1 = geen verschil; "
        "rechts = vaker deze uitkomst. Ligt de stip binnen niveau of afdeling elders dan die voor de hele "
        "organisatie, dan verklaart de samenstelling naar niveau of afdeling (een deel van) het verschil.",
        "en": "Each group's odds ratio against the reference group, organisation-wide (Woolf 95% interval) and "
        "within function level and department (Mantel–Haenszel, with 95% interval). 1 = no difference; right = "
        "this outcome more often. When the within-level or within-department dot sits elsewhere than the "
        "organisation-wide one, the mix of levels or departments explains (part of) the gap.",
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
        "organisatie, binnen functieniveau en binnen afdeling naast elkaar (met 95%-interval), en de q-waarde "
        "(gecorrigeerd voor meervoudig toetsen). 'Keert om' betekent dat het verschil binnen de niveaus of "
        "afdelingen de andere kant op wijst; een kleine Breslow–Day p betekent dat de niveaus of afdelingen "
        "onderling verschillen.",
        "en": "Per outcome and group: how many people, which share got the outcome, the odds ratio "
        "organisation-wide, within function level and within department side by side (with 95% interval), and "
        "the q-value (corrected for multiple testing). 'Reverses' means the gap points the other way within "
        "levels or departments; a small Breslow–Day p means the levels or departments differ from each other.",
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
    # Fairness: the whole story of a gap, per stratification (issue 17). {strata}: fair_strata_words.
    "fair_strata_words": {
        "nl": {"function_level": "functieniveaus", "department": "afdelingen"},
        "en": {"function_level": "function levels", "department": "departments"},
    },
    "fair_stratum_word": {
        "nl": {"function_level": "functieniveau", "department": "afdeling"},
        "en": {"function_level": "function level", "department": "department"},
    },
    "fair_story_rates": {
        "nl": "{group} {rate}, {reference} {reference_rate}",
        "en": "{group} {rate}, {reference} {reference_rate}",
    },
    "fair_story_odds": {"nl": "odds ratio {odds}", "en": "odds ratio {odds}"},
    "fair_story_gap": {"nl": "het totale verschil ({detail})", "en": "the overall gap ({detail})"},
    "fair_story_no_gap": {
        "nl": "over de hele organisatie is er geen duidelijk verschil ({detail})",
        "en": "organisation-wide there is no clear gap ({detail})",
    },
    "fair_story_neither": {
        "nl": "{gap}, en binnen {strata} evenmin (gemeenschappelijke odds ratio {odds}, {level}%-BI {low} – {high}{over})",
        "en": "{gap}, nor within {strata} (common odds ratio {odds}, {level}% CI {low} – {high}{over})",
    },
    "fair_story_appears": {
        "nl": "{gap}, maar binnen {strata} wel (gemeenschappelijke odds ratio {odds}, {level}%-BI {low} – {high}{over})",
        "en": "{gap}, but there is one within {strata} (common odds ratio {odds}, {level}% CI {low} – {high}{over})",
    },
    "fair_story_holds": {
        "nl": "{gap} blijft bestaan binnen {strata} (gemeenschappelijke odds ratio {odds}, {level}%-BI {low} – {high}{over})",
        "en": "{gap} holds within {strata} (common odds ratio {odds}, {level}% CI {low} – {high}{over})",
    },
    "fair_story_vanishes": {
        "nl": "{gap} blijft niet bestaan binnen {strata} (gemeenschappelijke odds ratio {odds}, {level}%-BI {low} – "
        "{high}{over})",
        "en": "{gap} does not hold within {strata} (common odds ratio {odds}, {level}% CI {low} – {high}{over})",
    },
    "fair_story_reverses": {
        "nl": "{gap} keert om binnen {strata}: daar wijst het verschil de andere kant op (gemeenschappelijke odds "
        "ratio {odds}, {level}%-BI {low} – {high}{over})",
        "en": "{gap} reverses within {strata}: there the gap points the other way (common odds ratio {odds}, "
        "{level}% CI {low} – {high}{over})",
    },
    "fair_story_leans_other_way": {
        "nl": "; binnen {strata} wijst de schatting zelfs de andere kant op",
        "en": "; within {strata} the estimate even points the other way",
    },
    "fair_story_heterogeneous": {
        "nl": "; de {strata} verschillen onderling (Breslow–Day p = {p})",
        "en": "; the {strata} differ from each other (Breslow–Day p = {p})",
    },
    "fair_story_homogeneous": {
        "nl": "; de {strata} verschillen niet aantoonbaar onderling (Breslow–Day p = {p})",
        "en": "; the {strata} do not differ detectably from each other (Breslow–Day p = {p})",
    },
    "fair_story_opposite": {
        "nl": " In {count} van de {total} {strata} met een zichtbare odds ratio wijst het verschil de andere kant "
        "op dan over de hele organisatie.",
        "en": " In {count} of the {total} {strata} with a shown odds ratio the gap points the other way than "
        "organisation-wide.",
    },
    "fair_story_single": {
        "nl": "binnen {strata} is niet te vergelijken: iedereen zit in één {stratum}",
        "en": "within {strata} there is nothing to compare: everyone is in one {stratum}",
    },
    "fair_story_over": {
        "nl": "; over de {used} {strata} waarvan de aantallen getoond worden, {left} {strata_left} met afgeschermde "
        "aantallen weggelaten",
        "en": "; over the {used} {strata} whose counts are shown, {left} {strata_left} with hidden counts left out",
    },
    "fair_strata_count": {"nl": "{used} van {total}", "en": "{used} of {total}"},
    "fair_story_too_few": {
        "nl": "binnen {strata}: niet te combineren, want van {total} {strata} worden de aantallen in {used} getoond "
        "(de andere zijn afgeschermd)",
        "en": "within {strata}: nothing to combine, as the counts are shown in {used} of {total} {strata} (the "
        "others are hidden)",
    },
    "fair_story_none_shown": {
        "nl": "binnen {strata}: niets te combineren, want in geen van de {total} {strata} worden de aantallen "
        "getoond (afgeschermd)",
        "en": "within {strata}: nothing to combine, as the counts are hidden in all {total} {strata}",
    },
    "fair_story_hidden": {
        "nl": "binnen {strata}: verborgen (te weinig mensen om te tonen)",
        "en": "within {strata}: hidden (too few people to show)",
    },
    "fair_stories_title": {
        "nl": "Wat de vergelijkingen samen zeggen",
        "en": "What the comparisons say together",
    },
    "chart_fair_forest_title": {
        "nl": "{outcome}: {group} t.o.v. {reference} per {stratum}",
        "en": "{outcome}: {group} vs {reference} per {stratum}",
    },
    "chart_fair_forest_explain": {
        "nl": "Elk vierkant is de odds ratio binnen één {stratum} met 95%-interval (Woolf); de ruit onderaan is de "
        "gemeenschappelijke odds ratio (Mantel–Haenszel, 95%-interval van Robins–Breslow–Greenland). 1 = geen "
        "verschil; rechts = vaker deze uitkomst. Een · is verborgen of niet te schatten.",
        "en": "Each square is the odds ratio within one {stratum} with its 95% interval (Woolf); the diamond at the "
        "bottom is the common odds ratio (Mantel–Haenszel, Robins–Breslow–Greenland 95% interval). 1 = no "
        "difference; right = this outcome more often. A · is hidden or not estimable.",
    },
    "fair_pooled_label": {"nl": "Gemeenschappelijk (MH)", "en": "Common (MH)"},
    # Fairness: women and men within a function level over a pooled window of cycles (issue 16).
    "fair_window_title": {
        "nl": "Vrouwen en mannen binnen hetzelfde functieniveau, cycli {period} samen",
        "en": "Women and men within the same function level, cycles {period} pooled",
    },
    "fair_window_explain": {
        "nl": "In één cyclus zijn de aantallen binnen een functieniveau vaak kleiner dan de minimumgroep en "
        "daarom afgeschermd. Hier zijn de cycli {period} samengenomen: n telt beoordelingen (wie in elke cyclus "
        "beoordeeld is, telt per cyclus mee). Odds ratio van vrouwen tegenover mannen met het {level}-"
        "betrouwbaarheidsinterval (Woolf) en de Benjamini–Hochberg q over alle samengenomen vergelijkingen. · is "
        "afgeschermd: ook samen minder dan het minimum, of een aantal dat met de getoonde cycli een afgeschermd "
        "aantal van één cyclus zou verraden.",
        "en": "Within a function level the counts of one cycle are often below the minimum group and so hidden. "
        "Here the cycles {period} are pooled: n counts ratings (someone rated in every cycle counts once per "
        "cycle). Odds ratio of women against men with its {level} confidence interval (Woolf) and the "
        "Benjamini–Hochberg q over all pooled comparisons. · is hidden: below the minimum even pooled, or a count "
        "that together with the cycles shown would give away a hidden count of one cycle.",
    },
    "fair_window_caption": {
        "nl": "{outcome}: vrouwen en mannen per functieniveau, cycli {period} samen",
        "en": "{outcome}: women and men per function level, cycles {period} pooled",
    },
    "fair_window_headers": {
        "nl": {
            "level": "Functieniveau",
            "n": "n",
            "count": "met",
            "rate": "%",
            "odds_ratio": "Odds ratio v/m",
            "ci": "BI",
            "q": "q (BH)",
        },
        "en": {
            "level": "Function level",
            "n": "n",
            "count": "with",
            "rate": "%",
            "odds_ratio": "Odds ratio w/m",
            "ci": "CI",
            "q": "q (BH)",
        },
    },
    "fair_window_sentence": {
        "nl": "{outcome}, functieniveau {level}, cycli {period} samen: vrouwen {count} van de {n} ({rate}), mannen "
        "{ref_count} van de {ref_n} ({ref_rate}); odds ratio {odds} ({ci}), q {q}.",
        "en": "{outcome}, function level {level}, cycles {period} pooled: women {count} of {n} ({rate}), men "
        "{ref_count} of {ref_n} ({ref_rate}); odds ratio {odds} ({ci}), q {q}.",
    },
    "fair_window_all_hidden": {
        "nl": "Afgeschermd in elk functieniveau, ook samengenomen: {outcomes}.",
        "en": "Hidden in every function level, even pooled: {outcomes}.",
    },
    "fair_window_significant": {
        "nl": "Verschillen die groter zijn dan toeval verklaart (q < {fdr}):",
        "en": "Differences larger than chance explains (q < {fdr}):",
    },
    "fair_window_none": {
        "nl": "Geen van de getoonde verschillen is groter dan toeval verklaart (q < {fdr}); de tabellen tonen de "
        "aantallen en de odds ratio's.",
        "en": "None of the differences shown is larger than chance explains (q < {fdr}); the tables show the "
        "counts and odds ratios.",
    },
    "fair_tests_title": {"nl": "Toetsen naar {attribute}", "en": "Tests by {attribute}"},
    "fair_tests_explain": {
        "nl": "Fisher's exacte toets is de toets die signaleert; de gepoolde z-toets voor twee proporties (de "
        "gebruikelijke toets bij de vier-vijfde-regel) staat ernaast. Binnen niveau en afdeling: de toets "
        "van Cochran–Mantel–Haenszel (CMH; χ², 1 vg). De p-waarde in de zinnen en grafieken is die zonder "
        "continuïteitscorrectie; die met correctie (standaard in R's mantelhaen.test) staat ernaast. "
        "Breslow–Day (met Tarone's correctie) toetst of de odds ratio in alle lagen gelijk is. Alle toetsen binnen "
        "lagen gebruiken alleen de lagen (niveaus of afdelingen) waarvan de aantallen van beide groepen getoond "
        "worden; 'Lagen gebruikt' zegt hoeveel dat er zijn van het totaal.",
        "en": "Fisher's exact test is the test that flags; the pooled two-proportion z-test (the usual test beside "
        "the four-fifths rule) is shown next to it. Within level and department: the Cochran–Mantel–Haenszel "
        "(CMH) test (χ², 1 df). The p-value in the sentences and charts is the one without continuity correction; the "
        "corrected one (R's mantelhaen.test default) is shown next to it. Breslow–Day (with Tarone's "
        "correction) tests whether the odds ratio is the same in every stratum. Every test within strata uses only "
        "the strata (levels or departments) in which both groups' counts are shown; 'Strata used' says how many "
        "of all there are.",
    },
    "fair_tests_headers": {
        "nl": {
            "outcome": "Uitkomst",
            "group": "Groep",
            "fisher": "Fisher p",
            "z": "z (gepoold)",
            "z_p": "p (z-toets)",
            "stratification": "Binnen",
            "strata": "Lagen gebruikt",
            "cmh": "CMH χ²",
            "cmh_p": "p",
            "cmh_corrected": "CMH χ² met correctie",
            "cmh_corrected_p": "p met correctie",
            "bd": "Breslow–Day χ²",
            "bd_df": "vg",
            "bd_p": "Breslow–Day p",
        },
        "en": {
            "outcome": "Outcome",
            "group": "Group",
            "fisher": "Fisher p",
            "z": "z (pooled)",
            "z_p": "p (z-test)",
            "stratification": "Within",
            "strata": "Strata used",
            "cmh": "CMH χ²",
            "cmh_p": "p",
            "cmh_corrected": "CMH χ² corrected",
            "cmh_corrected_p": "p corrected",
            "bd": "Breslow–Day χ²",
            "bd_df": "df",
            "bd_p": "Breslow–Day p",
        },
    },
    "fair_side_headers": {
        "nl": {
            "within_department": "OR binnen afdeling",
            "ci": "95%-BI",
            "reverses_level": "Keert om (niveau)",
            "reverses_department": "Keert om (afdeling)",
            "bd_level": "Breslow–Day p (niveau)",
            "bd_department": "Breslow–Day p (afdeling)",
        },
        "en": {
            "within_department": "OR within department",
            "ci": "95% CI",
            "reverses_level": "Reverses (level)",
            "reverses_department": "Reverses (department)",
            "bd_level": "Breslow–Day p (level)",
            "bd_department": "Breslow–Day p (department)",
        },
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
    # ------------------------------------------------------------------- pay gap: projection, cost, Art. 7/10
    "paygap_title": {
        "nl": "Waar de regels de loonkloof brengen",
        "en": "Where the rules take the pay gap",
    },
    "paygap_intro": {
        "nl": "Een simulatie van de komende jaren: iedereen krijgt elk jaar een beoordeling volgens wat vrouwen "
        "en mannen van hetzelfde niveau de laatste cycli kregen, met de verhoging die het beloningsbeleid daaraan "
        "koppelt (gemaximeerd op het schaalmaximum), incidentele beloningen en lang verlof zoals waargenomen. "
        "Wie vertrekt (zo vaak als waargenomen), wordt vervangen door een nieuwkomer van hetzelfde geslacht, "
        "betaald zoals de nieuwkomers van die categorie. Jaar 0 is het gepubliceerde cijfer van artikel 9.",
        "en": "A simulation of the coming years: every year everyone gets a rating drawn from what women and men "
        "of the same level got over the last cycles, with the raise the reward policy ties to it (capped at the "
        "scale maximum), incidental rewards and long leave as observed. Year 0 is the published Article 9 "
        "figure. Whoever leaves (as often as observed) is replaced by a newcomer of the same sex, paid as the "
        "category's newcomers.",
    },
    "paygap_fan_title": {
        "nl": "Verwachte gemiddelde loonkloof (totaal loon) per categorie",
        "en": "Projected mean pay gap (total pay) per category",
    },
    "paygap_fan_explain": {
        "nl": "Lijn: mediaan van de simulaties; band: 5%–95% van de simulaties. Positief: vrouwen verdienen "
        "minder. De stippellijnen zijn de drempel van artikel 10. Gestreepte lijnen: een scenario met andere "
        "regels.",
        "en": "Line: median of the simulations; band: 5%–95% of the simulations. Positive: women earn less. The "
        "dotted lines are the Article 10 threshold. Dashed lines: a scenario with other rules.",
    },
    "paygap_threshold": {
        "nl": "drempel artikel 10: ±{threshold}",
        "en": "Article 10 threshold: ±{threshold}",
    },
    "paygap_axis_year": {"nl": "Cyclus", "en": "Cycle"},
    "paygap_hidden_note": {
        "nl": "{count} categorie(ën) niet getoond: te weinig vrouwen of mannen, of het cijfer van artikel 9 is "
        "afgeschermd.",
        "en": "{count} categor(y/ies) not shown: too few women or men, or the Article 9 figure is hidden.",
    },
    "paygap_first_title": {
        "nl": "Wanneer de drempel van artikel 10 bereikt wordt",
        "en": "When the Article 10 threshold is reached",
    },
    "paygap_first_explain": {
        "nl": "Per categorie en scenario: de mediaan van de gemiddelde loonkloof (totaal loon) aan het eind van de "
        "horizon, en de eerste cyclus waarin de kloof in minstens de helft van de simulaties de drempel haalt.",
        "en": "Per category and scenario: the median of the mean pay gap (total pay) at the end of the horizon, "
        "and the first cycle in which the gap reaches the threshold in at least half of the simulations.",
    },
    "paygap_first_headers": {
        "nl": {
            "category": "Categorie",
            "scenario": "Scenario",
            "now": "Nu",
            "end": "Einde horizon (mediaan)",
            "range": "5%–95%",
            "first": "Drempel bereikt in",
        },
        "en": {
            "category": "Category",
            "scenario": "Scenario",
            "now": "Now",
            "end": "End of horizon (median)",
            "range": "5%–95%",
            "first": "Threshold reached in",
        },
    },
    "paygap_never": {"nl": "niet binnen de horizon", "en": "not within the horizon"},
    "paygap_cost_title": {
        "nl": "Wat het kost om een onverklaarde kloof te dichten",
        "en": "What closing an unexplained gap costs",
    },
    "paygap_cost_explain": {
        "nl": "Onverklaarde kloof: het verschil in loon bij gelijk niveau, trede en diensttijd (regressie op het "
        "logaritme van het voltijdsalaris, met 95%-interval). Waar die minstens de drempel is, de kosten per jaar "
        "om hem te dichten: gelijk percentage voor de hele groep, zo goedkoop mogelijk (de laagstbetaalden eerst) "
        "of evenwichtig (naar ieders eigen achterstand). Wie op het schaalmaximum zit, krijgt niets. Kosten met "
        "werkgeverslasten, tegenover het budget voor incidentele beloningen (deel van de loonsom).",
        "en": "Unexplained gap: the difference in pay at equal level, step and tenure (regression on the log of "
        "full-time salary, with 95% interval). Where it is at least the threshold, the cost per year of closing "
        "it: one percentage for the whole group, as cheaply as possible (the lowest paid first), or balanced (by "
        "each person's own shortfall). Nobody at the scale maximum is raised. Costs with employer on-costs, "
        "against the budget for incidental rewards (share of the payroll).",
    },
    "paygap_cost_headers": {
        "nl": {
            "category": "Categorie",
            "status": "Uitkomst",
            "unexplained": "Onverklaarde kloof",
            "interval": "95%-interval",
            "method": "Aanpak",
            "raised": "Verhoogd",
            "at_max": "Op maximum",
            "cost": "Kosten per jaar",
            "share": "Deel van het budget, goedkoopst: dit jaar / over de horizon",
            "share_projection": "Deel budget over de horizon",
            "after": "Kloof daarna",
        },
        "en": {
            "category": "Category",
            "status": "Outcome",
            "unexplained": "Unexplained gap",
            "interval": "95% interval",
            "method": "Approach",
            "raised": "Raised",
            "at_max": "At maximum",
            "cost": "Cost per year",
            "share": "Share of the budget, cheapest: this year / over the horizon",
            "share_projection": "Share of budget over the horizon",
            "after": "Gap after",
        },
    },
    "paygap_methods": {
        "nl": {"uniform": "gelijk percentage", "cheapest": "goedkoopst", "balanced": "evenwichtig"},
        "en": {"uniform": "uniform", "cheapest": "cheapest", "balanced": "balanced"},
    },
    "paygap_statuses": {
        "nl": {
            "closable": "te dichten",
            "not_closable": "niet te dichten binnen de grenzen",
            "below_threshold": "onder de drempel",
            "too_small": "te kleine groep",
        },
        "en": {
            "closable": "closable",
            "not_closable": "not closable within the limits",
            "below_threshold": "below the threshold",
            "too_small": "group too small",
        },
    },
    "paygap_small_note": {
        "nl": "{count} categorie(ën) niet in de tabel: minder vrouwen of mannen dan de kleinste groep die het "
        "beleid toelaat.",
        "en": "{count} categor(y/ies) not in the table: fewer women or men than the smallest group the policy "
        "allows.",
    },
    "paygap_no_projection": {
        "nl": "De projectie vertrekt van de laatste cyclus van de organisatie; voor deze cyclus is er geen.",
        "en": "The projection starts from the organisation's last cycle; there is none for this cycle.",
    },
    "art10_status_title": {
        "nl": "Stand van de gezamenlijke loonevaluatie",
        "en": "State of the joint pay assessment",
    },
    "art10_status_explain": {
        "nl": "Wat artikel 10, lid 2 vraagt (a–g), met de stand zoals HR die bijhoudt, de termijnen en de tweede "
        "meting na de maatregelen.",
        "en": "What Article 10(2) asks for (a–g), with the state as HR keeps it, the deadlines and the second "
        "measurement after the measures.",
    },
    "art10_no_file": {
        "nl": "Voor deze cyclus is geen loonevaluatie vastgelegd (pay_assessments/<organisatie>.yaml).",
        "en": "No pay assessment is recorded for this cycle (pay_assessments/<organisation>.yaml).",
    },
    "art10_items": {
        "nl": {
            "a": "(a) aandeel vrouwen en mannen per categorie",
            "b": "(b) gemiddeld loon en aanvullende of variabele bestanddelen per categorie",
            "c": "(c) verschillen in gemiddeld loon tussen vrouwen en mannen per categorie",
            "d": "(d) redenen voor die verschillen, op objectieve, genderneutrale criteria",
            "e": "(e) aandeel vrouwen en mannen met een loonsverbetering na terugkeer van verlof",
            "f": "(f) maatregelen tegen niet-gerechtvaardigde verschillen",
            "g": "(g) evaluatie van de maatregelen van eerdere loonevaluaties",
        },
        "en": {
            "a": "(a) proportion of female and male workers per category",
            "b": "(b) average pay and complementary or variable components per category",
            "c": "(c) differences in average pay between female and male workers per category",
            "d": "(d) reasons for those differences, on objective, gender-neutral criteria",
            "e": "(e) proportion of female and male workers with a pay improvement after return from leave",
            "f": "(f) measures to address unjustified differences",
            "g": "(g) evaluation of the measures of earlier pay assessments",
        },
    },
    "art10_statuses": {
        "nl": {
            "not_required": "niet nodig",
            "required": "vereist",
            "in_progress": "bezig",
            "completed": "afgerond",
            "corrective_action": "maatregelen lopen",
            "second_measurement": "tweede meting",
            "closed": "afgesloten",
            "todo": "te doen",
            "done": "klaar",
        },
        "en": {
            "not_required": "not required",
            "required": "required",
            "in_progress": "in progress",
            "completed": "completed",
            "corrective_action": "measures under way",
            "second_measurement": "second measurement",
            "closed": "closed",
            "todo": "to do",
            "done": "done",
        },
    },
    "art10_fields": {
        "nl": {
            "status": "Stand",
            "categories": "Categorieën",
            "report_date": "Rapport artikel 9",
            "justification_deadline": "Rechtvaardigen of herstellen vóór",
            "assessment_deadline": "Loonevaluatie vóór",
            "corrective_action": "Maatregel",
            "corrective_action_deadline": "Maatregel vóór",
            "second_measurement_due": "Tweede meting vóór",
            "second_measurement_date": "Tweede meting gedaan op",
            "second_measurement_gap": "Kloof bij tweede meting",
            "item": "Onderdeel",
            "item_status": "Stand",
            "item_note": "Toelichting",
            "field": "Gegeven",
            "value": "Waarde",
        },
        "en": {
            "status": "State",
            "categories": "Categories",
            "report_date": "Article 9 report",
            "justification_deadline": "Justify or remedy by",
            "assessment_deadline": "Pay assessment by",
            "corrective_action": "Measure",
            "corrective_action_deadline": "Measure by",
            "second_measurement_due": "Second measurement by",
            "second_measurement_date": "Second measurement done on",
            "second_measurement_gap": "Gap at second measurement",
            "item": "Item",
            "item_status": "State",
            "item_note": "Note",
            "field": "Field",
            "value": "Value",
        },
    },
    # The Article 7 letter (pipelines/letter_cli.py): plain text, one employee.
    "letter": {
        "nl": {
            "title": "Informatie over uw loon (artikel 7, Richtlijn (EU) 2023/970)",
            "intro": "U vroeg naar uw loonniveau en naar het gemiddelde loon van de medewerkers in uw "
            "categorie, uitgesplitst naar geslacht. Cijfers over cyclus {cycle}, {organization}.",
            "category": "Uw categorie (functieniveau): {category}",
            "own": "Uw loon",
            "basic": "Basisloon per jaar (salaris × deeltijdfactor {fte})",
            "variable": "Variabel loon per jaar (beloningen)",
            "total": "Totaal loon per jaar",
            "averages": "Gemiddeld loon in uw categorie",
            "group": "{sex} ({n} personen)",
            "sexes": {"F": "Vrouwen", "M": "Mannen"},
            "withheld": "niet vermeld: buiten u zijn er minder dan {minimum} {sex_lower} in deze categorie, "
            "zodat het gemiddelde het loon van een collega zou prijsgeven.",
            "note": "Loon zoals in het loonkloofrapport (artikel 9): bruto jaarloon werkelijk betaald, "
            "deeltijd naar verhouding; variabel loon is de waarde van alle toegekende beloningen. Een "
            "gemiddelde wordt alleen gegeven over minstens {minimum} collega's.",
            "closing": "Met vragen kunt u terecht bij HR. U mag deze informatie delen om gelijke beloning af "
            "te dwingen (artikel 7, lid 5).",
        },
        "en": {
            "title": "Information about your pay (Article 7, Directive (EU) 2023/970)",
            "intro": "You asked for your pay level and the average pay of the workers in your category, broken "
            "down by sex. Figures for cycle {cycle}, {organization}.",
            "category": "Your category (function level): {category}",
            "own": "Your pay",
            "basic": "Basic pay per year (salary × part-time factor {fte})",
            "variable": "Variable pay per year (rewards)",
            "total": "Total pay per year",
            "averages": "Average pay in your category",
            "group": "{sex} ({n} people)",
            "sexes": {"F": "Women", "M": "Men"},
            "withheld": "not given: besides you there are fewer than {minimum} {sex_lower} in this category, "
            "so the average would reveal a colleague's pay.",
            "note": "Pay as in the pay gap report (Article 9): gross annual pay actually paid, part-time pro "
            "rata; variable pay is the value of every reward granted. An average is only given over at least "
            "{minimum} colleagues.",
            "closing": "Please contact HR with any questions. You may share this information to enforce equal "
            "pay (Article 7(5)).",
        },
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
    # ------------------------------------------------------------ the policy version a page used (#20)
    "policy_used": {
        "nl": "{name} (beleid {id}, versie {version}), {period}",
        "en": "{name} (policy {id}, version {version}), {period}",
    },
    "policy_of_page": {"nl": "Regels: {policy}.", "en": "Rules: {policy}."},
    "policy_valid_between": {"nl": "geldig van {start} tot {end}", "en": "in force from {start} until {end}"},
    "policy_valid_from": {"nl": "geldig vanaf {start}", "en": "in force from {start}"},
    "policy_valid_until": {"nl": "geldig tot {end}", "en": "in force until {end}"},
    "policy_valid_always": {"nl": "zonder begin- of einddatum", "en": "without a start or end date"},
    "policies_used": {"nl": "Gebruikte regels per cyclus", "en": "Rules used per cycle"},
    "policy_for_cycles": {
        "nl": "{organization}, cyclus {cycles}: {policy}.",
        "en": "{organization}, cycle {cycles}: {policy}.",
    },
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
        "names": {
            "nl": ["Cochran–Mantel–Haenszel", "Mantel–Haenszel", "CMH"],
            "en": ["Cochran–Mantel–Haenszel", "Mantel–Haenszel", "CMH"],
        },
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
