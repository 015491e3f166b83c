"""The federation file model and whole-federation generation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from client.synth.federation import synthesize_federation
from client.synth.layout import allocate_regions, plan_federation
from client.synth.output import SynthOutputError
from client.synth.quality import QualityProfile
from common.federation import (
    Cluster,
    Federation,
    FederationError,
    Practice,
    SyntheticInfo,
    federation_to_toml,
    load_federation,
    write_federation,
)


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLYNGE_LANG", "en")


GOOD = """\
format = "klynge-federation"
version = 1
name = "Test"

[[clusters]]
id = "K01"
region = "Hovedstaden"

[[clusters]]
id = "K02"
name = "Klynge Aarhus"
region = "Midtjylland"

[[practices]]
id = "123456"
cluster = "K01"
extract = "extracts/123456"
list_size = 2100

[[practices]]
id = "P0002"
name = "Lægerne Torvet"
cluster = "K02"
region = "Midtjylland"
extract = "extracts/P0002"
list_size = 3400
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "federation.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_hand_written_file(tmp_path: Path) -> None:
    fed = load_federation(_write(tmp_path, GOOD))
    assert [c.id for c in fed.clusters] == ["K01", "K02"]
    assert fed.clusters[0].name == "K01"  # name defaults to the id
    first, second = fed.practices
    assert (first.id, first.region, first.list_size) == ("123456", "Hovedstaden", 2100)
    assert second.name == "Lægerne Torvet"
    assert fed.extract_dir(second) == tmp_path / "extracts" / "P0002"
    assert [r.name for r in fed.regions] == ["Hovedstaden", "Midtjylland"]
    assert fed.practices_in("K02") == (second,)
    assert fed.synthetic is None


def test_round_trip_is_exact_and_deterministic(tmp_path: Path) -> None:
    fed = Federation(
        name="Rundtur æøå",
        clusters=(Cluster("K01", "Klynge Nord", "Nordjylland"), Cluster("K02", "S", "Sjælland")),
        practices=(
            Practice("P0001", 'Læge "Ø"', "K01", "Nordjylland", "practices/P0001", 1700,
                     QualityProfile.typical().as_pairs()),
            Practice("654321", "Lægerne", "K02", "Sjælland", "x/654321", 0),
        ),
        synthetic=SyntheticInfo("klynge synth", 1, 7, date(2026, 9, 30), 10, "csv", 2000),
    )  # fmt: skip
    path = tmp_path / "federation.toml"
    write_federation(fed, path)
    again = load_federation(path)
    assert again == fed
    assert again.base_dir == tmp_path
    assert federation_to_toml(again) == path.read_text(encoding="utf-8")
    assert "[[clusters]]" in path.read_text(encoding="utf-8")  # tables, never inline
    assert sorted(p.name for p in tmp_path.iterdir()) == ["federation.toml"]  # no temp left


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("version = 1", "version = 2"), "key 'version'"),
        (('name = "Test"', 'name = "Test"\nowner = "x"'), r"key 'owner': unknown key"),
        (('region = "Hovedstaden"', 'region = "Region H"'),
         r":5, key 'clusters\[0\]\.region': unknown region 'Region H'"),
        (('cluster = "K02"', 'cluster = "K09"'),
         r":20, key 'practices\[1\]\.cluster': unknown cluster 'K09'"),
        (('id = "P0002"', 'id = "123456"'), r":20, key 'practices\[1\]\.id': duplicate"),
        (('id = "P0002"', 'id = "abc"'), "practice id 'abc' must be 6 digits"),
        (('id = "K02"', 'id = "C2"'), "cluster id 'C2' must look like K01"),
        (('region = "Midtjylland"\nextract', 'region = "Sjælland"\nextract'),
         "contradicts cluster K02, which is in Midtjylland"),
        (("list_size = 3400", "list_size = -1"),
         r"key 'practices\[1\]\.list_size': must be at least 0"),
        (("list_size = 3400", 'list_size = "many"'),
         r"key 'practices\[1\]\.list_size': must be an integer"),
        (("list_size = 3400", "list_size = 3400\nsize = 1"),
         r"key 'practices\[1\]\.size': unknown key"),
        (('extract = "extracts/P0002"', 'extract = "/abs/P0002"'), "must be a relative path"),
        (('extract = "extracts/P0002"', 'extract = "extracts/123456"'),
         "also the extract of practice '123456'"),
        (('extract = "extracts/P0002"\n', ""),
         r":20, key 'practices\[1\]\.extract': required key is missing"),
        (("list_size = 2100", "list_size = 2100 ="), r"federation\.toml:18: not valid TOML"),
    ],
)  # fmt: skip
def test_bad_files_name_line_and_key(tmp_path: Path, change: tuple[str, str], message: str):
    old, new = change
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1) if old != "version = 1" else
                  GOOD.replace(old, new))  # fmt: skip
    with pytest.raises(FederationError, match=message) as info:
        load_federation(path)
    assert str(path) in str(info.value)


