"""Writing manifests as commented TOML, and embedding or replacing the signature.

`render_manifest` produces the layout `klynge manifest init` writes and the
shipped default uses, with a comment per section for the reviewer. Signing
does not re-render: it strips any previous `[signature]` table from the
author's text and appends the new one, so an author's comments survive. The
signature table is always last and never part of the hash.
"""

from __future__ import annotations

import re
from typing import Any

import tomli_w

from common.tomlfile import parse_toml
from privacy.errors import ManifestError
from privacy.manifest import Manifest, Signature, to_document
from privacy.release import NO_NOISE

_SIGNATURE_HEADER = re.compile(r"^\[signature\][ \t]*(#.*)?$", re.MULTILINE)
_SIGNATURE_COMMENT = "# Signature by the manifest authority (`klynge manifest sign`); not hashed.\n"

_SECTION_COMMENTS: dict[str, str] = {
    "manifest": "Identity and validity. An agent refuses rounds outside valid_from..valid_until.",
    "legal": "Legal basis and roles (checklist 1, 8, 9); the audit report and the GDPR Art. 30\n"
    "# annex are generated from this table.",
    "data_minimisation": "What the agent reads from the EPJ extract (checklist 3). Look-back is "
    "capped at\n# 5 years by Sundhedsloven § 42 d.",
    "schedule": "Reference dates. The agent refuses a round for any other date.",
    "mechanism": "distributed_skellam: Skellam noise shares summed under SecAgg+ (default).\n"
    "# local_discrete_laplace / local_discrete_gaussian: each practice releases its own\n"
    "# noisy vector (OpenDP).",
    "dp": "DP per release. delta is δ; set exactly one of epsilon_per_release (μ or scale is\n"
    "# then calibrated to meet it), mu (total Skellam variance of the released sum) or\n"
    "# scale (local DP). design_dropout raises a round's survivor floor to\n"
    "# (1 − design_dropout) × participants, which lowers each practice's noise share.",
    "budget": "Yearly (ε, δ) budget per practice, enforced by the agent's ledger. RDP curves of\n"
    "# all releases whose reference date falls in the calendar year are added, then\n"
    "# converted to (ε, δ) at delta_per_year.",
    "disclosure": "Disclosure control. A DP release hides nothing by its noisy value (that would\n"
    "# bias what survives); a rate whose 95 % half-width exceeds uncertain_half_width (a\n"
    "# proportion) or uncertain_relative_half_width × the rate (per 1,000) is labelled\n"
    "# uncertain. A release without DP (verification) suppresses counts < min_cell, with\n"
    "# complementary suppression; its rates need a denominator ≥ min_denominator_for_rate;\n"
    "# rounding_base 1 means no rounding. Every release needs min_practices contributors.",
    "bounding": "Public bound used when the agent clips its own vector.",
    "secagg": "SecAgg+: each practice shares secrets with `neighbours` others; `threshold` shares\n"
    "# reconstruct; a round aborts below `min_survivors`, which also guarantees the\n"
    "# minimum number of contributing practices.",
    "region_round": "The region-wide round: all practices of a region in one SecAgg+ round, on\n"
    "# these reference dates, at its own ε in the same yearly budget. It carries the age/sex\n"
    "# strata of every indicator and the practice-rate histograms: each practice splits its\n"
    "# rate between the two nearest of `bins` bin centres (linear binning) and counts as\n"
    "# d / full_weight_denominator of a practice when its denominator d is smaller, so one\n"
    "# patient moves at most a little mass; `scale` fixed-point units per practice; the\n"
    "# Skellam variance on each bin is noise_weight × μ. Proportions only.",
    "recipients": "Who receives which level. Practice-level values never leave under\n"
    "# distributed DP.",
    "partners": "Partners in the wider health system (docs/partners.md): each fetches, with a\n"
    "# certificate naming its identity, only its units (clusters, or a region), its levels\n"
    '# and its measures (indicator ids, or "all"); the coordinator refuses anything more\n'
    "# and logs the refusal.",
    "indicators": "The locked indicator set: content hashes of the definitions (with their code\n"
    "# lists) and how each is released. A cluster round releases one group per indicator (its\n"
    "# total): cells = pass_fail gives (passed, failed), each counted patient in one of them;\n"
    "# cells = count gives (events, listed) for a rate per listed patient. max_per_patient caps\n"
    "# a patient's contribution, from which sensitivity is computed. Indicators with the same\n"
    "# population count the same patients, whose number is then estimated once from all\n"
    "# their cells. The Skellam variance on each cell is noise_weight × μ: headline\n"
    "# indicators get less noise. expected_denominator_per_1000 (of listed patients) and\n"
    "# expected_rate are planning figures for the audit's expected precision; they never\n"
    "# enter a release.",
    "codelists": "Code-list versions and content hashes used by the indicators.",
    "surveys": "Patient-experience surveys, released in the same rounds as the indicators: each\n"
    "# measure adds (numerator units, respondents) cells to the same vector. One response per\n"
    "# respondent per period; a respondent is counted as if also a listed patient, so the\n"
    "# round's sensitivity, ε and ledger entry cover both together. A respondent's value lies\n"
    "# in [low, high] and adds at most (high − low) × resolution units. noise_weight works as\n"
    "# an indicator's, in the measure's own scale. Below min_respondents a measure is labelled\n"
    "# too uncertain. Answers dated in the period_months up to a reference date count.",
}


