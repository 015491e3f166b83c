"""The reviewer's audit report: the 9 checklist points, computed from the manifest itself.

Every figure comes from `plan.privacy_plan(manifest)`, i.e. from the same
Release object the agent uses to draw noise and charge its ledger, so the
report cannot claim a guarantee the code does not give. Free text (legal
basis, roles, patient information) comes from the signed manifest, in the
reader's language where the manifest provides both.

A verification manifest (mechanism none) gets a warning before everything
else, ε = ∞ wherever a cost is shown, and none of the claims that only noise
can make (differencing guards, noise SD, collusion bounds).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import privacy.audit_text  # noqa: F401  (registers the report's messages)
from common.formatting import day, epsilon, integer, number, percent, points, scientific
from common.i18n import Lang, t
from privacy.catalogue import InstalledCatalogue, definition_mismatches
from privacy.distribution import patient_l2_units
from privacy.errors import LedgerCorrupt, LedgerError, LogError, ManifestRefused, SignatureError
from privacy.layout import ReleaseLayout, RoundScope
from privacy.ledger import MAX_ATTEMPTS_PER_PERIOD, Ledger, YearUsage
from privacy.log_entries import Kind
from privacy.manifest import ALL_MEASURES, Manifest, Partner, SignedManifest
from privacy.plan import PrivacyPlan, privacy_plan, round_min_survivors
from privacy.rdp import to_approx_dp
from privacy.report_model import Bullets, Para, Report, Section, Table
from privacy.transparency import Checkpoint, LogVerification, verify_log
from privacy.trust import check_signature
from privacy.utility import (
    GOAL_REGION_HALF_WIDTH,
    MEDIAN_CLUSTER,
    REGION,
    SIZES,
    budget_shares,
    headline_misses,
    precision,
    survey_precision,
)

# A typical Danish GP cluster: about 29 GPs at about 1.8 GPs per practice.
TYPICAL_CLUSTER_PRACTICES = 15  # a median Danish cluster (privacy.utility.MEDIAN_CLUSTER)


@dataclass(frozen=True)
class SignatureStatus:
    state: str  # none | unchecked | ok | bad
    key_id: str | None
    detail: str = ""


@dataclass(frozen=True)
class LedgerStatus:
    path: str
    practice_id: str | None
    usage: tuple[YearUsage, ...]
    error: str | None = None


@dataclass(frozen=True)
class LogStatus:
    path: str
    verification: LogVerification | None
    error: str | None = None


def signature_status(
    signed: SignedManifest, keys: Mapping[str, Ed25519PublicKey] | None
) -> SignatureStatus:
    sig = signed.signature
    if sig is None:
        return SignatureStatus("none", None)
    if keys is None:
        return SignatureStatus("unchecked", sig.key_id)
    try:
        check_signature(signed, keys)
    except (ManifestRefused, SignatureError) as exc:
        return SignatureStatus("bad", sig.key_id, str(exc))
    return SignatureStatus("ok", sig.key_id)


def ledger_status(directory: Path | str, delta: float) -> LedgerStatus:
    try:
        ledger = Ledger.open(directory)
        return LedgerStatus(str(directory), ledger.practice_id, tuple(ledger.usage(delta)))
    except (LedgerCorrupt, LedgerError) as exc:
        return LedgerStatus(str(directory), None, (), str(exc))


def log_status(
    path: Path | str,
    log_key: Ed25519PublicKey | None = None,
    expected_head: Checkpoint | None = None,
) -> LogStatus:
    try:
        return LogStatus(str(path), verify_log(path, log_key=log_key, expected_head=expected_head))
    except LogError as exc:
        return LogStatus(str(path), None, str(exc))


def _eps(value: float, lang: Lang | None = None) -> str:
    """ε for people: three decimals in the reader's number format, or ∞ without DP."""
    return epsilon(value, lang, 0 if float(value).is_integer() else 3)


def _json_safe(value: Any) -> Any:
    """Report figures as strict JSON: an infinite ε becomes the string "inf", as in receipts."""
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else "nan")
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _join(items: tuple[str, ...] | list[str], lang: Lang) -> str:
    return ", ".join(items) if items else t("audit.none", lang=lang)


