"""`klynge audit MANIFEST [...]` (the reviewer's report) and `klynge audit verify-log FILE`.

`audit` is a group with two subcommands, `report` and `verify-log`; a first
argument that is not a subcommand name is taken as the manifest of `report`,
so the short form `klynge audit MANIFEST --format html` works too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from common.atomic import atomic_write
from common.errors import KlyngeError
from common.i18n import register, t
from common.keyfiles import load_public_key, public_bytes, public_key_from_raw
from klynge.options import chosen_language
from privacy.audit import build_report, ledger_status, log_status, signature_status
from privacy.catalogue import installed_catalogue
from privacy.manifest import load_manifest
from privacy.report_model import render_html, render_json, render_markdown
from privacy.signing import key_id
from privacy.transparency import Checkpoint, verify_log
from privacy.trust import load_trust_store
from transport.signed_files import load_registry


class _ReportByDefault(TyperGroup):
    """Route `klynge audit MANIFEST ...` to `klynge audit report MANIFEST ...`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.list_commands(ctx) and args[0] not in ("--help", "-h"):
            args = ["report", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_ReportByDefault,
    help="Reviewer's audit report (klynge audit MANIFEST) and log verification.",
    no_args_is_help=True,
)

register(
    {
        "auditcmd.written": {
            "da": "Skrev rapporten til {path}",
            "en": "Wrote the report to {path}",
        },
        "auditcmd.log_ok": {
            "da": (
                "Loggen er intakt: {path}, {n} poster ({kinds}), {signed} underskrevet af "
                "{practices} praksis; træhoved {head} underskrevet af lognøgle {log_key_id}"
            ),
            "en": (
                "Log intact: {path}, {n} entries ({kinds}), {signed} signed by {practices} "
                "practices; tree head {head} signed by log key {log_key_id}"
            ),
        },
        "auditcmd.registry_pair": {
            "da": "--registry og --registry-authority skal angives sammen",
            "en": "--registry and --registry-authority must be given together",
        },
        "auditcmd.bad_format": {
            "da": "skal være md, html eller json",
            "en": "must be md, html or json",
        },
    }
)

_RENDERERS = {"md": render_markdown, "html": render_html, "json": render_json}


@app.command("report")
def report(
    manifest_path: Path = typer.Argument(..., metavar="MANIFEST"),
    ledger: Path | None = typer.Option(None, "--ledger", help="A practice's ledger directory."),
    log: Path | None = typer.Option(None, "--log", help="A transparency log to verify."),
    log_key: Path | None = typer.Option(
        None, "--log-key", help="The coordinator's log public key (with --log)."
    ),
    fmt: str = typer.Option("md", "--format", help="md, html or json."),
    out: Path | None = typer.Option(None, "--out", help="Write here (default: print)."),
    lang: str | None = typer.Option(
        None, "--lang", help="da or en (default: klynge --lang, else da)."
    ),
    key: Path | None = typer.Option(
        None, "--key", help="Authority public key to check the signature."
    ),
    trust_dir: Path | None = typer.Option(
        None, "--trust-dir", help="Check the signature against this trust store's authorities."
    ),
) -> None:
    """Render the reviewer's report for MANIFEST: all 9 checklist points and the Art. 30 annex."""
    if fmt not in _RENDERERS:
        raise typer.BadParameter(t("auditcmd.bad_format"), param_hint="--format")
    language = chosen_language(lang)
    signed = load_manifest(manifest_path)
    keys = None
    if trust_dir is not None:
        keys = load_trust_store(trust_dir).keys()
    if key is not None:
        public = load_public_key(key)
        keys = {**(keys or {}), key_id(public): public}
    installed, installed_error = None, None
    try:
        installed = installed_catalogue()
    except KlyngeError as exc:  # the report must still render if the catalogue is broken
        installed_error = str(exc)
    delta = signed.manifest.budget.delta_per_year
    document = build_report(
        signed,
        lang=language,
        signature=signature_status(signed, keys),
        installed=installed,
        installed_error=installed_error,
        ledger=ledger_status(ledger, delta) if ledger is not None else None,
        log=log_status(log, load_public_key(log_key) if log_key else None)
        if log is not None
        else None,
    )
    text = _RENDERERS[fmt](document)
    if out is None:
        sys.stdout.write(text)
        return
    atomic_write(out, text.encode("utf-8"))
    typer.echo(t("auditcmd.written", path=out, lang=language))


@app.command("verify-log")
def verify_log_cmd(
    log_path: Path = typer.Argument(..., metavar="FILE"),
    log_key: Path | None = typer.Option(
        None, "--log-key", help="The coordinator's log public key: every head must be its."
    ),
    expect_head: str | None = typer.Option(
        None,
        "--expect-head",
        help="SIZE:ROOT of a head seen or published earlier; the log must extend it.",
    ),
    registry: Path | None = typer.Option(
        None, "--registry", help="Signed practice registry: receipts must be its practices' keys."
    ),
    registry_authority: Path | None = typer.Option(
        None, "--registry-authority", help="The registry authority's public key (with --registry)."
    ),
) -> None:
    """Verify a transparency log offline: every entry, practice signature and signed tree head.

    Detects edited, inserted, deleted and moved entries, forged receipts, a torn or cut
    file, heads signed by another key; with --expect-head also a log cut back or rewritten.
    """
    if (registry is None) != (registry_authority is None):
        raise typer.BadParameter(t("auditcmd.registry_pair"), param_hint="--registry")
    head = None
    if expect_head is not None:
        try:
            head = Checkpoint.parse(expect_head)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--expect-head") from None
    identities = None
    if registry is not None and registry_authority is not None:
        signed = load_registry(registry, public_bytes(load_public_key(registry_authority)))
        identities = {
            e.practice_id: public_key_from_raw(e.identity_key, str(registry))
            for e in signed.entries
        }
    result = verify_log(
        log_path,
        log_key=load_public_key(log_key) if log_key is not None else None,
        expected_head=head,
        identities=identities,
    )
    kinds = ", ".join(f"{k} {n}" for k, n in result.kinds.items() if n)
    typer.echo(
        t(
            "auditcmd.log_ok",
            path=log_path,
            n=result.entries,
            kinds=kinds or "–",
            signed=result.signed_by_practices,
            practices=len(result.practices),
            log_key_id=result.head.key_id,
            head=f"{result.head.tree_size}:{result.head.root}",
        )
    )