# A verification manifest (kind none) says what it is wherever a reader might start.
_NO_DP_HEADER = (
    "# !!! NO DIFFERENTIAL PRIVACY: FOR VERIFICATION WITH SYNTHETIC DATA ONLY !!!\n"
    "# !!! INGEN DIFFERENTIAL PRIVACY: KUN TIL VERIFIKATION MED SYNTETISKE DATA !!!\n"
    '# Mechanism kind "none" releases exact cluster sums, so they can be compared with\n'
    "# each practice's own `klynge compute` result. It protects no patient: never approve\n"
    "# it for an agent that reads real patient data.\n\n"
)
_NO_DP_COMMENTS: dict[str, str] = {
    "mechanism": "none: NO noise and NO differential privacy (ε = ∞). Only for checking the\n"
    '# federation\'s arithmetic on synthetic data; purpose = "verification" is required so\n'
    "# this kind cannot be chosen by accident. There is no [dp] table.",
    "budget": "Yearly budget: declared unlimited (epsilon_per_year = inf), as kind none\n"
    "# requires; any other kind with an unlimited budget is refused. A practice's ledger\n"
    "# records these releases at ε = ∞, and refuses every later DP release dated in the\n"
    "# same calendar year (no DP guarantee is left there).",
}


def _value(key: str, value: Any) -> str:
    """`key = value` formatted by tomli_w, so quoting and escaping follow TOML exactly."""
    return tomli_w.dumps({key: value}, multiline_strings=True)


def _inline(key: str, value: Any) -> str:
    """`key = value`, a text in two languages as an inline {da, en} table (inside [[...]])."""
    if isinstance(value, dict):
        parts = ", ".join(_value(k, v).strip() for k, v in value.items())
        return f"{key} = {{ {parts} }}\n"
    return _value(key, value)


def _table(name: str, table: dict[str, Any]) -> str:
    """`[name]` with its plain keys, then each sub-table (a text whose languages differ,
    as `da` and `en`) as `[name.key]` after them, so a reviewer reads the numbers first."""
    plain = [f"[{name}]\n"]
    subtables: list[str] = []
    for key, value in table.items():
        if isinstance(value, dict):
            body = "".join(_value(k, v) for k, v in value.items())
            subtables.append(f"\n[{name}.{key}]\n{body}")
        else:
            plain.append(_value(key, value))
    return "".join(plain) + "".join(subtables)


