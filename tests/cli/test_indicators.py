"""`klynge indicators show`: the new constructs (episodes, days covered, deaths) in words.

The words come from the same model objects the engines evaluate, so these
tests pin that each construct is rendered, in Danish and in English, with
the numbers a reviewer needs (windows, gaps, look-backs, caps).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from typer.testing import CliRunner

from common.i18n import set_lang
from indicator_defs import load_catalogue
from indicator_defs.danish import AREAS, CODELIST_TITLES, SOURCES
from klynge.catalogue_view import target_text
from klynge.cli import root
from tests.browser.danish import scan

# An extract column named in OP-01's description (what a practice's IT person looks up).
COLUMN_NAMES = frozenset({"days_supply"})

SHOWN = {
    ("AB-04", "en"): [
        "number of episodes: each date with diagnosis",
        "[U71] in the 365 days ending 3 days before the reference date",
        "new: no such code in the 28 days before, while on the list",
        "[J01] from 3 days before to 3 days after",
        "at most 2 episode(s) count per patient",
    ],
    ("AB-04", "da"): [
        "antal episoder: hver dato med diagnose",
        "[U71] i de 365 dage, der slutter 3 dage før referencedatoen",
        "ny: ingen sådan kode i de 28 dage før, og på listen i dem",
        "[J01] fra 3 dage før til 3 dage efter",
        "højst 2 episode(r) tæller pr. patient",
    ],
    ("AB-05", "en"): ["[J01] on the day or up to 3 days after"],
    ("AB-05", "da"): ["[J01] samme dag eller op til 3 dage efter"],
    ("MH-02", "en"): [
        "prescription of Antidepressants [N06A] in the 365 days ending 42 days before",
        "in the 365 days before",
        "14-42 days after",
        "at most 1 episode(s) count per patient",
    ],
    ("MH-02", "da"): ["14-42 dage efter", "højst 1 episode(r) tæller pr. patient"],
    ("OP-01", "en"): [
        "covered by Opioids [N02A] on at least 90 of the last 365 days",
        "otherwise one DDD a day",
    ],
    ("OP-01", "da"): ["dækket af Opioider [N02A] mindst 90 af de seneste 365 dage"],
    ("OP-02", "en"): ["covered by both Opioids [N02A] and", "on at least 14 of the last 365"],
    ("OP-02", "da"): ["dækket af både Opioider [N02A] og"],
    ("PAL-01", "en"): [
        "died in the last 365 days while on the practice list",
        "as of the day of death (windows look back from it):",
        "[0411] in the last 30 days",
    ],
    ("PAL-01", "da"): [
        "død inden for de seneste 365 dage, mens patienten var på praksisens liste",
        "på dødsdagen (vinduer regnes bagud fra den):",
    ],
}


@pytest.mark.parametrize(("indicator_id", "lang"), sorted(SHOWN))
def test_new_constructs_are_shown_in_words(indicator_id: str, lang: str) -> None:
    result = CliRunner().invoke(
        root, ["--lang", lang, "indicators", "show", indicator_id], env={"COLUMNS": "400"}
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for phrase in SHOWN[(indicator_id, lang)]:
        assert phrase in text, (phrase, text)


@pytest.mark.parametrize(
    ("lang", "target", "goal"),
    [
        (
            "da",
            "Mål: 95 % (højere)",
            "National målsætning: DDiD: mindst 95 % screenet for albuminuri",
        ),
        (
            "en",
            "Target: 95% (higher)",
            "National goal: DDiD: at least 95% screened for albuminuria",
        ),
    ],
)
def test_target_and_national_goal_in_the_readers_language(
    lang: str, target: str, goal: str
) -> None:
    result = CliRunner().invoke(
        root, ["--lang", lang, "indicators", "show", "DM-04"], env={"COLUMNS": "400"}
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.replace("\xa0", " ").split())
    assert target in text and goal in text


def test_a_target_keeps_its_decimals_and_its_scale() -> None:
    dm04 = load_catalogue().indicators["DM-04"]
    set_lang("da")
    try:
        shown = [target_text(replace(dm04, target=x)) for x in (0.95, 0.125)]
        per_mille = target_text(replace(dm04, target=0.35, scale=1000))
    finally:
        set_lang(None)
    assert shown == ["95\xa0%", "12,5\xa0%"]
    assert per_mille == "350 pr.\xa01.000"
    assert target_text(replace(dm04, target=None)) is None


@pytest.mark.parametrize("indicator_id", sorted(load_catalogue().indicators))
def test_every_indicator_is_shown_in_plain_danish(indicator_id: str) -> None:
    """Code lists, areas and sources included: nothing English, no raw codes."""
    result = CliRunner().invoke(
        root, ["indicators", "show", indicator_id], env={"COLUMNS": "400", "KLYNGE_LANG": "da"}
    )
    assert result.exit_code == 0, result.output
    assert scan(result.output, COLUMN_NAMES) == []
    english = load_catalogue().indicators[indicator_id].title["en"]
    assert english not in result.output  # no English title in brackets beside the Danish


def test_the_list_names_every_area_in_danish() -> None:
    result = CliRunner().invoke(
        root, ["indicators", "list"], env={"COLUMNS": "400", "KLYNGE_LANG": "da"}
    )
    assert result.exit_code == 0, result.output
    assert scan(result.output) == []
    assert "psykisk sygdom" in result.output and "mental_health" not in result.output


def test_every_code_list_area_and_source_has_its_danish_words() -> None:
    """A new definition file cannot ship English-only words to a Danish reader."""
    catalogue = load_catalogue()
    assert set(catalogue.codelists) <= set(CODELIST_TITLES)
    assert {ind.area for ind in catalogue.indicators.values()} <= set(AREAS)
    assert {ind.source for ind in catalogue.indicators.values()} <= set(SOURCES)
