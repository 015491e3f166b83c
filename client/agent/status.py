"""`status.json`: what the agent is doing, for `klynge agent status` and health checks.

Written by the daemon after every change (atomically: a reader never sees half
a file), read by the status command, which recomputes the budget from the
ledger itself, so budget figures are right even when the daemon is not
running. The document holds ids, stages, counts and ε, never values or keys.
ε is a number, or the string "inf" for a verification round without noise
(JSON has no infinities).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from client.agent.core import RoundStatus
from client.agent.errors import AgentError
from common.formatting import scientific
from common.i18n import Lang, register, t
from privacy.ledger import Ledger
from privacy.manifest import Budget
from privacy.receipts import Receipt, describe, format_epsilon

FORMAT = "klynge-agent-status/1"

register(
    {
        "agent.status.head": {
            "da": "Praksis {practice} (klynge {cluster})",
            "en": "Practice {practice} (cluster {cluster})",
        },
        "agent.status.never": {
            "da": "Agenten har ikke kørt endnu (ingen {path}).",
            "en": "The agent has not run yet (no {path}).",
        },
        "agent.status.connected": {
            "da": "Forbindelse: forbundet til {target} (senest opdateret {at})",
            "en": "Connection: connected to {target} (last updated {at})",
        },
        "agent.status.disconnected": {
            "da": "Forbindelse: ikke forbundet til {target}; seneste fejl: {error} "
            "(senest opdateret {at})",
            "en": "Connection: not connected to {target}; last error: {error} (last updated {at})",
        },
        "agent.status.stopped": {
            "da": "Forbindelse: agenten kører ikke (stoppede {at})",
            "en": "Connection: the agent is not running (stopped {at})",
        },
        "agent.status.round": {
            "da": "Seneste runde: {round_id} (referencedato {date}): {state}, fase {stage}{extra}",
            "en": "Last round: {round_id} (reference date {date}): {state}, stage {stage}{extra}",
        },
        "agent.status.no_round": {
            "da": "Seneste runde: ingen endnu",
            "en": "Last round: none yet",
        },
        "agent.status.contributors": {
            "da": ", {n} praksisser bidrog",
            "en": ", {n} practices contributed",
        },
        "agent.status.reason": {"da": ", årsag: {reason}", "en": ", reason: {reason}"},
        "agent.status.budget": {
            "da": "Budget {year}: brugt ε = {spent} af {budget}, tilbage ε = {left} "
            "(δ = {delta}; {releases} udgivelser, {sent} sendt)",
            "en": "Budget {year}: spent ε = {spent} of {budget}, left ε = {left} "
            "(δ = {delta}; {releases} releases, {sent} sent)",
        },
        "agent.status.receipt": {
            "da": "Seneste kvittering: {text}",
            "en": "Last receipt: {text}",
        },
        "agent.status.no_receipt": {
            "da": "Seneste kvittering: ingen endnu (intet har forladt praksis)",
            "en": "Last receipt: none yet (nothing has left the practice)",
        },
        "agent.status.release": {"da": "Hentet {what}: {file}", "en": "Downloaded {what}: {file}"},
        # status.json's keys for downloaded releases (protocols.wire.FETCH_*, REGION_ROUND)
        "agent.release.cluster": {"da": "klyngeresultat", "en": "cluster result"},
        "agent.release.region": {"da": "regionsresultat", "en": "region result"},
        "agent.release.region_round": {
            "da": "resultat af regionsrunden",
            "en": "region-wide round's result",
        },
        "agent.release.nation": {"da": "landstal", "en": "national figures"},
        "agent.state.active": {"da": "i gang", "en": "in progress"},
        "agent.state.refused": {"da": "afslået", "en": "refused"},
        "agent.state.finished": {"da": "afventer resultat", "en": "awaiting outcome"},
        "agent.state.released": {"da": "udgivet", "en": "released"},
        "agent.state.aborted": {"da": "afbrudt", "en": "aborted"},
        "agent.unlimited": {"da": "ubegrænset", "en": "unlimited"},
    }
)


def epsilon_json(value: float) -> float | str:
    return value if math.isfinite(value) else "inf"


def epsilon_from_json(value: Any) -> float:
    return math.inf if value == "inf" else float(value)


def budget_rows(ledger: Ledger, budget: Budget, today: date) -> list[dict[str, Any]]:
    """Per calendar year: ε spent (composed RDP, as the ledger enforces it), budget and left."""
    usage = {u.year: u for u in ledger.usage(budget.delta_per_year)}
    rows = []
    for year in sorted(set(usage) | {today.year}):
        u = usage.get(year)
        spent = u.epsilon if u else 0.0
        if math.isinf(budget.epsilon_per_year):
            left = math.inf
        elif math.isinf(spent):
            left = 0.0
        else:
            left = max(0.0, budget.epsilon_per_year - spent)
        rows.append(
            {
                "year": year,
                "releases": u.releases if u else 0,
                "sent": u.sent if u else 0,
                "epsilon_spent": epsilon_json(spent),
                "epsilon_budget": epsilon_json(budget.epsilon_per_year),
                "epsilon_left": epsilon_json(left),
                "delta": budget.delta_per_year,
            }
        )
    return rows


def receipt_summary(receipt: Receipt, sent: bool, file: Path | None = None) -> dict[str, Any]:
    return {
        "receipt_id": receipt.receipt_id,
        "round_id": receipt.round_id,
        "recipient": receipt.recipient,
        "reference_date": receipt.reference_date.isoformat(),
        "manifest_id": receipt.manifest_id,
        "manifest_version": receipt.manifest_version,
        "manifest_hash": receipt.manifest_hash,
        "mechanism": receipt.mechanism,
        "epsilon": epsilon_json(receipt.epsilon),
        "delta": receipt.delta,
        "year_epsilon_spent": epsilon_json(receipt.year_epsilon_spent),
        "year_epsilon_budget": epsilon_json(receipt.year_epsilon_budget),
        "payload_sha256": receipt.payload_sha256,
        "payload_bytes": receipt.payload_bytes,
        "coordinates": receipt.coordinates,
        "charged_at": receipt.charged_at,
        "sent": sent,
        "file": str(file) if file else None,
    }


def last_receipt(ledger: Ledger, file: Path | None = None) -> dict[str, Any] | None:
    charges = ledger.charges()
    if not charges:
        return None
    last = charges[-1]
    return receipt_summary(last.receipt, last.sent, file)


def status_document(
    *,
    practice_id: str,
    cluster_id: str,
    coordinator: str,
    running: bool,
    connection: Mapping[str, Any],
    last_round: RoundStatus | None,
    budget: list[dict[str, Any]],
    receipt: dict[str, Any] | None,
    releases: Mapping[str, Mapping[str, Any]],
    updated_at: str,
    pid: int,
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "practice_id": practice_id,
        "cluster_id": cluster_id,
        "coordinator": coordinator,
        "running": running,
        "pid": pid,
        "updated_at": updated_at,
        "connection": dict(connection),
        "last_round": asdict(last_round) if last_round else None,
        "budget": budget,
        "last_receipt": receipt,
        "releases": {k: dict(v) for k, v in releases.items()},
    }


def write_status(path: Path, document: Mapping[str, Any]) -> None:
    """Replace `path` atomically. Not fsynced: status is a view, the ledger is the record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def read_status(path: Path) -> dict[str, Any] | None:
    """The last status the daemon wrote, or None if it never ran."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise AgentError(f"{path}: cannot read agent status ({exc})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AgentError(f"{path}: agent status is not valid JSON ({exc.msg})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise AgentError(f"{path}: not a {FORMAT} document")
    return document


def process_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _eps_text(value: Any, lang: Lang | None) -> str:
    eps = epsilon_from_json(value)
    return t("agent.unlimited", lang=lang) if math.isinf(eps) else format_epsilon(eps, lang)


def render_status(
    document: Mapping[str, Any] | None,
    *,
    practice_id: str,
    cluster_id: str,
    status_path: Path,
    budget: list[dict[str, Any]],
    receipt: Receipt | None,
    lang: Lang | None = None,
) -> list[str]:
    """Lines for a person at the practice: connection, last round, budget left, last receipt."""
    lines = [t("agent.status.head", lang=lang, practice=practice_id, cluster=cluster_id)]
    if document is None:
        lines.append(t("agent.status.never", lang=lang, path=status_path))
    else:
        at = document.get("updated_at", "?")
        conn = document.get("connection") or {}
        alive = document.get("running") and process_alive(document.get("pid"))
        if not alive:
            lines.append(t("agent.status.stopped", lang=lang, at=at))
        elif conn.get("connected"):
            lines.append(
                t("agent.status.connected", lang=lang, target=document.get("coordinator"), at=at)
            )
        else:
            lines.append(
                t(
                    "agent.status.disconnected",
                    lang=lang,
                    target=document.get("coordinator"),
                    error=conn.get("last_error") or "-",
                    at=at,
                )
            )
        lines.append(_round_line(document.get("last_round"), lang))
    for row in budget:
        lines.append(
            t(
                "agent.status.budget",
                lang=lang,
                year=row["year"],
                spent=_eps_text(row["epsilon_spent"], lang),
                budget=_eps_text(row["epsilon_budget"], lang),
                left=_eps_text(row["epsilon_left"], lang),
                delta=scientific(row["delta"], lang),
                releases=row["releases"],
                sent=row["sent"],
            )
        )
    if receipt is None:
        lines.append(t("agent.status.no_receipt", lang=lang))
    else:
        lines.append(t("agent.status.receipt", lang=lang, text=describe(receipt, lang)))
    if document is not None:
        for level, info in sorted((document.get("releases") or {}).items()):
            lines.append(
                t(
                    "agent.status.release",
                    lang=lang,
                    what=_release_words(level, lang),
                    file=status_path.parent / str(info.get("file")),  # relative to state_dir
                )
            )
    return lines


def _release_words(level: str, lang: Lang | None) -> str:
    """What a downloaded release is, in words ("klyngeresultat"); an unknown key as it is."""
    try:
        return t(f"agent.release.{level}", lang=lang)
    except KeyError:
        return level


def _round_line(last: Mapping[str, Any] | None, lang: Lang | None) -> str:
    if not last:
        return t("agent.status.no_round", lang=lang)
    extra = ""
    if last.get("contributors") is not None:
        extra += t("agent.status.contributors", lang=lang, n=last["contributors"])
    if last.get("reason"):
        extra += t("agent.status.reason", lang=lang, reason=last["reason"])
    state = last.get("state", "?")
    try:
        state_text = t(f"agent.state.{state}", lang=lang)
    except KeyError:
        state_text = str(state)
    return t(
        "agent.status.round",
        lang=lang,
        round_id=last.get("round_id", "?"),
        date=last.get("reference_date") or "-",
        state=state_text,
        stage=last.get("stage", "?"),
        extra=extra,
    )
