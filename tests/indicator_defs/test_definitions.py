"""The definition loader: bad definitions are rejected with file and key named,
hashes depend on content only, and code matching follows the binding rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indicator_defs import DefinitionError, load_catalogue
from indicator_defs.codelists import Codelist, CodeSystem, normalise_entries
from indicator_defs.loader import default_root
from indicator_defs.walk import codelists_used
from tests.langs import in_english


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """These tests pin English messages; tests/cli/test_errors.py pins the Danish."""
    in_english(monkeypatch)


CAT = load_catalogue()


def test_catalogue_covers_at_least_20_indicators_with_both_languages():
    assert len(CAT.indicators) >= 20
    for ind in CAT.indicators.values():
        assert ind.title["da"].strip() and ind.title["en"].strip()
        assert ind.description["da"] != ind.description["en"]
        assert ind.national_goal["da"] != ind.national_goal["en"], ind.id  # every one has a goal


def test_every_codelist_is_used_and_every_hash_is_unique():
    used = set().union(*(codelists_used(i) for i in CAT.indicators.values()))
    assert used == set(CAT.codelists)
    hashes = [i.content_hash for i in CAT.indicators.values()]
    assert len(set(hashes)) == len(hashes)


@pytest.fixture
def defs(tmp_path: Path) -> Path:
    root = tmp_path / "defs"
    shutil.copytree(default_root() / "definitions", root / "definitions")
    shutil.copytree(default_root() / "codelists", root / "codelists")
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_hash_ignores_whitespace_comments_and_key_order(defs: Path):
    p = defs / "definitions" / "DM-01.toml"
    lines = p.read_text(encoding="utf-8").splitlines()
    # move the id line to the end of the top-level keys, add comments and blank lines
    reordered = [lines[1], lines[0], "# a reviewer's comment", "", *lines[2:]]
    p.write_text("\n".join(reordered) + "\n", encoding="utf-8")
    assert (
        load_catalogue(defs).indicators["DM-01"].content_hash
        == CAT.indicators["DM-01"].content_hash
    )


def test_hash_changes_with_content_and_with_codelists(defs: Path):
    edit(defs / "definitions" / "DM-01.toml", "window_days = 365", "window_days = 366")
    assert (
        load_catalogue(defs).indicators["DM-01"].content_hash
        != CAT.indicators["DM-01"].content_hash
    )
    edit(defs / "codelists" / "hypnotics.toml", '"N05CF"', '"N05CF", "N05CM"')
    reloaded = load_catalogue(defs)
    assert reloaded.indicators["BZ-02"].content_hash != CAT.indicators["BZ-02"].content_hash
    assert reloaded.indicators["BZ-01"].content_hash == CAT.indicators["BZ-01"].content_hash


@pytest.mark.parametrize(
    ("file", "old", "new", "key", "message"),
    [
        ("DM-01.toml", 'id = "DM-01"', 'id = "DM-01', None, "not valid TOML"),
        (
            "DM-01.toml",
            'codelist = ["hba1c", "hba1c_local"]',
            'codelist = ["hba1c", "hba1c_typo"]',
            "numerator.criterion.lab.codelist",
            "unknown code list 'hba1c_typo'",
        ),
        ("DM-01.toml", "{ lab = {", "{ labs = {", "numerator.criterion.labs", "unknown criterion"),
        (
            "DM-01.toml",
            "window_days = 365",
            "window_days = 0",
            "numerator.criterion.lab.window_days",
            "positive number of days",
        ),
        (
            "DM-01.toml",
            "window_days = 365",
            "window_dayz = 365",
            "numerator.criterion.lab.window_days",
            "is required",
        ),
        (
            "DM-01.toml",
            "window_days = 365",
            "window_days = 365, every = 2",
            "numerator.criterion.lab.every",
            "unknown key",
        ),
        (
            "DM-01.toml",
            "{ age = { min = 18 } }",
            "{ age = { min = 18, mx = 3 } }",
            "denominator.population.all[1].age.mx",
            "unknown key",
        ),
        ("DM-01.toml", 'unit = "patients"', 'unit = "people"', "unit", "patients"),
        (
            "DM-01.toml",
            'codelist = ["hba1c", "hba1c_local"]',
            'codelist = ["hba1c", "statins"]',
            "numerator.criterion.lab.codelist",
            "ATC, which cannot match lab rows",
        ),
        ("DM-01.toml", "  { listed = true },\n", "", "denominator.population", "listed = true"),
        (
            "DM-01.toml",
            "age_bands = [18, 40, 65, 80]",
            "age_bands = [0, 40, 40]",
            "strata.age_bands",
            "strictly ascending",
        ),
        (
            "BZ-02.toml",
            "age_bands = [65, 75, 85]",
            "age_bands = [70, 75, 85]",
            "strata.age_bands",
            "admits younger",
        ),
        ("AB-01.toml", "cap_per_patient = 4\n", "", "cap_per_patient", "bounds sensitivity"),
        (
            "DM-01.toml",
            'title = { da = "HbA1c målt", en = "HbA1c measured" }',
            'title = { da = "HbA1c målt" }',
            "title.en",
            "required key is missing",
        ),
        (
            "DM-01.toml",
            '{ lab = { codelist = ["hba1c", "hba1c_local"], window_days = 365 } }',
            '{ lab = { codelist = ["hba1c", "hba1c_local"], window_days = 365, '
            "latest = { eq = 3 } } }",
            "numerator.criterion.lab.latest.eq",
            "unknown comparison",
        ),
        # issue 15: episodes, days covered and deaths
        (
            "AB-04.toml",
            "window_days = 365, follow_up_days = 3, new_after_days = 28 } }\nwith = [\n"
            '  { prescription = { codelist = "antibacterials", from_day = -3, to_day = 3 } },\n]'
            "\n\n[numerator",
            "window_days = 365, follow_up_days = 3, new_after_days = 28 } }\nwith = [\n"
            '  { prescription = { codelist = "antibacterials", from_day = -3, to_day = 4 } },\n]'
            "\n\n[numerator",
            "denominator.events.episodes.with[0].prescription.to_day",
            "beyond the anchor's follow_up_days (3)",
        ),
        (
            "AB-05.toml",
            '{ prescription = { codelist = "antibacterials", from_day = 0, to_day = 3 } }',
            '{ prescription = { codelist = "antibacterials", from_day = 3, to_day = 0 } }',
            "numerator.events.episodes.with[0].prescription.from_day",
            "must not be after to_day",
        ),
        (
            "AB-05.toml",
            'codelist = "urti", window_days = 365',
            'codelist = "urti", window_days = "all"',
            "denominator.events.episodes.anchor.condition.window_days",
            "must be a number of days for an anchor",
        ),
        (
            "AB-05.toml",
            '[denominator.events.episodes]\nanchor = { condition = { codelist = "urti"',
            '[denominator.events.episodes]\nanchor = { procedure = { codelist = "urti"',
            "denominator.events.episodes.anchor.procedure",
            "unknown table (allowed: condition, prescription, lab, encounter)",
        ),
        (
            "MH-02.toml",
            "window_days = 365, follow_up_days = 42, new_after_days = 365 } }\nwith",
            "window_days = 365, follow_up_days = 42, new_after_days = 364 } }\nwith",
            "numerator.events.episodes.anchor",
            "must equal the denominator's anchor",
        ),
        (
            "AB-04.toml",
            '  { prescription = { codelist = "antibacterials", from_day = -3, to_day = 3 } },\n'
            '  { prescription = { codelist = "uti_first_line"',
            '  { prescription = { codelist = "uti_first_line"',
            "numerator.events.episodes.with",
            "must repeat every requirement of the denominator's episodes",
        ),
        (
            "PAL-01.toml",
            '{ at_death = { encounter = { codelist = "home_visit", window_days = 30 } } }',
            "{ at_death = { all = [ { listed = true }, "
            '{ encounter = { codelist = "home_visit", window_days = 30 } } ] } }',
            "numerator.criterion.at_death",
            "'listed' has no meaning inside at_death",
        ),
        (
            "PAL-01.toml",
            "  { died = { window_days = 365 } },\n",
            "",
            "denominator.population",
            "{ died = {...} }",
        ),
        (
            "OP-01.toml",
            "window_days = 365, min_days = 90",
            "window_days = 60, min_days = 90",
            "numerator.criterion.days_covered.min_days",
            "cannot exceed window_days (60)",
        ),
        (
            "DM-04.toml",
            'national_goal = { da = "DDiD: mindst 95 % screenet for albuminuri hvert andet år", '
            'en = "DDiD: at least 95% screened for albuminuria every second year" }',
            'national_goal = "DDiD: at least 95% screened for albuminuria every second year"',
            "national_goal",
            "must be a table with da and en",
        ),
        (
            "OP-02.toml",
            'together_with = ["anxiolytic_benzodiazepines", "hypnotics"]',
            'together_with = ["anxiolytic_benzodiazepines", "hypnotic"]',
            "numerator.criterion.days_covered.together_with",
            "unknown code list 'hypnotic'",
        ),
    ],
)
def test_bad_definition_names_file_and_key(defs, file, old, new, key, message):
    edit(defs / "definitions" / file, old, new)
    with pytest.raises(DefinitionError) as info:
        load_catalogue(defs)
    err = info.value
    assert err.file == f"definitions/{file}"
    assert err.key == key
    assert message in str(err)
    assert f"definitions/{file}" in str(err)


@pytest.mark.parametrize(
    ("file", "old", "new", "key", "message"),
    [
        (
            "t2d.toml",
            'system = "ICPC2"',
            'system = "ICPC3"',
            "system",
            "unknown code system 'ICPC3'",
        ),
        ("t2d.toml", '"T90"', '"T9O"', "codes", "not an ICPC-2 code"),
        ("ihd.toml", '"K74-K76"', '"K76-K74"', "codes", "ascend"),
        ("hba1c.toml", '"NPU:NPU27300"', '"NPU27300"', "codes", "SYSTEM:CODE"),
        ("t2d.toml", 'name = "t2d"', 'name = "diabetes"', "name", "file name"),
        (
            "t2d.toml",
            'codes = ["T90"]',
            'codes = ["T90"]\nexclude = ["T89"]',
            "exclude",
            "only meaningful for ATC",
        ),
    ],
)
def test_bad_codelist_names_file_and_key(defs, file, old, new, key, message):
    edit(defs / "codelists" / file, old, new)
    with pytest.raises(DefinitionError) as info:
        load_catalogue(defs)
    assert info.value.file == f"codelists/{file}"
    assert info.value.key == key
    assert message in str(info.value)


def _cl(system: CodeSystem, codes: list[str], exclude: list[str] = ()) -> Codelist:
    return Codelist(
        "x",
        "1",
        system,
        "x",
        normalise_entries(system, codes),
        normalise_entries(system, list(exclude)),
        "test",
        "h",
    )


def test_matching_rules():
    icpc = _cl(CodeSystem.ICPC2, ["K74-K76", "T90"])
    assert icpc.codes == ("K74", "K75", "K76", "T90")
    assert icpc.matches("K75", "ICPC2") and icpc.matches("T90", "ICPC2")
    assert not icpc.matches("K77", "ICPC2") and not icpc.matches("T90", "ICD10")
    assert not icpc.matches("T90.00", "ICPC2")  # ICPC-2 matching is exact
    atc = _cl(CodeSystem.ATC, ["N05A"], ["N05AN"])
    assert atc.matches("N05AH03") and atc.matches("N05A")
    assert not atc.matches("N05AN01") and not atc.matches("N05B")
    lab = _cl(CodeSystem.LAB, ["NPU:NPU27300"])
    assert lab.matches("NPU27300", "NPU") and not lab.matches("NPU27300", "DNK")
    assert not lab.matches("NPU273001", "NPU")  # exact, not prefix
    icd = _cl(CodeSystem.ICD10, ["C00-C02"])
    assert icd.matches("C01.9", "ICD10") and icd.matches("C019", "ICD10")
    assert not icd.matches("C03", "ICD10") and not icd.matches("C01", "ICPC2")
    svc = _cl(CodeSystem.SERVICE, ["0120"])
    assert svc.matches("0120") and not svc.matches("01201")


def test_max_contribution_reflects_unit_and_cap():
    assert CAT.indicators["DM-01"].max_contribution == (1, 1)
    assert CAT.indicators["AB-01"].max_contribution == (4, 1)
    assert CAT.indicators["AB-02"].max_contribution == (4, 4)
    # episodes repeat, so they are capped like events: the bound the privacy layer uses
    assert CAT.indicators["AB-04"].max_contribution == (2, 2)
    assert CAT.indicators["AB-05"].max_contribution == (2, 2)
    assert CAT.indicators["MH-02"].max_contribution == (1, 1)
    for patient_level in ("OP-01", "OP-02", "PAL-01"):
        assert CAT.indicators[patient_level].max_contribution == (1, 1)
