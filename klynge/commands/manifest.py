"""`klynge manifest keygen|init|sign|verify|diff|hash|trust-key|approve`.

The authority generates a key, initialises a manifest from the default and the
installed catalogue, and signs it. A practice adds the authority's public key
to its trust store and approves a manifest by hash; `verify --trust-dir` then
runs exactly the checks the agent runs before a round.

`init --no-dp` writes a verification manifest (mechanism none: exact sums, no
differential privacy) for checking the federation on synthetic data; every
command that touches such a manifest prints a warning saying so.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import typer

from common.atomic import atomic_write
from common.i18n import register, t
from common.keyfiles import load_private_key, load_public_key, write_private_key, write_public_key
from common.tomlfile import read_toml_text
from privacy import authoring
from privacy.catalogue import installed_catalogue
from privacy.errors import ManifestError
from privacy.manifest import Manifest, Schedule, load_manifest, parse_manifest
from privacy.manifest_diff import diff_manifests, format_change
from privacy.manifest_toml import with_signature
from privacy.plan import privacy_plan, validate_plan
from privacy.receipts import format_epsilon
from privacy.signing import generate_private_key, key_id
from privacy.trust import (
    add_authority,
    approve_manifest,
    check_manifest,
    check_signature,
    load_trust_store,
    withdraw_approval,
)

app = typer.Typer(help="Create, sign, verify and compare protocol manifests.", no_args_is_help=True)

register(
    {
        "manifest.keygen": {
            "da": "Ny myndighedsnøgle {kid}: privat {private} (0600), offentlig {public}",
            "en": "New authority key {kid}: private {private} (0600), public {public}",
        },
        "manifest.written": {
            "da": "Skrev {path} (hash {hash})",
            "en": "Wrote {path} (hash {hash})",
        },
        "manifest.signed": {
            "da": "Underskrev {path} med nøgle {kid}; hash {hash}",
            "en": "Signed {path} with key {kid}; hash {hash}",
        },
        "manifest.sig_ok": {
            "da": "Underskriften er gyldig: {path}, nøgle {kid}, hash {hash}",
            "en": "Signature valid: {path}, key {kid}, hash {hash}",
        },
        "manifest.accepted": {
            "da": (
                "Agenten ville acceptere {path}: underskrevet af {authority} ({kid}), godkendt af "
                "{approver} {approved_on}, gyldig til {until}, definitioner som installeret; "
                "ε pr. udgivelse {eps}, pr. år højst {eps_year} (budget {budget})"
            ),
            "en": (
                "The agent would accept {path}: signed by {authority} ({kid}), approved by "
                "{approver} on {approved_on}, valid until {until}, definitions as installed; "
                "ε per release {eps}, per year at most {eps_year} (budget {budget})"
            ),
        },
        "manifest.no_diff": {"da": "Ingen forskel i indhold.", "en": "No difference in content."},
        "manifest.diff_header": {
            "da": "{old} (v{old_v}, {old_hash}) → {new} (v{new_v}, {new_hash}): {n} ændringer",
            "en": "{old} (v{old_v}, {old_hash}) → {new} (v{new_v}, {new_hash}): {n} changes",
        },
        "manifest.diff_privacy": {
            "da": (
                "Privatliv: ε pr. udgivelse {old_eps:.3f} → {new_eps:.3f}; "
                "pr. år {old_year:.3f} → {new_year:.3f}"
            ),
            "en": (
                "Privacy: ε per release {old_eps:.3f} → {new_eps:.3f}; "
                "per year {old_year:.3f} → {new_year:.3f}"
            ),
        },
        "manifest.trusted": {
            "da": "Stoler nu på myndighedsnøgle {kid} ({name}) i {dir}",
            "en": "Now trusting authority key {kid} ({name}) in {dir}",
        },
        "manifest.approved": {
            "da": "Godkendt: {id} v{version}, hash {hash}, af {by} {on}",
            "en": "Approved: {id} v{version}, hash {hash}, by {by} on {on}",
        },
        "manifest.withdrawn": {
            "da": "Godkendelsen af {id} v{version} ({hash}) er trukket tilbage",
            "en": "Approval of {id} v{version} ({hash}) withdrawn",
        },
        "manifest.need_key": {
            "da": "angiv --key OFFENTLIG_NØGLE eller --trust-dir MAPPE",
            "en": "give --key PUBLIC_KEY or --trust-dir DIR",
        },
        "manifest.no_dp": {
            "da": (
                "ADVARSEL: {path} har INGEN differential privacy (mekanisme none, ε = ∞): kun til "
                "verifikation med syntetiske data; godkend det aldrig til rigtige patientdata"
            ),
            "en": (
                "WARNING: {path} has NO differential privacy (mechanism none, ε = ∞): for "
                "verification with synthetic data only; never approve it for real patient data"
            ),
        },
        "manifest.exists": {
            "da": "findes allerede; brug --force for at overskrive",
            "en": "already exists; use --force to overwrite",
        },
    }
)


def _warn_if_no_dp(manifest: Manifest, path: Path | str) -> None:
    if not manifest.has_dp:
        typer.echo(t("manifest.no_dp", path=path), err=True)


def _json_epsilon(value: float) -> float | str:
    """Strict JSON has no infinity: ε = ∞ (no DP) is spelt "inf", as in receipts."""
    return "inf" if math.isinf(value) else value


def _today(on: datetime | None) -> date:
    return on.date() if on is not None else datetime.now(UTC).date()


@app.command("keygen")
def keygen(
    out: Path = typer.Option(..., "--out", help="Private key file to create (mode 0600)."),
    public: Path | None = typer.Option(
        None, "--public", help="Public key file (default: next to --out, ending .pub.pem)."
    ),
) -> None:
    """Create an Ed25519 manifest-authority key pair."""
    public = public or out.with_name(out.name.removesuffix(".pem") + ".pub.pem")
    key = generate_private_key()
    write_private_key(out, key)
    write_public_key(public, key.public_key())
    typer.echo(t("manifest.keygen", kid=key_id(key.public_key()), private=out, public=public))


@app.command("init")
def init(
    out: Path | None = typer.Option(None, "--out", help="File to write (default: print)."),
    template: Path | None = typer.Option(
        None, "--from", help="Start from this manifest instead of the shipped default."
    ),
    manifest_id: str | None = typer.Option(None, "--id", help="Manifest id."),
    version: int | None = typer.Option(None, "--version", help="Manifest version."),
    valid_from: datetime | None = typer.Option(None, "--valid-from", formats=["%Y-%m-%d"]),
    valid_until: datetime | None = typer.Option(None, "--valid-until", formats=["%Y-%m-%d"]),
    years: list[int] = typer.Option(
        [], "--year", help="Replace the schedule by quarter ends of this year (repeatable)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite --out if it exists."),
    no_dp: bool = typer.Option(
        False,
        "--no-dp",
        help="Verification manifest: mechanism none, exact sums, NO differential privacy "
        "(ε = ∞). For checking with synthetic data only.",
    ),
) -> None:
    """Write an unsigned manifest pinned to the installed indicator definitions."""
    manifest = authoring.default_manifest(no_dp, template=template)
    meta = manifest.meta
    meta = replace(
        meta,
        id=manifest_id or meta.id,
        version=version if version is not None else meta.version,
        valid_from=valid_from.date() if valid_from else meta.valid_from,
        valid_until=valid_until.date() if valid_until else meta.valid_until,
    )
    schedule = manifest.schedule
    if years:
        dates = tuple(
            date(y, m, d)
            for y in sorted(set(years))
            for m, d in ((3, 31), (6, 30), (9, 30), (12, 31))
        )
        schedule = Schedule("quarterly", dates)
    region = manifest.region_round
    if years and region is not None:
        # The region-wide round moves with the schedule: each year's last reference date.
        region = replace(region, reference_dates=tuple(date(y, 12, 31) for y in sorted(set(years))))
    manifest = replace(manifest, meta=meta, schedule=schedule, region_round=region)
    text, checked = authoring.checked_text(manifest, str(out or "manifest"))
    _warn_if_no_dp(checked, out or "manifest")
    if out is None:
        typer.echo(text, nl=False)
        return
    if out.exists() and not force:
        raise ManifestError(out, None, t("manifest.exists"))
    atomic_write(out, text.encode("utf-8"))
    typer.echo(t("manifest.written", path=out, hash=checked.hash()))


@app.command("sign")
def sign_manifest(
    manifest_path: Path = typer.Argument(..., metavar="MANIFEST"),
    key: Path = typer.Option(..., "--key", help="The authority's private key (PEM)."),
    out: Path | None = typer.Option(None, "--out", help="Write here instead of in place."),
) -> None:
    """Embed the authority's Ed25519 signature over the manifest's canonical form."""
    text = read_toml_text(manifest_path, error=ManifestError, what="manifest")
    signed = parse_manifest(text, manifest_path)
    signature = authoring.sign_manifest(signed.manifest, load_private_key(key), str(manifest_path))
    _warn_if_no_dp(signed.manifest, manifest_path)
    target = out or manifest_path
    atomic_write(target, with_signature(text, signature, str(manifest_path)).encode("utf-8"))
    typer.echo(
        t("manifest.signed", path=target, kid=signature.key_id, hash=signature.manifest_hash)
    )


@app.command("verify")
def verify(
    manifest_path: Path = typer.Argument(..., metavar="MANIFEST"),
    key: Path | None = typer.Option(None, "--key", help="Authority public key (PEM)."),
    trust_dir: Path | None = typer.Option(
        None, "--trust-dir", help="Agent trust store: run every check the agent runs."
    ),
    on: datetime | None = typer.Option(
        None, "--date", formats=["%Y-%m-%d"], help="Check validity on this date (default today)."
    ),
) -> None:
    """Check the signature (with --key) or everything the agent checks (with --trust-dir)."""
    signed = load_manifest(manifest_path)
    if trust_dir is not None:
        accepted = check_manifest(
            signed, load_trust_store(trust_dir), installed_catalogue(), _today(on)
        )
        plan = accepted.plan
        _warn_if_no_dp(accepted.manifest, manifest_path)
        typer.echo(
            t(
                "manifest.accepted",
                path=manifest_path,
                authority=accepted.authority.name,
                kid=accepted.authority.key_id,
                approver=accepted.approval.approved_by,
                approved_on=accepted.approval.approved_on.isoformat(),
                until=accepted.manifest.meta.valid_until.isoformat(),
                eps=format_epsilon(plan.per_release.epsilon),
                eps_year=format_epsilon(plan.worst_year.epsilon),
                budget=format_epsilon(accepted.manifest.budget.epsilon_per_year),
            )
        )
        return
    if key is None:
        raise typer.BadParameter(t("manifest.need_key"), param_hint="--key/--trust-dir")
    public = load_public_key(key)
    kid = check_signature(signed, {key_id(public): public})
    validate_plan(signed.manifest, str(manifest_path))
    _warn_if_no_dp(signed.manifest, manifest_path)
    typer.echo(t("manifest.sig_ok", path=manifest_path, kid=kid, hash=signed.manifest.hash()))


@app.command("diff")
def diff(
    old_path: Path = typer.Argument(..., metavar="OLD"),
    new_path: Path = typer.Argument(..., metavar="NEW"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Show exactly what changed in meaning between two manifests."""
    old, new = load_manifest(old_path).manifest, load_manifest(new_path).manifest
    changes = diff_manifests(old, new)
    old_plan, new_plan = privacy_plan(old), privacy_plan(new)
    if as_json:
        doc = {
            "old": {"path": str(old_path), "hash": old.hash(), "version": old.meta.version},
            "new": {"path": str(new_path), "hash": new.hash(), "version": new.meta.version},
            "changes": [
                {"path": c.path, "kind": c.kind, "old": c.old, "new": c.new} for c in changes
            ],
            "privacy": {
                "old": {
                    "per_release": _json_epsilon(old_plan.per_release.epsilon),
                    "per_year": _json_epsilon(old_plan.worst_year.epsilon),
                },
                "new": {
                    "per_release": _json_epsilon(new_plan.per_release.epsilon),
                    "per_year": _json_epsilon(new_plan.worst_year.epsilon),
                },
            },
        }
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False, default=str, allow_nan=False))
        return
    if not changes:
        typer.echo(t("manifest.no_diff"))
        return
    typer.echo(
        t(
            "manifest.diff_header",
            old=old_path,
            old_v=old.meta.version,
            old_hash=old.hash()[:16],
            new=new_path,
            new_v=new.meta.version,
            new_hash=new.hash()[:16],
            n=len(changes),
        )
    )
    for change in changes:
        typer.echo(format_change(change))
    typer.echo(
        t(
            "manifest.diff_privacy",
            old_eps=old_plan.per_release.epsilon,
            new_eps=new_plan.per_release.epsilon,
            old_year=old_plan.worst_year.epsilon,
            new_year=new_plan.worst_year.epsilon,
        )
    )


