"""Manifest schema, canonical hash, rendering and diff."""

from __future__ import annotations

import re
import tomllib
from dataclasses import field, make_dataclass, replace
from datetime import date

import pytest
import tomli_w

from privacy.catalogue import definition_mismatches, installed_catalogue
from privacy.defaults import default_manifest_path
from privacy.errors import ManifestError
from privacy.manifest import Bounding, Text, load_manifest, parse_manifest, to_document
from privacy.manifest_diff import diff_manifests, format_change
from privacy.manifest_toml import render_manifest, strip_signature
from privacy.plan import privacy_plan, validate_plan
from tests.langs import in_english
from tests.privacy.builders import default_manifest, indicator, make_manifest


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """These tests pin English messages; tests/cli/test_errors.py pins the Danish."""
    in_english(monkeypatch)


def _default_text() -> str:
    return default_manifest_path().read_text(encoding="utf-8")


def test_default_manifest_is_exactly_the_rendered_form_and_pins_the_installed_catalogue():
    text = _default_text()
    signed = parse_manifest(text)
    assert render_manifest(signed.manifest) == text, (
        "privacy/defaults/manifest.toml is stale: regenerate with "
        "`klynge manifest init --force --out privacy/defaults/manifest.toml`"
    )
    problems = definition_mismatches(signed.manifest, installed_catalogue())
    assert problems == [], (
        "the default manifest no longer matches the indicator catalogue: regenerate with "
        "`klynge manifest init --force --out privacy/defaults/manifest.toml`\n"
        + "\n".join(problems)
    )


def test_default_parameters_are_the_documented_ones():
    plan = validate_plan(default_manifest())
    # μ is a whole number, so the calibrated ε lands just under the target.
    assert plan.per_release.epsilon == pytest.approx(1.0, abs=1e-2)
    assert plan.per_release.epsilon <= 1.0
    assert plan.region_per_release is not None
    assert plan.region_per_release.epsilon == pytest.approx(1.0, abs=1e-2)
    assert plan.per_release.delta == 1e-6
    assert all((y.releases, y.region_releases) == (4, 1) for y in plan.years)
    assert 2.3 < plan.worst_year.epsilon < 2.45
    # A year also holds one aborted and retried round.
    assert plan.worst_year.epsilon_with_retry <= default_manifest().budget.epsilon_per_year == 3.0


def test_canonical_hash_ignores_whitespace_comments_key_order_and_number_spelling():
    text = _default_text()
    original = parse_manifest(text).manifest.hash()
    # Re-serialise the same content with tomli_w: different layout, no comments,
    # inline texts become tables, keys in another order.
    doc = tomllib.loads(text)
    shuffled = {key: doc[key] for key in reversed(list(doc))}
    shuffled["dp"] = {key: shuffled["dp"][key] for key in reversed(list(shuffled["dp"]))}
    rewritten = tomli_w.dumps(shuffled)
    assert rewritten != text
    assert parse_manifest(rewritten).manifest.hash() == original
    # Extra blank lines, comments, indentation and another spelling of δ.
    noisy = text.replace("\n[dp]\n", "\n\n   # a comment\n[dp]   # trailing\n").replace(
        "delta = 1e-06", "delta   =   0.000001"
    )
    assert parse_manifest(noisy).manifest.hash() == original
    # A bilingual text with equal languages is the same as a plain string.
    same = text.replace('code_version = "klynge 0.1.0"', 'code_version = "klynge 0.1.0"  ')
    assert parse_manifest(same).manifest.hash() == original


def test_any_change_of_meaning_changes_the_hash():
    base = default_manifest()
    digests = {
        base.hash(),
        replace(base, disclosure=replace(base.disclosure, min_cell=6)).hash(),
        replace(base, meta=replace(base.meta, version=base.meta.version + 1)).hash(),
        replace(base, meta=replace(base.meta, title=Text("x", "y"))).hash(),
        replace(base, indicators=base.indicators[1:]).hash(),
        replace(base, indicators=tuple(reversed(base.indicators))).hash(),  # order is layout
    }
    assert len(digests) == 6


def test_render_round_trips_every_field():
    manifest = make_manifest()
    assert parse_manifest(render_manifest(manifest)).manifest == manifest


def _doc():
    return tomllib.loads(_default_text())


@pytest.mark.parametrize(
    ("mutate", "key", "message"),
    [
        (lambda d: d["dp"].pop("delta"), "dp.delta", "required key is missing"),
        (lambda d: d["disclosure"].update(min_cel=3), "disclosure.min_cel", "unknown key"),
        (lambda d: d["disclosure"].update(min_cell="5"), "disclosure.min_cell", "integer"),
        (lambda d: d["disclosure"].update(min_cell=2), "disclosure.min_cell", "at least 3"),
        (lambda d: d["dp"].update(delta=0.01), "dp.delta", "≤ 0.0001"),
        (lambda d: d["dp"].update(mu=100.0), "dp", "exactly one"),
        (lambda d: d["secagg"].update(threshold=8), "secagg.threshold", "half"),
        (lambda d: d["secagg"].update(min_survivors=4), "secagg.min_survivors", "min_practices"),
        (
            lambda d: d["recipients"]["cluster"].update(receives=["practice"]),
            "recipients.cluster.receives",
            "never released",
        ),
        (lambda d: d["recipients"].update(mayor={}), "recipients.mayor", "unknown recipient"),
        (lambda d: d["mechanism"].update(kind="laplace"), "mechanism.kind", "must be one of"),
        (
            lambda d: d["schedule"]["reference_dates"].append(d["schedule"]["reference_dates"][0]),
            "schedule.reference_dates",
            "increasing",
        ),
        (
            lambda d: d["manifest"].update(valid_until=d["manifest"]["valid_from"]),
            "schedule.reference_dates",
            "outside the validity period",
        ),
        (
            lambda d: d["indicators"][0].update(content_hash="abc"),
            "indicators[0].content_hash",
            "is not of the form",
        ),
        (lambda d: d["indicators"].append(d["indicators"][0]), "indicators", "listed twice"),
        (
            lambda d: d["indicators"][5].update(max_per_patient=2),  # AF-01, a patient-level one
            "indicators[5].max_per_patient",
            "patient-level",
        ),
        (
            lambda d: d["data_minimisation"].update(max_lookback_days=2000),
            "data_minimisation.max_lookback_days",
            "at most",
        ),
        (lambda d: d["legal"].update(basis={"da": "x"}), "legal.basis.en", "missing"),
        (lambda d: d.update(format="klynge-manifest/9"), "format", "unsupported"),
        (lambda d: d.update(format="klynge-manifest/1"), "format", "klynge manifest init"),
        (
            lambda d: d["indicators"][0].update(cells="pass_fail"),
            "indicators[0].population",
            "list size",
        ),
        (
            lambda d: d["region_round"].update(reference_dates=[date(2026, 11, 30)]),
            "region_round.reference_dates",
            "not one of the schedule",
        ),
    ],
)
def test_invalid_manifests_name_the_key(tmp_path, mutate, key, message):
    doc = _doc()
    mutate(doc)
    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    text = str(info.value)
    assert str(path) in text
    assert key in text
    assert message in text


