"""Mechanism kind "none": exact sums for verification on synthetic data, never by accident.

Checks the manifest rules (marker, unlimited budget only for kind none, no [dp]
table), that no noise is added, that the ledger records ε = ∞ and then refuses
DP releases in that calendar year, the audit warning, and the CLI/API path.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import replace
from datetime import UTC, date, datetime

import numpy as np
import pytest
from typer.testing import CliRunner

from klynge.cli import root
from privacy import authoring
from privacy.audit import build_report, ledger_status
from privacy.authoring import (
    VERIFICATION_ID,
    checked_text,
    signed_text,
    verification_variant,
    write_signed,
)
from privacy.contribution import prepare_contribution
from privacy.errors import BudgetExceeded, ManifestError
from privacy.layout import ReleaseLayout, RoundScope
from privacy.ledger import LEDGER_FILE, ChargeRequest, Ledger
from privacy.log_entries import Statement
from privacy.manifest import Budget, load_manifest, parse_manifest
from privacy.manifest_toml import render_manifest
from privacy.plan import manifest_release, round_min_survivors, validate_plan
from privacy.receipts import Receipt, describe
from privacy.release import NoNoiseRelease
from privacy.report_model import render_html, render_json, render_markdown
from privacy.signing import generate_private_key, key_id
from privacy.transparency import TransparencyLog, verify_log
from privacy.trust import check_signature
from tests.langs import in_english
from tests.privacy.builders import charge_request, cluster_length, default_manifest, make_manifest


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """These tests pin English messages; tests/cli/test_errors.py pins the Danish."""
    in_english(monkeypatch)


Q1, Q2 = date(2026, 3, 31), date(2026, 6, 30)


def _verification():
    return verification_variant(make_manifest())


def _text() -> str:
    return render_manifest(_verification())


def _refused(text: str, key: str, *fragments: str) -> ManifestError:
    with pytest.raises(ManifestError) as info:
        parse_manifest(text, "v.toml")
    assert info.value.key == key, str(info.value)
    assert str(info.value).startswith(f"v.toml, key '{key}': ")
    for fragment in fragments:
        assert fragment in str(info.value)
    return info.value


# --- manifest rules -------------------------------------------------------------------------


def test_verification_manifest_round_trips_and_its_marker_is_hashed():
    manifest = _verification()
    text = render_manifest(manifest)
    assert parse_manifest(text).manifest == manifest
    assert text.startswith("# !!! NO DIFFERENTIAL PRIVACY")
    doc = tomllib.loads(text)
    assert doc["mechanism"] == {"kind": "none", "purpose": "verification"}
    assert doc["budget"]["epsilon_per_year"] == math.inf and "dp" not in doc
    canonical = manifest.canonical_document()
    assert canonical["mechanism"] == {"kind": "none", "purpose": "verification"}
    assert canonical["budget"]["epsilon_per_year"] == "inf"
    assert not manifest.has_dp and manifest.dp is None
    assert manifest.hash() != make_manifest().hash()
    # `+inf` and `inf` are the same TOML value, so the same manifest.
    plus = text.replace("epsilon_per_year = inf", "epsilon_per_year = +inf")
    assert parse_manifest(plus).manifest.hash() == manifest.hash()


def test_kind_none_is_refused_without_the_verification_marker():
    text = _text()
    _refused(text.replace('purpose = "verification"\n', ""), "mechanism.purpose", "verification")
    _refused(
        text.replace('purpose = "verification"', 'purpose = "production"'),
        "mechanism.purpose",
        "'production'",
    )


def test_the_marker_is_refused_on_a_dp_mechanism():
    dp_text = render_manifest(make_manifest())
    marked = dp_text.replace(
        'kind = "distributed_skellam"\n', 'kind = "distributed_skellam"\npurpose = "verification"\n'
    )
    _refused(marked, "mechanism.purpose", 'only kind = "none"')


def test_kind_none_needs_an_unlimited_budget_and_no_dp_table():
    text = _text()
    _refused(
        text.replace("epsilon_per_year = inf", "epsilon_per_year = 3.0"),
        "budget.epsilon_per_year",
        "epsilon_per_year = inf",
    )
    with_dp = text.replace("[budget]", "[dp]\ndelta = 1e-06\ndesign_dropout = 0.2\n\n[budget]")
    _refused(with_dp, "dp", "no [dp] table")


def test_an_unlimited_budget_is_refused_for_every_dp_manifest():
    dp_text = render_manifest(make_manifest())
    assert "epsilon_per_year = 3.0" in dp_text
    _refused(
        dp_text.replace("epsilon_per_year = 3.0", "epsilon_per_year = inf"),
        "budget.epsilon_per_year",
        'only with kind = "none"',
    )
    for bad in ("-inf", "nan"):
        _refused(
            dp_text.replace("epsilon_per_year = 3.0", f"epsilon_per_year = {bad}"),
            "budget.epsilon_per_year",
            "finite",
        )
    _refused(
        _text().replace("epsilon_per_year = inf", "epsilon_per_year = -inf"),
        "budget.epsilon_per_year",
    )


def test_code_cannot_pair_no_noise_with_a_dp_budget_or_dp_parameters():
    dp = make_manifest()
    with pytest.raises(ManifestError, match="no \\[dp\\] table"):
        replace(dp, mechanism="none")
    with pytest.raises(ManifestError, match="epsilon_per_year = inf"):
        replace(dp, mechanism="none", dp=None)
    with pytest.raises(ManifestError, match='only with kind = "none"'):
        replace(dp, budget=Budget(math.inf, 1e-6, "calendar_year"))
    with pytest.raises(ManifestError, match="needs DP parameters"):
        replace(dp, dp=None)


# --- mechanism, plan and contribution ----------------------------------------------------------


def test_no_noise_release_states_its_cost_as_infinite():
    manifest = _verification()
    release = manifest_release(manifest)
    assert isinstance(release, NoNoiseRelease)
    cost = release.cost()
    assert cost.epsilon == math.inf and cost.curve.unbounded
    assert cost.as_dict()["rdp_terms"] == [{"term": "unbounded"}]
    assert release.parameters()["differential_privacy"] is False
    json.dumps(release.parameters(), allow_nan=False)  # goes into receipts as is
    assert not release.sum_variance(12).any() and release.sum_variance(12).shape == (
        cluster_length(manifest),
    )
    plan = validate_plan(manifest)
    assert plan.per_release.epsilon == math.inf
    assert all(y.epsilon == math.inf for y in plan.years)
    # Without noise shares the design dropout has nothing to shrink: the floor is the minimum.
    assert round_min_survivors(manifest, 16) == manifest.secagg.min_survivors
    assert round_min_survivors(make_manifest(), 16) == 12


def _practice_vectors(manifest, practices: int, seed: int) -> list[np.ndarray]:
    """Cluster-round cells that respect 0 ≤ num ≤ den ≤ list size, as `klynge compute` gives."""
    rng = np.random.default_rng(seed)
    layout = ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)
    out = []
    for _ in range(practices):
        list_size = int(rng.integers(500, 4000))
        counts = {}
        for block in layout.blocks:
            den = list_size if block.entry.cells == "count" else int(rng.integers(0, list_size))
            counts[block.indicator_id] = (("all", int(rng.integers(0, den + 1)), den),)
        out.append(layout.encode(counts, list_size))
    return out


def test_contributions_add_no_noise_so_the_sum_is_exact():
    manifest = _verification()
    vectors = _practice_vectors(manifest, 6, seed=3)
    prepared = [prepare_contribution(manifest, v, round_min_survivors=5) for v in vectors]
    for vector, p in zip(vectors, prepared, strict=True):
        assert isinstance(p.release, NoNoiseRelease)
        assert p.values.dtype == np.int64
        assert np.array_equal(p.values, vector)
    total = np.sum([p.values for p in prepared], axis=0)
    assert np.array_equal(total, np.sum(vectors, axis=0))
    # The DP manifest on the same vectors does add noise (the test can fail).
    noisy = prepare_contribution(make_manifest(), vectors[0], round_min_survivors=5)
    assert not np.array_equal(noisy.values, vectors[0])


# --- ledger ----------------------------------------------------------------------------------


def _clock() -> datetime:
    return datetime(2026, 4, 2, 8, 30, tzinfo=UTC)


def _request(manifest, round_id: str, ref: date, release=None) -> ChargeRequest:
    payload = round_id.encode() * 32
    return charge_request(
        manifest, round_id, ref, payload, release, recipient="coordinator:cluster-1"
    )


@pytest.fixture
def ledger(tmp_path):
    return Ledger.create(tmp_path / "ledger", "practice-0007", generate_private_key(), clock=_clock)


def test_ledger_records_a_release_without_dp_at_infinite_epsilon(ledger, tmp_path):
    manifest = _verification()
    receipt = ledger.charge(_request(manifest, "v-1", Q1))
    assert receipt.mechanism == "none"
    assert receipt.epsilon == receipt.year_epsilon_spent == receipt.year_epsilon_budget == math.inf
    raw = (ledger.directory / LEDGER_FILE).read_text()
    assert '"epsilon": "inf"' in raw and "Infinity" not in raw
    reopened = Ledger.open(ledger.directory)
    assert [c.receipt for c in reopened.charges()] == [receipt]
    assert reopened.spent(2026, 1e-6) == math.inf
    assert ledger.charge(_request(manifest, "v-1", Q1)) == receipt  # idempotent retry
    assert Receipt.from_document(json.loads(json.dumps(receipt.document()))) == receipt
    assert "ε = ∞" in describe(receipt, "en") and "WITHOUT differential privacy" in describe(
        receipt, "en"
    )
    assert "UDEN differential privacy" in describe(receipt, "da")
    # Signed receipts with ε = ∞ can be published and verified in the transparency log.
    log = TransparencyLog.open(tmp_path / "log.jsonl", generate_private_key())
    signed = ledger.charges()[0].signed
    log.publish(Statement.from_receipt(signed), ledger.identity)
    result = verify_log(tmp_path / "log.jsonl", identities={"practice-0007": ledger.identity})
    assert result.signed_by_practices == 1


def test_after_a_release_without_dp_no_dp_release_is_allowed_that_year(ledger):
    ledger.charge(_request(_verification(), "v-1", Q1))
    before = (ledger.directory / LEDGER_FILE).read_bytes()
    dp = make_manifest()
    with pytest.raises(BudgetExceeded, match="no DP guarantee is left") as info:
        ledger.charge(_request(dp, "dp-1", Q2))
    assert info.value.spent == math.inf and info.value.budget == 3.0
    assert (ledger.directory / LEDGER_FILE).read_bytes() == before
    # Another calendar year is untouched.
    dp_2027 = make_manifest(reference_dates=(date(2027, 3, 31),))
    receipt = ledger.charge(_request(dp_2027, "dp-2027", date(2027, 3, 31)))
    assert receipt.year_epsilon_spent == pytest.approx(receipt.epsilon) and receipt.epsilon < 1.01
    # More verification releases in 2026 remain possible: their budget is unlimited.
    assert ledger.charge(_request(_verification(), "v-2", Q2)).epsilon == math.inf
    years = {u.year: u.epsilon for u in ledger.usage(1e-6)}
    assert years[2026] == math.inf and years[2027] < 1.01


def test_a_release_without_dp_needs_an_unlimited_budget(ledger):
    dp = make_manifest()
    ledger.charge(_request(dp, "dp-1", Q1))
    before = (ledger.directory / LEDGER_FILE).read_bytes()
    exact = NoNoiseRelease(manifest_release(dp).sensitivity)
    with pytest.raises(BudgetExceeded, match="only a verification manifest"):
        ledger.charge(_request(dp, "sneaky", Q2, release=exact))
    assert (ledger.directory / LEDGER_FILE).read_bytes() == before
    # Under the verification manifest the same practice may (its DP year is then spent).
    assert ledger.charge(_request(_verification(), "v-1", Q2)).year_epsilon_spent == math.inf


def test_the_dry_run_agrees_with_charge_for_releases_without_dp(ledger):
    verification, dp = _verification(), make_manifest()
    assert ledger.check("v-1", verification, Q1, manifest_release(verification)) is None
    with pytest.raises(BudgetExceeded, match="only a verification manifest"):
        ledger.check("sneaky", dp, Q1, NoNoiseRelease(manifest_release(dp).sensitivity))
    receipt = ledger.charge(_request(verification, "v-1", Q1))
    before = (ledger.directory / LEDGER_FILE).read_bytes()
    payload = _request(verification, "v-1", Q1).payload
    assert ledger.check("v-1", verification, Q1, manifest_release(verification), payload) == receipt
    assert ledger.check("v-2", verification, Q2, manifest_release(verification)) is None
    with pytest.raises(BudgetExceeded, match="no DP guarantee is left"):
        ledger.check("dp-1", dp, Q2, manifest_release(dp))
    with pytest.raises(BudgetExceeded, match="no DP guarantee is left"):
        ledger.charge(_request(dp, "dp-1", Q2))
    assert (ledger.directory / LEDGER_FILE).read_bytes() == before


# --- audit report ----------------------------------------------------------------------------


def test_audit_report_warns_before_everything_and_shows_infinite_epsilon(ledger):
    manifest = authoring.default_manifest(no_dp=True)
    ledger.charge(_request(manifest, "v-1", Q1))
    signed = parse_manifest(render_manifest(manifest), "v.toml")
    status = ledger_status(ledger.directory, manifest.budget.delta_per_year)
    for lang, warning in (("da", "INGEN differential privacy"), ("en", "NO differential privacy")):
        report = build_report(signed, lang=lang, ledger=status)
        assert len(report.warnings) == 1 and warning in report.warnings[0]
        assert "synt" in report.warnings[0]  # syntetiske / synthetic
        md = render_markdown(report)
        assert md.index(warning) < md.index(report.intro[0])
        assert "| ε = ∞ |" in md  # per release
        html = render_html(report)
        assert html.index('role="alert"') < html.index("<section")
        doc = json.loads(render_json(report), parse_constant=_no_constants)
        assert doc["warnings"] == list(report.warnings)
        figures = doc["figures"]
        assert figures["differential_privacy"] is False
        assert figures["per_release"]["epsilon"] == "inf"
        assert figures["budget"]["epsilon_per_year"] == "inf"
        assert figures["ledger"]["years"][0]["epsilon"] == "inf"
    dp_report = build_report(parse_manifest(render_manifest(default_manifest())), lang="en")
    assert dp_report.warnings == () and "NO differential privacy" not in render_markdown(dp_report)


def _no_constants(name: str) -> None:
    raise AssertionError(f"report JSON contains {name}, which is not JSON")


# --- authoring API and CLI ---------------------------------------------------------------------


def test_api_writes_a_signed_verification_manifest_that_verifies(tmp_path):
    key = generate_private_key()
    manifest = authoring.default_manifest(no_dp=True)
    assert manifest.meta.id == VERIFICATION_ID and manifest.mechanism == "none"
    signed = write_signed(tmp_path / "v.toml", manifest, key)
    assert signed.manifest == manifest
    loaded = load_manifest(tmp_path / "v.toml")
    assert check_signature(loaded, {key_id(key.public_key()): key.public_key()})
    with pytest.raises(ManifestError, match="already exists"):
        write_signed(tmp_path / "v.toml", manifest, key)
    # The DP default through the same API is what `init` ships.
    text, _ = checked_text(authoring.default_manifest())
    assert 'kind = "distributed_skellam"' in text
    assert signed_text(authoring.default_manifest(), key).count("[signature]") == 1


def test_cli_init_no_dp_signs_verifies_and_is_accepted_by_an_agent(tmp_path):
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(root, ["--lang", "en", *[str(a) for a in args]])
        assert result.exit_code == 0, result.output
        return result

    key, manifest = tmp_path / "authority.pem", tmp_path / "v.toml"
    run("manifest", "keygen", "--out", key)
    result = run("manifest", "init", "--no-dp", "--out", manifest)
    assert "NO differential privacy" in result.stderr
    assert load_manifest(manifest).manifest == authoring.default_manifest(no_dp=True)
    text = manifest.read_text()
    assert text.startswith("# !!! NO DIFFERENTIAL PRIVACY") and "epsilon_per_year = inf" in text
    run("manifest", "sign", manifest, "--key", key)
    public = tmp_path / "authority.pub.pem"
    assert "Signature valid" in run("manifest", "verify", manifest, "--key", public).output
    trust = tmp_path / "trust"
    run("manifest", "trust-key", public, "--trust-dir", trust, "--name", "Region")
    approve = ("manifest", "approve", manifest, "--trust-dir", trust, "--by", "Demo")
    run(*approve, "--date", "2026-05-01")
    result = run("manifest", "verify", manifest, "--trust-dir", trust, "--date", "2026-06-01")
    assert "would accept" in result.stdout and "ε per release ∞" in result.stdout
    assert "NO differential privacy" in result.stderr
    dp_manifest = tmp_path / "dp.toml"
    run("manifest", "init", "--out", dp_manifest)
    diff = json.loads(
        run("manifest", "diff", dp_manifest, manifest, "--json").stdout,
        parse_constant=_no_constants,
    )
    assert diff["privacy"]["new"] == {"per_release": "inf", "per_year": "inf"}
    assert {"mechanism.kind", "mechanism.purpose", "dp", "budget.epsilon_per_year"} <= {
        c["path"] for c in diff["changes"]
    }
    # Turning the signed verification manifest into a budgeted one breaks it, visibly.
    edited = tmp_path / "edited.toml"
    edited.write_text(text.replace("epsilon_per_year = inf", "epsilon_per_year = 3.0"))
    result = runner.invoke(root, ["manifest", "verify", str(edited), "--key", str(public)])
    assert result.exit_code != 0 and "budget.epsilon_per_year" in result.output
    assert "Traceback" not in result.output