def render_manifest(manifest: Manifest) -> str:
    """The manifest as commented TOML, without a signature."""
    doc = to_document(manifest)
    no_dp = manifest.mechanism == NO_NOISE
    comments = {**_SECTION_COMMENTS, **_NO_DP_COMMENTS} if no_dp else _SECTION_COMMENTS
    out = [
        _NO_DP_HEADER if no_dp else "",
        "# Klynge protocol manifest. The agent runs only what a signed, locally approved\n"
        "# manifest allows. Its hash covers the meaning, not the formatting: comments,\n"
        "# whitespace and key order do not change it.\n",
        _value("format", doc["format"]),
    ]
    for name in (
        "manifest",
        "legal",
        "data_minimisation",
        "schedule",
        "mechanism",
        "dp",
        "budget",
        "disclosure",
        "bounding",
        "secagg",
        "region_round",
    ):
        if name in doc:  # a verification manifest has no [dp] table
            out.append(f"\n# {comments[name]}\n" if name in comments else "\n")
            out.append(_table(name, doc[name]))
    out.append(f"\n# {comments['recipients']}\n")
    for name, table in doc["recipients"].items():
        out.append(_table(f"recipients.{name}", table) + "\n")
    if "partners" in doc:
        out.append(f"# {_SECTION_COMMENTS['partners']}\n")
        for entry in doc["partners"]:
            out.append("[[partners]]\n" + "".join(_inline(k, v) for k, v in entry.items()) + "\n")
    out.append(f"# {_SECTION_COMMENTS['indicators']}\n")
    for entry in doc["indicators"]:
        out.append("[[indicators]]\n" + tomli_w.dumps(entry) + "\n")
    if "surveys" in doc:
        out.append(f"# {_SECTION_COMMENTS['surveys']}\n")
        for entry in doc["surveys"]:
            out.append(_survey(entry))
    if doc["codelists"]:
        out.append(f"# {_SECTION_COMMENTS['codelists']}\n")
        for entry in doc["codelists"]:
            out.append("[[codelists]]\n" + tomli_w.dumps(entry) + "\n")
    return "".join(out).rstrip("\n") + "\n"


def _survey(entry: dict[str, Any]) -> str:
    """One `[[surveys]]` table; its sub-tables are headed by the array's name, as TOML needs."""
    plain = {k: v for k, v in entry.items() if k not in ("min_respondents", "measures")}
    text = "[[surveys]]\n" + tomli_w.dumps(plain)
    text += "\n[surveys.min_respondents]\n" + tomli_w.dumps(entry["min_respondents"])
    for measure in entry["measures"]:
        text += "\n[[surveys.measures]]\n" + tomli_w.dumps(measure)
    return text + "\n"


def signature_block(signature: Signature) -> str:
    return (
        _SIGNATURE_COMMENT
        + "[signature]\n"
        + _value("algorithm", signature.algorithm)
        + _value("key_id", signature.key_id)
        + _value("manifest_hash", signature.manifest_hash)
        + _value("value", signature.value)
    )


def strip_signature(text: str, path: str | None = None) -> str:
    """The text without its trailing `[signature]` table (and that table's comment line)."""
    match = _SIGNATURE_HEADER.search(text)
    if match is None:
        return text
    before = text[: match.start()]
    if before.endswith(_SIGNATURE_COMMENT):
        before = before[: -len(_SIGNATURE_COMMENT)]
    full = parse_toml(text, path, error=ManifestError)
    rest = parse_toml(before, path, error=ManifestError)
    full.pop("signature", None)
    if full != rest:
        raise ManifestError(path, "signature", "the [signature] table must be the last table")
    return before


def with_signature(text: str, signature: Signature, path: str | None = None) -> str:
    body = strip_signature(text, path).rstrip("\n")
    return body + "\n\n" + signature_block(signature)
