"""Survey definitions: the shipped survey loads in both languages, and every
mistake a reviewer can make in a survey file is one error naming file and key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indicator_defs.loader import DefinitionError, default_root
from indicator_defs.survey_loader import load_survey, load_surveys
from indicator_defs.survey_model import ItemKind, MeasureKind
from tests.langs import in_english


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """These tests pin English messages; tests/cli/test_errors.py pins the Danish."""
    in_english(monkeypatch)


SURVEYS = load_surveys()


def test_the_shipped_survey_asks_about_ten_items_in_four_domains_in_both_languages():
    px = SURVEYS["PX"]
    rated = px.scale_items()
    assert len(rated) == 10
    assert {i.domain for i in rated} == {"access", "communication", "involvement", "coordination"}
    for item in px.items.values():
        assert item.text["da"] != item.text["en"]
    assert [i.kind for i in px.items.values()].count(ItemKind.FREE_TEXT) == 1
    kinds = {m.kind for m in px.measures.values()}
    assert kinds == {MeasureKind.TOP_BOX, MeasureKind.MEAN}
    mean = px.measures["PX-MEAN"]
    assert (mean.low, mean.high) == (1.0, 5.0)
    assert all((m.low, m.high) == (0.0, 1.0) for m in px.measures.values() if m is not mean)


@pytest.fixture
def survey_file(tmp_path: Path) -> Path:
    target = tmp_path / "surveys" / "PX.toml"
    target.parent.mkdir()
    shutil.copy(default_root() / "surveys" / "PX.toml", target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        ('scale = "agree5"', 'scale = "agree7"', "items[0].scale", "unknown scale 'agree7'"),
        ('items = ["Q01", "Q02"]', 'items = ["Q01", "Q99"]', "measures[0].items", "unknown item"),
        ('items = ["Q01", "Q02"]', 'items = ["Q01", "Q11"]', "measures[0].items", "free text"),
        ("bounds = [1, 5]", "bounds = [0, 5]", "measures[4].bounds", "1 <= low < high <= 5"),
        ("top_box = 4", "top_box = 6", "scales[0].top_box", "at most 5"),
        ('"Helt enig"]', '"Helt enig", "Mere end helt enig"]', "scales[0].labels.da", "5 labels"),
        ('kind = "mean"', 'kind = "median"', "measures[4].kind", "must be one of"),
        ('id = "Q02"', 'id = "Q01"', "items[1].id", "declared twice"),
        ('id = "PX"', 'id = "PY"', "id", "file name 'PX'"),
        ("version = 1", "version = 1\nowner = 'x'", "owner", "unknown key"),
    ],
)
def test_a_bad_survey_is_one_error_naming_file_and_key(survey_file, old, new, key, words):
    _edit(survey_file, old, new)
    with pytest.raises(DefinitionError) as caught:
        load_survey(survey_file)
    assert caught.value.path == "surveys/PX.toml"
    assert caught.value.key == key
    assert words in caught.value.message


def test_the_error_inside_an_array_table_names_its_line(survey_file):
    _edit(survey_file, 'scale = "agree5"', 'scale = "agree7"')
    with pytest.raises(DefinitionError) as caught:
        load_survey(survey_file)
    line = survey_file.read_text(encoding="utf-8").splitlines()[caught.value.line - 1]
    assert line == "[[items]]"


def test_the_hash_follows_content_not_layout(survey_file):
    before = load_survey(survey_file).content_hash
    _edit(survey_file, "version = 1", "# a comment\nversion    =   1")
    assert load_survey(survey_file).content_hash == before
    _edit(survey_file, "Helt enig", "Meget enig")
    assert load_survey(survey_file).content_hash != before


def test_a_catalogue_without_surveys_says_so(tmp_path):
    with pytest.raises(DefinitionError, match="directory is missing"):
        load_surveys(tmp_path)
    (tmp_path / "surveys").mkdir()
    with pytest.raises(DefinitionError, match="holds no survey definitions"):
        load_surveys(tmp_path)