def test_missing_file_and_empty_federation(tmp_path: Path) -> None:
    with pytest.raises(FederationError, match="not found"):
        load_federation(tmp_path / "nope.toml")
    header = 'format = "klynge-federation"\nversion = 1\n'
    with pytest.raises(FederationError, match=r"no \[\[clusters\]\] tables"):
        load_federation(_write(tmp_path, header))


def test_regions_follow_practice_counts() -> None:
    assert allocate_regions(3) == ["Hovedstaden", "Midtjylland", "Syddanmark"]
    assert len(set(allocate_regions(20))) == 5
    assert allocate_regions(7) == [
        "Hovedstaden", "Hovedstaden", "Midtjylland", "Midtjylland", "Syddanmark", "Sjælland",
        "Nordjylland",
    ]  # fmt: skip


def test_layout_matches_danish_practice_figures() -> None:
    _, plans = plan_federation(np.random.default_rng(0), 2000, 40)
    gps = np.array([p.gps for p in plans])
    sizes = np.array([p.list_size for p in plans])
    assert 1.65 <= gps.mean() <= 1.95  # ~1.8 GPs per practice
    assert 0.22 <= (gps == 1).sum() / gps.sum() <= 0.32  # ~27 % of GPs solo
    assert 1450 <= sizes.sum() / gps.sum() <= 1750  # ~1,600 patients per GP
    per_cluster = np.bincount([int(p.cluster[1:]) for p in plans])[1:]
    assert per_cluster.max() - per_cluster.min() <= 1
    _, fixed = plan_federation(np.random.default_rng(0), 5, 1, patients_override=123)
    assert {p.list_size for p in fixed} == {123}


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_gives_byte_identical_federations(tmp_path: Path) -> None:
    kw = dict(n_practices=3, n_clusters=2, seed=5, years=2, patients_override=300)
    a = synthesize_federation(tmp_path / "a", **kw)
    synthesize_federation(tmp_path / "b", **kw)
    synthesize_federation(tmp_path / "c", **{**kw, "seed": 6})
    ta, tb, tc = _tree(tmp_path / "a"), _tree(tmp_path / "b"), _tree(tmp_path / "c")
    assert ta == tb
    assert len(ta) == 1 + 1 + 3 * 6  # marker, federation.toml, 5 tables and answers per practice
    assert ta["practices/P0001/patients.csv"] != tc["practices/P0001/patients.csv"]
    assert load_federation(tmp_path / "a" / "federation.toml") == a
    assert a.synthetic is not None and a.synthetic.seed == 5


def test_practice_data_do_not_depend_on_federation_size(tmp_path: Path) -> None:
    kw = dict(seed=9, years=1, patients_override=200)
    synthesize_federation(tmp_path / "two", n_practices=2, n_clusters=1, **kw)
    synthesize_federation(tmp_path / "three", n_practices=3, n_clusters=1, **kw)
    two, three = _tree(tmp_path / "two"), _tree(tmp_path / "three")
    assert two["practices/P0002/encounters.csv"] == three["practices/P0002/encounters.csv"]


def test_output_directory_rules(tmp_path: Path) -> None:
    kw = dict(n_practices=2, n_clusters=1, years=1, patients_override=100)
    target = tmp_path / "out"
    synthesize_federation(target, seed=1, **kw)
    synthesize_federation(target, seed=2, **kw)  # a previous synth output: replaced
    fed = load_federation(target / "federation.toml")
    assert fed.synthetic is not None and fed.synthetic.seed == 2

    (target / "notes.txt").write_text("mine")
    with pytest.raises(SynthOutputError, match=r"notes\.txt"):
        synthesize_federation(target, seed=3, **kw)
    assert (target / "notes.txt").read_text() == "mine"

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("precious")
    with pytest.raises(SynthOutputError, match=r"thesis\.docx"):
        synthesize_federation(foreign, seed=1, **kw)
    assert sorted(p.name for p in foreign.iterdir()) == ["thesis.docx"]

    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(SynthOutputError, match="not a directory"):
        synthesize_federation(a_file, seed=1, **kw)


def test_crashed_run_is_recognised_and_cleaned(tmp_path: Path) -> None:
    target = tmp_path / "out"
    synthesize_federation(target, n_practices=2, n_clusters=1, seed=1, years=1,
                          patients_override=100)  # fmt: skip
    (target / "federation.toml").unlink()  # as if the run died before the last step
    (target / "practices" / "P0002" / ".patients.csv.abcd1234.tmp").write_text("half")
    synthesize_federation(target, n_practices=1, n_clusters=1, seed=1, years=1,
                          patients_override=100)  # fmt: skip
    assert sorted(p.name for p in (target / "practices").iterdir()) == ["P0001"]


def test_rejects_impossible_layouts(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="practices"):
        synthesize_federation(tmp_path / "x", n_practices=2, n_clusters=3)
    assert not (tmp_path / "x").exists()