class _Builder:
    def __init__(self, signed: SignedManifest, lang: Lang):
        self.signed = signed
        self.m: Manifest = signed.manifest
        self.lang = lang
        self.plan: PrivacyPlan = privacy_plan(self.m)
        self.no_dp = not self.m.has_dp

    def tr(self, key: str, **values: Any) -> str:
        return t(key, lang=self.lang, **values)

    def kv(self, rows: list[tuple[str, str]]) -> Table:
        return Table((self.tr("audit.field"), self.tr("audit.value")), tuple(rows))

    # -- sections -------------------------------------------------------------

    def overview(
        self,
        sig: SignatureStatus,
        installed: InstalledCatalogue | None,
        installed_error: str | None,
    ) -> tuple[Section, dict[str, Any]]:
        m = self.m.meta
        sig_text = {
            "none": lambda: self.tr("audit.sig.none"),
            "unchecked": lambda: self.tr("audit.sig.unchecked", key_id=sig.key_id),
            "ok": lambda: self.tr("audit.sig.ok", key_id=sig.key_id),
            "bad": lambda: self.tr("audit.sig.bad", detail=sig.detail),
        }[sig.state]()
        if installed is not None:
            problems = definition_mismatches(self.m, installed)
            defs = (
                self.tr("audit.defs.bad", detail="; ".join(problems))
                if problems
                else self.tr("audit.defs.ok")
            )
            defs_state = {"state": "mismatch" if problems else "ok", "problems": problems}
        else:
            defs = self.tr("audit.defs.unknown", detail=installed_error or "")
            defs_state = {"state": "unchecked", "problems": []}
        rows = [
            (self.tr("audit.manifest_title"), m.title.get(self.lang)),
            (self.tr("audit.manifest_id"), f"{m.id} v{m.version}"),
            (self.tr("audit.manifest_hash"), self.m.hash()),
            (self.tr("audit.authority"), m.authority),
            (self.tr("audit.issued"), m.issued.isoformat()),
            (
                self.tr("audit.validity"),
                f"{m.valid_from.isoformat()} – {m.valid_until.isoformat()}",
            ),
            (self.tr("audit.code_version"), m.code_version),
            (self.tr("audit.signature"), sig_text),
            (self.tr("audit.definitions"), defs),
        ]
        blocks = (
            self.kv(rows),
            Para(f"{self.tr('audit.rationale')}: {m.rationale.get(self.lang)}"),
        )
        return Section("overview", self.tr("audit.sec.overview"), blocks), defs_state

    def legal(self) -> Section:
        legal = self.m.legal
        rows = [
            (self.tr("audit.basis"), legal.basis.get(self.lang)),
            (self.tr("audit.gdpr"), _join(legal.gdpr_articles, self.lang)),
            (self.tr("audit.purpose"), legal.purpose.get(self.lang)),
            (self.tr("audit.controller"), f"{legal.controller} ({legal.controller_contact})"),
            (self.tr("audit.joint"), _join(legal.joint_controllers, self.lang)),
            (self.tr("audit.processors"), _join(legal.processors, self.lang)),
            (self.tr("audit.dpia"), legal.dpia_reference),
        ]
        if self.m.is_local:
            note = self.tr("audit.gp_personal_data_local")
        elif self.no_dp:
            note = self.tr("audit.gp_personal_data_none", n_min=self.m.secagg.min_survivors)
        else:
            note = self.tr("audit.gp_personal_data", n_min=self.m.secagg.min_survivors)
        return Section("legal", self.tr("audit.sec.legal"), (self.kv(rows), Para(note)))

    def indicators(self, installed: InstalledCatalogue | None) -> Section:
        rows = []
        for entry in self.m.indicators:
            title = ""
            if installed is not None and entry.id in installed.indicators:
                title = installed.indicators[entry.id].title.get(self.lang, "")
            rows.append(
                (
                    entry.id,
                    title,
                    self.tr(f"audit.unit.{entry.unit}"),
                    str(entry.max_per_patient),
                    str(entry.noise_weight),
                    str(len(entry.strata)),
                    entry.content_hash,
                )
            )
        table = Table(
            (
                self.tr("audit.col.id"),
                self.tr("audit.col.title"),
                self.tr("audit.col.unit"),
                self.tr("audit.col.max"),
                self.tr("audit.col.weight"),
                self.tr("audit.col.strata"),
                self.tr("audit.col.hash"),
            ),
            tuple(rows),
        )
        codelists = Table(
            (
                self.tr("audit.col.codelist"),
                self.tr("audit.col.version"),
                self.tr("audit.col.hash"),
            ),
            tuple((c.name, c.version, c.content_hash) for c in self.m.codelists),
        )
        schedule = self.tr(
            "audit.schedule",
            frequency=self.m.schedule.frequency,
            dates=", ".join(d.isoformat() for d in self.m.schedule.reference_dates),
        )
        blocks = (
            Para(self.tr("audit.indicators_intro", count=len(self.m.indicators))),
            table,
            codelists,
            Para(schedule),
        )
        return Section("indicators", self.tr("audit.sec.indicators"), blocks)

    def surveys(self) -> tuple[Section | None, dict[str, Any] | None]:
        """Checklist 2–5 for the patient-experience surveys: what leaves, the bound, the cost."""
        if not self.m.survey_entries:
            return None, None
        shares = budget_shares(self.m)
        median = {p.measure_id: p for p in survey_precision(self.m, MEDIAN_CLUSTER)}
        blocks: list[Any] = []
        data: dict[str, Any] = {}
        for survey in self.m.survey_entries:
            rows = []
            for measure in survey.measures:
                share = sum(v for k, v in shares.items() if k.startswith(f"survey:{measure.id}:"))
                p = median[measure.id]
                half = (
                    points(p.noise_half_width, 1, self.lang)
                    if measure.kind == "top_box"
                    else self.tr(
                        "audit.survey.score_points", n=number(p.noise_half_width, 2, self.lang)
                    )
                )
                rows.append(
                    (
                        measure.id,
                        self.tr(f"audit.survey.kind.{measure.kind}"),
                        f"{number(measure.low, 0, self.lang)}–{number(measure.high, 0, self.lang)}",
                        number(measure.max_units, 0, self.lang),
                        percent(share, 1, self.lang),
                        f"± {half}",
                    )
                )
                data[measure.id] = {
                    "survey": survey.id,
                    "kind": measure.kind,
                    "bounds": [measure.low, measure.high],
                    "max_units_per_respondent": measure.max_units,
                    "budget_share": share,
                    "noise_half_width_median_cluster": p.noise_half_width,
                }
            least = survey.min_respondents
            blocks += [
                Para(
                    self.tr(
                        "audit.survey.intro",
                        id=survey.id,
                        version=survey.version,
                        hash=survey.content_hash,
                        months=survey.period_months,
                        weight=survey.noise_weight,
                    )
                ),
                Table(
                    (
                        self.tr("audit.col.id"),
                        self.tr("audit.survey.col.kind"),
                        self.tr("audit.survey.col.bounds"),
                        self.tr("audit.survey.col.max"),
                        self.tr("audit.survey.col.share"),
                        self.tr("audit.survey.col.precision"),
                    ),
                    tuple(rows),
                ),
                Para(
                    self.tr(
                        "audit.survey.min_respondents",
                        practice=least.practice,
                        cluster=least.cluster,
                        region=least.region,
                    )
                ),
            ]
        blocks += [
            Bullets(
                (
                    self.tr("audit.survey.leaves"),
                    self.tr("audit.survey.bound"),
                    self.tr("audit.survey.mechanism"),
                    self.tr("audit.survey.free_text"),
                )
            )
        ]
        return Section("surveys", self.tr("audit.sec.surveys"), tuple(blocks)), data

    def minimisation(self) -> Section:
        mini = self.m.minimisation
        blocks = (
            Para(f"{self.tr('audit.fields_read')}:"),
            Bullets(mini.fields_read),
            Para(f"{self.tr('audit.age_bands')}: {mini.age_bands.get(self.lang)}"),
            Para(self.tr("audit.lookback", days=mini.max_lookback_days)),
            Para(f"{self.tr('audit.pseudonyms')}: {mini.pseudonyms.get(self.lang)}"),
            Para(
                self.tr(
                    "audit.vector",
                    length=ReleaseLayout.for_round(self.m, RoundScope.CLUSTER).length,
                )
            ),
        )
        return Section("minimisation", self.tr("audit.sec.minimisation"), blocks)

    def recipients(self) -> Section:
        rows = tuple(
            (
                self.tr(f"audit.level.{r.name}"),
                _join([self.tr(f"audit.level.{lvl}") for lvl in r.receives], self.lang),
                r.description.get(self.lang),
            )
            for r in self.m.recipients
        )
        table = Table(
            (
                self.tr("audit.col.recipient"),
                self.tr("audit.col.levels"),
                self.tr("audit.col.sees"),
            ),
            rows,
        )
        levels = "audit.levels_explained_none" if self.no_dp else "audit.levels_explained"
        blocks: tuple[Any, ...] = (table, Para(self.tr(levels)))
        if not self.m.is_local:
            blocks = (*blocks, Para(self.tr("audit.coordinator_sees")))
        blocks = (*blocks, *self.partners())
        return Section("recipients", self.tr("audit.sec.recipients"), blocks)

    def partner_units(self, p: Partner) -> str:
        if p.clusters is not None:
            return self.tr("audit.partner.clusters", clusters=_join(p.clusters, self.lang))
        return self.tr("audit.partner.region", region=p.region)

    def partner_measures(self, p: Partner) -> str:
        ids = p.measure_ids(self.m.released_measure_ids)
        if p.measures == ALL_MEASURES:
            return self.tr("audit.partner.all_measures", n=len(ids))
        return _join(ids, self.lang)

    def partners(self) -> tuple[Any, ...]:
        """Every declared partner and exactly what it gets: units, levels, measures."""
        if not self.m.partners:
            return (Para(self.tr("audit.partner.none")),)
        rows = tuple(
            (
                p.name.get(self.lang),
                self.tr(f"audit.partner.kind.{p.kind}"),
                p.identity,
                self.partner_units(p),
                _join([self.tr(f"audit.level.{lvl}") for lvl in p.levels], self.lang),
                self.partner_measures(p),
            )
            for p in self.m.partners
        )
        header = tuple(
            self.tr(f"audit.partner.col.{c}")
            for c in ("name", "kind", "identity", "units", "levels", "measures")
        )
        return (
            Para(self.tr("audit.partner.intro")),
            Table(header, rows),
            Para(self.tr("audit.partner.enforced")),
        )

    def disclosure(self) -> tuple[Section, dict[str, Any]]:
        d, s = self.m.disclosure, self.m.secagg
        suppression = [self.tr("audit.rule.min_cell", n=d.min_cell)]
        if d.suppress_small_complement:
            suppression.append(self.tr("audit.rule.complement", n=d.min_cell))
        suppression += [
            self.tr("audit.rule.complementary"),
            self.tr("audit.rule.rate", n=d.min_denominator_for_rate),
            self.tr("audit.rule.rounding", n=d.rounding_base)
            if d.rounding_base > 1
            else self.tr("audit.rule.no_rounding"),
            self.tr("audit.rule.recorded"),
        ]
        practices = self.tr("audit.rule.practices", n=d.min_practices, survivors=s.min_survivors)
        if self.no_dp:
            rules = [practices, *suppression]
        else:
            uncertain = self.tr(
                "audit.rule.uncertain",
                abs=points(d.uncertain_half_width, 0, lang=self.lang),
                rel=percent(d.uncertain_relative_half_width, 0, lang=self.lang),
            )
            rules = [
                practices,
                self.tr("audit.rule.dp_nothing_hidden"),
                uncertain,
                f"{self.tr('audit.rule.no_dp_only')} " + " ".join(suppression),
            ]
        differencing = Bullets(
            (self.tr("audit.diff.none"),)
            if self.no_dp
            else (
                self.tr("audit.diff.levels"),
                self.tr("audit.diff.strata"),
                self.tr("audit.diff.periods"),
                self.tr("audit.diff.membership"),
            )
        )
        plan = self.plan
        release = plan.release
        sens = release.sensitivity
        budget = self.m.budget
        rows = [
            (self.tr("audit.dp.mechanism"), release.title(self.lang)),
            (
                self.tr("audit.dp.sensitivity"),
                f"Δ₁ = {sens.l1}, Δ₂ = √{sens.l2_squared} ≈ {number(sens.l2, 2, self.lang)}",
            ),
        ]
        rows.extend(release.parameter_rows(self.lang))
        rows.append(
            (
                self.tr("audit.dp.per_release"),
                self.cost_text(plan.per_release.epsilon, plan.per_release.delta),
            )
        )
        region = self.m.region_round
        if region is not None and plan.region_per_release is not None:
            dates = ", ".join(day(d, self.lang) for d in region.reference_dates)
            rows.append(
                (
                    self.tr("audit.dp.region", dates=dates),
                    self.cost_text(plan.region_per_release.epsilon, plan.region_per_release.delta),
                )
            )
        for year in plan.years:
            label = (
                self.tr(
                    "audit.dp.per_year_region",
                    year=year.year,
                    n=year.releases,
                    r=year.region_releases,
                )
                if year.region_releases
                else self.tr("audit.dp.per_year", year=year.year, n=year.releases)
            )
            rows.append((label, self.cost_text(year.epsilon, year.delta)))
            if not budget.unlimited:
                rows.append(
                    (
                        self.tr("audit.dp.retry", year=year.year),
                        self.cost_text(year.epsilon_with_retry, year.delta),
                    )
                )
        rows.append(
            (
                self.tr("audit.dp.budget"),
                self.tr("audit.dp.unlimited")
                if budget.unlimited
                else self.cost_text(budget.epsilon_per_year, budget.delta_per_year),
            )
        )
        feasible = plan.worst_year.epsilon_with_retry <= budget.epsilon_per_year
        dp_blocks: list[Any] = [
            Para(self.tr("audit.dp.unit_none" if self.no_dp else "audit.dp.unit")),
            self.kv(rows),
        ]
        fellow, coordinator = release.colluders_epsilon(1), release.colluders_epsilon(0)
        if fellow is not None and coordinator is not None and not self.no_dp:
            dp_blocks.append(
                Para(
                    self.tr(
                        "audit.dp.fellow",
                        fellow=_eps(fellow, self.lang),
                        coordinator=_eps(coordinator, self.lang),
                    )
                )
            )
        if not budget.unlimited:
            dp_blocks.append(Para(self.tr("audit.dp.headroom", n=plan.releases_within_budget)))
            spare = max(plan.releases_within_budget - plan.worst_year.releases, 0)
            dp_blocks.append(
                Para(self.tr("audit.dp.aborted", attempts=MAX_ATTEMPTS_PER_PERIOD, spare=spare))
            )
        if not feasible:
            dp_blocks.append(Para(self.tr("audit.dp.infeasible")))
        dp_blocks.append(self.noise_table())
        precision_blocks, precision_data = self.precision()
        dp_blocks.extend(precision_blocks)
        if self.m.distribution is not None:
            dp_blocks.append(self.distribution_text())
        dp_blocks.append(
            Para(self.tr("audit.dp.ledger_none" if self.no_dp else "audit.dp.accounting"))
        )
        blocks = (
            Bullets(tuple(rules)),
            Para(f"{self.tr('audit.differencing')}:"),
            differencing,
            Para(f"{self.tr('audit.dp')}:"),
            *dp_blocks,
        )
        data = {
            "mechanism": release.name,
            "parameters": release.parameters(),
            "sensitivity": sens.as_dict(),
            "per_release": {"epsilon": plan.per_release.epsilon, "delta": plan.per_release.delta},
            "per_year": [
                {
                    "year": y.year,
                    "releases": y.releases,
                    "region_releases": y.region_releases,
                    "epsilon": y.epsilon,
                    "epsilon_with_retry": y.epsilon_with_retry,
                    "delta": y.delta,
                }
                for y in plan.years
            ],
            "region_round": None
            if plan.region_per_release is None
            else {
                "epsilon_per_release": plan.region_per_release.epsilon,
                "parameters": plan.region_release.parameters() if plan.region_release else None,
            },
            "against_fellow_practice": _json_safe(fellow),
            "against_coordinator": _json_safe(coordinator),
            "precision": precision_data,
            "budget": {
                "epsilon_per_year": budget.epsilon_per_year,
                "delta_per_year": budget.delta_per_year,
                "releases_within_budget": None if budget.unlimited else plan.releases_within_budget,
                "schedule_fits": feasible,
            },
            "disclosure": {
                "min_cell": d.min_cell,
                "suppress_small_complement": d.suppress_small_complement,
                "min_denominator_for_rate": d.min_denominator_for_rate,
                "min_practices": d.min_practices,
                "rounding_base": d.rounding_base,
                "uncertain_half_width": d.uncertain_half_width,
                "uncertain_relative_half_width": d.uncertain_relative_half_width,
                "hides_noisy_values": self.no_dp,
            },
        }
        return Section("disclosure", self.tr("audit.sec.disclosure"), blocks), data

    def precision(self) -> tuple[list[Any], list[dict[str, Any]]]:
        """Each indicator's share of ε and its expected half-widths (`privacy.utility`)."""
        if self.no_dp:
            return [], []
        by_size = {s.name: {p.indicator_id: p for p in precision(self.m, s)} for s in SIZES}
        shares = budget_shares(self.m)
        rows = []
        data = []
        for entry in self.m.indicators:
            per = {name: by_size[name][entry.id] for name in by_size}
            scale = 100 if per["median_cluster"].proportion else 1000

            def hw(name: str, kind: str = "noise", per: Any = per, scale: int = scale) -> str:
                p = per[name]
                value = p.noise_half_width if kind == "noise" else p.sampling_half_width
                return number(value * scale, 1, lang=self.lang)

            rows.append(
                (
                    entry.id,
                    "✓" if entry.headline else "",
                    str(entry.noise_weight),
                    percent(shares[f"indicator:{entry.id}"], 1, lang=self.lang),
                    hw("small_cluster"),
                    hw("median_cluster"),
                    hw("large_cluster"),
                    hw("region"),
                    hw("median_cluster", "chance"),
                )
            )
            data.append(
                {
                    "id": entry.id,
                    "headline": entry.headline,
                    "noise_weight": entry.noise_weight,
                    "budget_share": shares[f"indicator:{entry.id}"],
                    **{f"noise_half_width_{name}": per[name].noise_half_width for name in by_size},
                    "sampling_half_width_median_cluster": per["median_cluster"].sampling_half_width,
                }
            )
        sizes = {s.name: s for s in SIZES}

        def size(name: str) -> str:
            s = sizes[name]
            return self.tr(
                "audit.size", listed=integer(s.listed, self.lang), n=integer(s.practices, self.lang)
            )

        table = Table(
            (
                self.tr("audit.col.id"),
                self.tr("audit.col.headline"),
                self.tr("audit.col.weight"),
                self.tr("audit.col.share"),
                self.tr("audit.col.noise_small"),
                self.tr("audit.col.noise_median"),
                self.tr("audit.col.noise_large"),
                self.tr("audit.col.noise_region"),
                self.tr("audit.col.chance"),
            ),
            tuple(rows),
        )
        misses = headline_misses(self.m) + headline_misses(self.m, REGION, GOAL_REGION_HALF_WIDTH)
        verdict = (
            self.tr(
                "audit.precision.missed", ids=", ".join(sorted({p.indicator_id for p in misses}))
            )
            if misses
            else self.tr("audit.precision.met")
        )
        blocks: list[Any] = [
            Para(
                self.tr(
                    "audit.precision",
                    small=size("small_cluster"),
                    median=size("median_cluster"),
                    large=size("large_cluster"),
                    region=size("region"),
                )
            ),
            table,
            Para(self.tr("audit.precision.goal", verdict=verdict)),
        ]
        events = [e for e in self.m.indicators if e.unit == "events"]
        if events:
            caps = sorted({e.max_per_patient for e in events})
            blocks.append(
                Para(
                    self.tr(
                        "audit.cap",
                        cap="/".join(str(c) for c in caps),
                        ids=", ".join(e.id for e in events),
                        clipped=", ".join(
                            f"{e.id} {percent(e.expected_clipped_share or 0.0, 2, lang=self.lang)}"
                            for e in events
                        ),
                    )
                )
            )
        return blocks, data

    def cost_text(self, epsilon: float, delta: float) -> str:
        """ε and δ; without DP only ε = ∞, since no δ makes a guarantee out of it."""
        return (
            f"ε = {_eps(epsilon, self.lang)}"
            if math.isinf(epsilon)
            else f"ε = {_eps(epsilon, self.lang)}, δ = {scientific(delta, self.lang)}"
        )

    def noise_table(self) -> Para | Table:
        n = TYPICAL_CLUSTER_PRACTICES
        return self.plan.release.noise_summary(n, round_min_survivors(self.m, n), self.lang)

    def distribution_text(self) -> Any:
        """The histograms' parameters, one patient's reach and their noise in a typical region."""
        spec = self.m.distribution
        region = self.plan.region_release
        assert spec is not None and region is not None
        n = REGION.practices
        floor = round_min_survivors(self.m, n)
        sd = region.sum_sd(spec.noise_weight, n, floor) / spec.scale
        return Para(
            self.tr(
                "audit.dp.distribution",
                ids=", ".join(spec.indicators),
                bins=spec.bins,
                width=number(100 / spec.bins, 0, self.lang),
                dmin=spec.full_weight_denominator,
                l2=number(patient_l2_units(spec) / spec.scale, 3, self.lang),
                n=integer(n, self.lang),
                sd=number(sd, 1, self.lang),
            )
        )

    def secagg(self) -> Section:
        s = self.m.secagg
        blocks: list[Any] = [
            Para(self.tr("audit.secagg.params", k=s.neighbours, t=s.threshold, n=s.min_survivors))
        ]
        if self.m.is_local:
            blocks.append(Para(self.tr("audit.secagg.local")))
        else:
            blocks.append(
                Para(self.tr("audit.secagg.who_none" if self.no_dp else "audit.secagg.who"))
            )
        assumptions = [
            self.tr("audit.assume.threshold", t=s.threshold, k=s.neighbours),
            self.tr("audit.assume.survivors", t=s.threshold, n=s.min_survivors),
            self.tr("audit.assume.registry"),
        ]
        release = self.plan.release
        eps = [release.colluders_epsilon(c) for c in (1, 2)]
        if eps[0] is not None and eps[1] is not None:
            assumptions.append(
                self.tr(
                    "audit.assume.collusion",
                    n=s.min_survivors,
                    eps1=_eps(eps[0], self.lang),
                    eps2=_eps(eps[1], self.lang),
                )
            )
        assumptions.append(self.tr("audit.assume.honest"))
        blocks += [Para(f"{self.tr('audit.assumptions')}:"), Bullets(tuple(assumptions))]
        return Section("secagg", self.tr("audit.sec.secagg"), tuple(blocks))

    def audit_log(self, log: LogStatus | None) -> tuple[Section, dict[str, Any] | None]:
        kinds = Bullets(tuple(self.tr(f"audit.log.kind.{k.value}") for k in Kind))
        blocks: list[Any] = [
            Para(self.tr("audit.log.what")),
            kinds,
            Para(self.tr("audit.log.checks")),
            Para(self.tr("audit.log.detects")),
        ]
        data = None
        if log is None:
            blocks.append(Para(self.tr("audit.log.none")))
        elif log.verification is not None:
            v = log.verification
            head = f"{v.head.tree_size}:{v.head.root}"
            blocks.append(
                Para(
                    self.tr(
                        "audit.log.ok",
                        path=log.path,
                        n=v.entries,
                        signed=v.signed_by_practices,
                        practices=len(v.practices),
                        head=head,
                    )
                )
            )
            data = {
                "path": log.path,
                "verifies": True,
                "entries": v.entries,
                "kinds": dict(v.kinds),
                "signed_by_practices": v.signed_by_practices,
                "practices": sorted(v.practices),
                "head": head,
                "log_key_id": v.head.key_id,
            }
        else:
            blocks.append(Para(self.tr("audit.log.bad", detail=log.error)))
            data = {"path": log.path, "verifies": False, "error": log.error}
        return Section("audit_log", self.tr("audit.sec.log"), tuple(blocks)), data

    def security(self) -> Section:
        legal = self.m.legal
        items = (
            self.tr("audit.security.tls"),
            self.tr("audit.security.auth"),
            self.tr("audit.security.keys"),
            *(() if self.no_dp else (self.tr("audit.security.noise"),)),
            legal.security.get(self.lang),
            f"{self.tr('audit.security.deletion')}: {legal.retention.get(self.lang)}",
        )
        return Section("security", self.tr("audit.sec.security"), (Bullets(items),))

    def transparency(self) -> Section:
        legal = self.m.legal
        rows = [
            (self.tr("audit.patient_info"), legal.patient_information.get(self.lang)),
            (self.tr("audit.practice_permission"), legal.practice_permission.get(self.lang)),
            (self.tr("audit.opt_out"), legal.opt_out.get(self.lang)),
        ]
        return Section(
            "transparency",
            self.tr("audit.sec.transparency"),
            (self.kv(rows), Para(self.tr("audit.scope_creep"))),
        )

    def budget(self, ledger: LedgerStatus) -> tuple[Section, dict[str, Any]]:
        delta = self.m.budget.delta_per_year
        if ledger.error is not None:
            text = self.tr("audit.budget.bad", detail=ledger.error)
            return Section("budget", self.tr("audit.sec.budget"), (Para(text),)), {
                "path": ledger.path,
                "error": ledger.error,
            }
        blocks: list[Any] = [
            Para(
                self.tr(
                    "audit.budget.practice",
                    practice=ledger.practice_id,
                    path=ledger.path,
                    delta=delta,
                )
            )
        ]
        if not ledger.usage:
            blocks.append(Para(self.tr("audit.budget.empty")))
        else:
            rows = tuple(
                (
                    str(u.year),
                    str(u.releases),
                    str(u.sent),
                    _eps(u.epsilon, self.lang),
                    "–"  # an unlimited budget (kind none) has no remainder to show
                    if self.m.budget.unlimited
                    else _eps(max(self.m.budget.epsilon_per_year - u.epsilon, 0.0), self.lang),
                )
                for u in ledger.usage
            )
            blocks.append(
                Table(
                    (
                        self.tr("audit.budget.col.year"),
                        self.tr("audit.budget.col.releases"),
                        self.tr("audit.budget.col.sent"),
                        self.tr("audit.budget.col.spent"),
                        self.tr("audit.budget.col.left"),
                    ),
                    rows,
                )
            )
        data = {
            "path": ledger.path,
            "practice_id": ledger.practice_id,
            "years": [
                {"year": u.year, "releases": u.releases, "sent": u.sent, "epsilon": u.epsilon}
                for u in ledger.usage
            ],
        }
        return Section("budget", self.tr("audit.sec.budget"), tuple(blocks)), data

    def art30(self) -> Section:
        legal = self.m.legal
        plan = self.plan
        recipients = "; ".join(
            [
                f"{self.tr(f'audit.level.{r.name}')}: {r.description.get(self.lang).rstrip('.')}"
                for r in self.m.recipients
            ]
            + [
                f"{p.name.get(self.lang)} ({self.tr(f'audit.partner.kind.{p.kind}')}): "
                f"{self.partner_units(p)}, {self.partner_measures(p)}"
                for p in self.m.partners or ()
            ]
        )
        worst = plan.worst_year
        measures = self.tr(
            "audit.art30.g_text_none" if self.no_dp else "audit.art30.g_text",
            n=self.m.secagg.min_survivors,
            mechanism=plan.release.title(self.lang),
            eps=_eps(plan.per_release.epsilon, self.lang),
            eps_year=_eps(worst.epsilon, self.lang),
            delta=scientific(worst.delta, self.lang),
            security=legal.security.get(self.lang),
        )
        joint = "; ".join(
            [
                f"{self.tr('audit.joint')}: {_join(legal.joint_controllers, self.lang)}",
                f"{self.tr('audit.processors')}: {_join(legal.processors, self.lang)}",
            ]
        )
        rows = [
            (self.tr("audit.art30.a"), f"{legal.controller}, {legal.controller_contact}"),
            (self.tr("audit.art30.joint"), joint),
            (self.tr("audit.art30.b"), legal.purpose.get(self.lang)),
            (
                self.tr("audit.art30.basis"),
                f"{legal.basis.get(self.lang)} ({_join(legal.gdpr_articles, self.lang)})",
            ),
            (self.tr("audit.art30.c"), legal.data_subjects.get(self.lang)),
            (self.tr("audit.art30.c2"), legal.data_categories.get(self.lang)),
            (self.tr("audit.art30.d"), recipients),
            (self.tr("audit.art30.e"), legal.third_country_transfers.get(self.lang)),
            (self.tr("audit.art30.f"), legal.retention.get(self.lang)),
            (self.tr("audit.art30.g"), measures),
            (self.tr("audit.art30.dpia"), legal.dpia_reference),
        ]
        return Section("art30", self.tr("audit.sec.art30"), (self.kv(rows),))