def test_malformed_toml_and_missing_file_are_typed_errors(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text('format = "klynge-manifest/1"\n[dp\n', encoding="utf-8")
    with pytest.raises(ManifestError, match=r"broken\.toml:2: not valid TOML"):
        load_manifest(broken)
    with pytest.raises(ManifestError, match="not found"):
        load_manifest(tmp_path / "nope.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ManifestError, match="not UTF-8"):
        load_manifest(binary)


def test_schedule_that_overspends_its_own_budget_is_refused():
    manifest = make_manifest(epsilon=2.0, budget_epsilon=3.0)
    with pytest.raises(ManifestError, match=r"budget\.epsilon_per_year.*4 cluster releases"):
        validate_plan(manifest)
    assert privacy_plan(manifest).worst_year.epsilon > 3.0


def test_signature_must_be_the_last_table():
    text = _default_text()
    body, _, rest = text.partition("\n[dp]\n")
    moved = body + '\n[signature]\nalgorithm = "ed25519"\n\n[dp]\n' + rest
    with pytest.raises(ManifestError, match="last table"):
        strip_signature(moved)


def test_diff_names_exactly_what_changed():
    old = make_manifest()
    new_indicators = (*old.indicators[:2], indicator("KOL-01"))
    new = replace(
        old,
        indicators=new_indicators,
        disclosure=replace(old.disclosure, min_cell=10, min_denominator_for_rate=20),
    )
    changes = {c.path: c for c in diff_manifests(old, new)}
    assert set(changes) == {
        "disclosure.min_cell",
        "disclosure.min_denominator_for_rate",
        "indicators[AB-01]",
        "indicators[KOL-01]",
    }
    assert changes["indicators[AB-01]"].kind == "removed"
    assert changes["indicators[KOL-01]"].kind == "added"
    assert format_change(changes["disclosure.min_cell"]) == "~ disclosure.min_cell: 5 → 10"
    assert diff_manifests(old, old) == []
    # Reordering indicators is a layout change, reported per position-free id: no change.
    reordered = replace(old, indicators=tuple(reversed(old.indicators)))
    assert diff_manifests(old, reordered) == []


def test_to_document_spells_texts_canonically():
    doc = to_document(default_manifest(), canonical=True)
    assert set(doc["legal"]["basis"]) == {"da", "en"}
    assert re.fullmatch(r"[0-9a-f]{64}", doc["indicators"][0]["content_hash"])


def test_a_new_field_reaches_the_document_and_the_hash_without_editing_to_document():
    base = make_manifest()
    extended = make_dataclass(
        "Bounding",
        [
            ("max_visits_per_day", int | None, field(default=None)),
            ("note", Text, field(default=None)),
        ],
        bases=(Bounding,),
        frozen=True,
    )
    b = base.bounding
    unset = replace(base, bounding=extended(b.max_list_size, b.list_size_noise_weight))
    assert to_document(unset)["bounding"] == {
        "max_list_size": b.max_list_size,
        "list_size_noise_weight": b.list_size_noise_weight,
    }
    assert unset.hash() == base.hash()  # an absent optional field leaves every hash alone
    grown = extended(50_000, b.list_size_noise_weight, 40, Text("ny", "new"))
    set_ = replace(unset, bounding=grown)
    assert to_document(set_)["bounding"] == {
        "max_list_size": 50_000,
        "list_size_noise_weight": b.list_size_noise_weight,
        "max_visits_per_day": 40,
        "note": {"da": "ny", "en": "new"},
    }
    assert set_.canonical_document()["bounding"]["max_visits_per_day"] == 40
    assert set_.hash() != base.hash()


def test_the_default_manifest_pins_each_definitions_version_beside_its_hash():
    """A release names the version it was computed under (FHIR export), so pinning records it."""
    from indicator_defs import load_catalogue
    from privacy.authoring import default_manifest

    catalogue = load_catalogue()
    manifest = default_manifest(no_dp=False)
    assert manifest.indicators
    for entry in manifest.indicators:
        assert entry.version == catalogue.indicators[entry.id].version
    installed = installed_catalogue()
    older = replace(manifest.indicators[0], version=manifest.indicators[0].version + 1)
    changed = replace(manifest, indicators=(older, *manifest.indicators[1:]))
    assert any("version" in p for p in definition_mismatches(changed, installed))