@app.command("hash")
def hash_manifest(manifest_path: Path = typer.Argument(..., metavar="MANIFEST")) -> None:
    """Print the canonical hash (what practices approve and receipts name)."""
    typer.echo(load_manifest(manifest_path).manifest.hash())


@app.command("trust-key")
def trust_key(
    public_key: Path = typer.Argument(..., metavar="PUBLIC_KEY"),
    trust_dir: Path = typer.Option(..., "--trust-dir", help="The agent's trust store."),
    name: str = typer.Option(..., "--name", help="Who holds the key, e.g. the region's authority."),
) -> None:
    """Add a manifest authority's public key to an agent's trust store."""
    authority = add_authority(trust_dir, name, load_public_key(public_key))
    typer.echo(t("manifest.trusted", kid=authority.key_id, name=authority.name, dir=trust_dir))


@app.command("approve")
def approve(
    manifest_path: Path = typer.Argument(..., metavar="MANIFEST"),
    trust_dir: Path = typer.Option(..., "--trust-dir", help="The agent's trust store."),
    by: str = typer.Option(..., "--by", help="Who in the practice management approves."),
    note: str = typer.Option("", "--note"),
    on: datetime | None = typer.Option(None, "--date", formats=["%Y-%m-%d"]),
) -> None:
    """Record the practice's approval of this exact manifest (it must be validly signed)."""
    signed = load_manifest(manifest_path)
    validate_plan(signed.manifest, str(manifest_path))
    approval = approve_manifest(trust_dir, signed, by, _today(on), note)
    _warn_if_no_dp(signed.manifest, manifest_path)
    typer.echo(
        t(
            "manifest.approved",
            id=approval.manifest_id,
            version=approval.version,
            hash=approval.manifest_hash,
            by=approval.approved_by,
            on=approval.approved_on.isoformat(),
        )
    )


@app.command("withdraw")
def withdraw(
    manifest_path: Path = typer.Argument(..., metavar="MANIFEST"),
    trust_dir: Path = typer.Option(..., "--trust-dir", help="The agent's trust store."),
) -> None:
    """Withdraw the practice's approval (opt-out): the agent joins no further rounds under it."""
    approval = withdraw_approval(trust_dir, load_manifest(manifest_path).manifest.hash())
    typer.echo(
        t(
            "manifest.withdrawn",
            id=approval.manifest_id,
            version=approval.version,
            hash=approval.manifest_hash[:16],
        )
    )