def build_report(
    signed: SignedManifest,
    *,
    lang: Lang,
    signature: SignatureStatus | None = None,
    installed: InstalledCatalogue | None = None,
    installed_error: str | None = None,
    ledger: LedgerStatus | None = None,
    log: LogStatus | None = None,
) -> Report:
    """The full report. Ledger and log sections appear when they are given."""
    b = _Builder(signed, lang)
    signature = signature or signature_status(signed, None)
    overview, defs = b.overview(signature, installed, installed_error)
    disclosure, dp_data = b.disclosure()
    log_section, log_data = b.audit_log(log)
    surveys, survey_data = b.surveys()
    sections = [
        overview,
        b.legal(),
        b.indicators(installed),
        *([] if surveys is None else [surveys]),
        b.minimisation(),
        b.recipients(),
        disclosure,
        b.secagg(),
        log_section,
        b.security(),
        b.transparency(),
    ]
    ledger_data = None
    if ledger is not None:
        budget_section, ledger_data = b.budget(ledger)
        sections.append(budget_section)
    sections.append(b.art30())
    m = signed.manifest
    data = {
        "manifest": {
            "id": m.meta.id,
            "version": m.meta.version,
            "hash": m.hash(),
            "valid_from": m.meta.valid_from.isoformat(),
            "valid_until": m.meta.valid_until.isoformat(),
            "path": signed.path,
        },
        "signature": {
            "state": signature.state,
            "key_id": signature.key_id,
            "detail": signature.detail,
        },
        "definitions": defs,
        **dp_data,
        "secagg": {
            "neighbours": m.secagg.neighbours,
            "threshold": m.secagg.threshold,
            "min_survivors": m.secagg.min_survivors,
            "design_dropout": m.dp.design_dropout if m.dp is not None else None,
        },
        "recipients": {r.name: list(r.receives) for r in m.recipients},
        "partners": [
            {
                "id": p.id,
                "name": p.name.canonical(),
                "kind": p.kind,
                "identity": p.identity,
                "clusters": None if p.clusters is None else list(p.clusters),
                "region": p.region,
                "levels": list(p.levels),
                "measures": list(p.measure_ids(m.released_measure_ids)),
            }
            for p in m.partners or ()
        ],
        "surveys": survey_data,
        "ledger": ledger_data,
        "log": log_data,
    }
    per_year = to_approx_dp(b.plan.per_release.curve, m.budget.delta_per_year)
    data["per_release"]["epsilon_at_yearly_delta"] = per_year.epsilon
    data["differential_privacy"] = m.has_dp
    title = t("audit.title", lang=lang, id=m.meta.id, version=m.meta.version)
    warnings: tuple[str, ...] = ()
    if not m.has_dp:
        title = f"{title}: {t('audit.no_dp.title', lang=lang)}"
        warnings = (t("audit.no_dp.warning", lang=lang),)
    return Report(
        lang=lang,
        title=title,
        intro=(t("audit.intro", lang=lang),),
        sections=tuple(sections),
        data=_json_safe(data),
        warnings=warnings,
    )
