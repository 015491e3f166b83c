"""The demo federation: every real part, on loopback, on built-in defaults.

`prepare` builds a deployable directory: synthetic practices, a demo PKI,
the region's two authority keys (manifest and practice registry), a signed
manifest, one provisioned agent per practice and the coordinator's
server.toml. `run` starts a real coordinator process and a few agent
processes (one per cluster; each hosts its cluster's practices, each with its
own certificate and gRPC session), waits for the rounds, stops every process
it started, and reads what the coordinator's store released.

The demo's manifest runs the region-wide round on the demo's (last) reference
date: the default manifest schedules it on 2026-12-31 and 2027-12-31, which
the demo's date (2026-09-30, the newest quarter a synthetic extract made today
can describe) is not, so the demo moves that year's region-wide round to its
own date. The yearly plan is unchanged: the same number of rounds of each kind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import tomli_w

from client.agent.provision import provision_practice, write_practice_registry
from client.synth.federation import DEFAULT_AS_OF, synthesize_federation
from common.errors import KlyngeError
from common.federation import Federation
from common.i18n import current_lang
from common.keyfiles import public_bytes, write_private_key, write_public_key
from privacy.authoring import default_manifest, write_signed
from privacy.manifest import Manifest, Partner, Text, load_manifest
from privacy.signing import generate_private_key
from protocols.identity import IdentityKey
from server.partner_client import Received, fetch_partner, load_partner_settings
from server.partners import PartnerRequest
from transport.pki import (
    DEFAULT_SERVER_HOSTS,
    PkiLayout,
    init_pki,
    issue_partner,
    issue_practices,
)

CONTAINER_PORT = 50051
DEMO_PARTNER_ID = "rh-kvalitet"
# The demo's partner gets a few diabetes and antibiotic indicators of the first cluster.
DEMO_PARTNER_MEASURES = ("AB-01", "AB-02", "DM-01", "DM-02")


def demo_partner(cluster: str) -> Partner:
    """The hospital's quality unit of the demo region, granted one cluster's figures."""
    return Partner(
        id=DEMO_PARTNER_ID,
        name=Text("Regionshospitalets kvalitetsafdeling", "The regional hospital's quality unit"),
        kind="hospital_quality_unit",
        identity=f"urn:klynge:partner:{DEMO_PARTNER_ID}",
        levels=("cluster",),
        measures=DEMO_PARTNER_MEASURES,
        clusters=(cluster,),
    )


AGENT_STAGES = ("ADVERTISE_KEYS", "SHARE_KEYS", "MASKED_INPUT", "CONSISTENCY")


class DemoError(KlyngeError):
    pass


@dataclass(frozen=True)
class DemoOptions:
    out: Path
    practices: int = 45  # 15 a cluster: about 45,000 listed, like a median Danish cluster
    clusters: int = 3
    seed: int = 1
    no_dp: bool = False
    dropout: float = 0.0
    patients: int | None = None
    stage_timeout_s: float = 10.0
    timeout_s: float = 300.0
    reference_date: date = DEFAULT_AS_OF
    periods: int = 1  # quarters backfilled from the synthetic history, ending at reference_date

    @property
    def reference_dates(self) -> tuple[date, ...]:
        return quarter_ends(self.reference_date, self.periods)

    region: str = "Midtjylland"  # one region of several clusters: the regional benchmark
    region_round: bool = True  # run the region-wide round on the (last) reference date
    dropout_stage: str | None = None  # None: each dropout picks SHARE_KEYS or MASKED_INPUT
    container_host: str | None = None  # e.g. "coordinator": lay out for containers, port 50051


def quarter_ends(last: date, n: int) -> tuple[date, ...]:
    """The n quarter ends up to and including `last` (itself a quarter end), oldest first."""
    if (last + timedelta(days=1)).day != 1 or last.month % 3:
        raise DemoError(f"{last} is not a quarter end")
    out = []
    year, month = last.year, last.month
    for _ in range(n):
        following = date(year + (month == 12), month % 12 + 1, 1)
        out.append(following - timedelta(days=1))
        month -= 3
        if month <= 0:
            month += 12
            year -= 1
    return tuple(sorted(out))


@dataclass(frozen=True)
class DemoLayout:
    out: Path
    federation: Federation
    manifest: Path
    server_config: Path
    store: Path
    agent_configs: dict[str, Path]  # practice -> agent.toml
    logs: Path
    partner_config: Path | None = None  # the demo partner's partner.toml

    @property
    def coordinator_dir(self) -> Path:
        return self.out / "coordinator"

    @property
    def transparency_log(self) -> Path:
        return self.coordinator_dir / "state" / "transparency.log"

    @property
    def log_key(self) -> Path:
        """The public key the log's tree heads verify under (hex)."""
        return self.coordinator_dir / "log.key.pub"


Step = Callable[[str], None]


def _demo_manifest(
    no_dp: bool,
    today: date,
    reference_dates: tuple[date, ...],
    region_round: bool = True,
    partners: tuple[Partner, ...] | None = None,
) -> Manifest:
    """The default manifest, valid around today so the demo never expires with the calendar,
    with the region-wide round of the last reference date's year moved to that date (or,
    without `region_round`, left where the default manifest has it), and `partners`."""
    manifest = default_manifest(no_dp=no_dp)
    schedule = manifest.schedule
    if not set(reference_dates) <= set(schedule.reference_dates):
        schedule = dataclasses.replace(
            schedule, reference_dates=tuple(sorted({*schedule.reference_dates, *reference_dates}))
        )
    moved = manifest.region_round
    if moved is not None and region_round:
        last = reference_dates[-1]
        dates = {d for d in moved.reference_dates if d.year != last.year} | {last}
        moved = dataclasses.replace(moved, reference_dates=tuple(sorted(dates)))
    meta = dataclasses.replace(
        manifest.meta,
        issued=today,
        valid_from=min(today, *schedule.reference_dates) - timedelta(days=1),
        valid_until=max(today, *schedule.reference_dates) + timedelta(days=730),
    )
    return dataclasses.replace(
        manifest, meta=meta, schedule=schedule, region_round=moved, partners=partners
    )


def region_round_dates(manifest_path: Path, reference_dates: tuple[date, ...]) -> tuple[date, ...]:
    """The demo's reference dates on which its manifest runs a region-wide round."""
    region_round = load_manifest(manifest_path).manifest.region_round
    if region_round is None:
        return ()
    return tuple(d for d in reference_dates if d in region_round.reference_dates)


def prepare(options: DemoOptions, step: Step = lambda _s: None) -> DemoLayout:
    out = options.out.resolve()
    today = date.today()
    step("synth")
    fed = synthesize_federation(
        out / "federation",
        options.practices,
        options.clusters,
        options.seed,
        as_of=options.reference_date,
        patients_override=options.patients,
        region=options.region,
    )
    step("pki")
    pki = PkiLayout(out / "pki")
    now = datetime.now(UTC)
    hosts = (*DEFAULT_SERVER_HOSTS, options.container_host) if options.container_host else None
    if hosts:
        init_pki(pki, now=now, hosts=hosts)
    else:
        init_pki(pki, now=now)
    # One machine: the CA makes the practices' keys (the one place left that
    # does); the runbooks have each practice make its own and send a request.
    issue_practices(pki, [p.id for p in fed.practices], now=now)
    issue_partner(pki, DEMO_PARTNER_ID, now=now)
    step("authority")
    authority_dir = out / "authority"
    authority_dir.mkdir(parents=True, exist_ok=True)
    manifest_key = generate_private_key()
    write_private_key(authority_dir / "manifest-authority.key", manifest_key)
    registry_key = IdentityKey.generate()
    write_private_key(authority_dir / "registry-authority.key", registry_key.private_key)
    write_public_key(authority_dir / "registry-authority.pub", registry_key.public_key, form="hex")
    manifest_path = out / "manifest.toml"
    write_signed(
        manifest_path,
        _demo_manifest(
            options.no_dp,
            today,
            options.reference_dates,
            options.region_round,
            (demo_partner(fed.clusters[0].id),),
        ),
        manifest_key,
    )
    step("agents")
    coordinator_dir = out / "coordinator"
    coordinator_dir.mkdir(parents=True, exist_ok=True)
    log_key = generate_private_key()  # signs the transparency log's tree heads
    write_private_key(coordinator_dir / "log.key", log_key)
    write_public_key(coordinator_dir / "log.key.pub", log_key.public_key(), form="hex")
    registry_path = out / "registry.json"
    provisioned = [
        provision_practice(
            fed,
            practice,
            out / "agents",
            pki_dir=pki.root,
            manifests=[manifest_path],
            manifest_authority=manifest_key.public_key(),
            registry_path=registry_path,
            registry_authority_key=registry_key.public_key,
            log_key=public_bytes(log_key.public_key()),
            approved_by="Praksisledelsen (demo)",
            today=today,
            **(
                {"coordinator_address": f"{options.container_host}:{CONTAINER_PORT}"}
                if options.container_host
                else {
                    "coordinator_port_file": coordinator_dir / "coordinator.port",
                    "coordinator_host": "localhost",
                }
            ),
        )
        for practice in fed.practices
    ]
    write_practice_registry(
        registry_path,
        provisioned,
        registry_key,
        issuer="Demo region (registry authority)",
        issued=today,
    )
    server_config = coordinator_dir / "server.toml"
    server_config.write_text(
        tomli_w.dumps(
            {
                "coordinator": {
                    "listen": f"0.0.0.0:{CONTAINER_PORT}"
                    if options.container_host
                    else "127.0.0.1:0",
                    "port_file": "coordinator.port",
                    "store": "coordinator.sqlite",
                    "log": "coordinator.log",
                    "state_dir": "state",
                },
                "tls": {"pki_dir": "../pki"},
                "federation": {
                    "file": "../federation/federation.toml",
                    "registry": "../registry.json",
                    "registry_authority": "../authority/registry-authority.pub",
                },
                "manifest": {"file": "../manifest.toml"},
                "transparency": {"key": "log.key", "log": "state/transparency.log"},
                "rounds": {
                    "schedule": [d.isoformat() for d in options.reference_dates],
                    "start_when": "all_connected",
                    "ready_after_s": 60,
                    "stage_timeout_s": options.stage_timeout_s,
                    "exit_when_done": False,
                },
            }
        )
    )
    partner_config = _write_partner_config(out, pki, options)
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    return DemoLayout(
        out=out,
        federation=fed,
        manifest=manifest_path,
        server_config=server_config,
        store=coordinator_dir / "coordinator.sqlite",
        agent_configs={a.practice_id: a.config_path for a in provisioned},
        logs=logs,
        partner_config=partner_config,
    )


def _write_partner_config(out: Path, pki: PkiLayout, options: DemoOptions) -> Path:
    """partner.toml for the demo partner: its certificate, the manifest, where to write."""
    where: dict[str, str] = (
        {"coordinator": f"{options.container_host}:{CONTAINER_PORT}"}
        if options.container_host
        else {"coordinator_port_file": "../coordinator/coordinator.port"}
    )
    partner_dir = out / "partner"
    partner_dir.mkdir(parents=True, exist_ok=True)
    path = partner_dir / "partner.toml"
    path.write_text(
        tomli_w.dumps(
            {
                "partner": {
                    "id": DEMO_PARTNER_ID,
                    **where,
                    "manifest": "../manifest.toml",
                    "out_dir": "received",
                },
                "tls": {
                    "ca": os.path.relpath(pki.ca_cert, partner_dir),
                    "cert": os.path.relpath(pki.partner_cert(DEMO_PARTNER_ID), partner_dir),
                    "key": os.path.relpath(pki.partner_key(DEMO_PARTNER_ID), partner_dir),
                },
            }
        )
    )
    return path


def choose_dropouts(
    fed: Federation, fraction: float, seed: int, stage: str | None = None
) -> dict[str, str]:
    """Practices that vanish mid-round, and after which stage: at least one per cluster
    when `fraction` > 0, reproducible by seed. A practice that vanishes after
    SHARE_KEYS never sends its vector; after MASKED_INPUT, its vector counts."""
    if fraction <= 0:
        return {}
    rng = np.random.default_rng(seed)
    drops = {}
    for cluster in fed.clusters:
        members = [p.id for p in fed.practices_in(cluster.id)]
        n = max(1, round(fraction * len(members)))
        for pid in rng.choice(members, size=min(n, len(members)), replace=False):
            drops[str(pid)] = stage or str(rng.choice(AGENT_STAGES[1:3]))
    return drops


def _klynge(*args: str) -> list[str]:
    return [sys.executable, "-m", "klynge", *args]


@dataclass
class RunOutcome:
    coordinator_exit: int | None
    agent_exits: dict[str, int | None]
    dropouts: dict[str, str]
    seconds: float
    partner: Received | None = None  # what the demo partner fetched after the rounds


def start_coordinator(
    layout: DemoLayout, env: Mapping[str, str], procs: list[subprocess.Popen], wait_s: float = 30
) -> tuple[subprocess.Popen, int]:
    """`klynge server run` on the layout's server.toml (added to `procs` at once, so the
    caller stops it whatever happens), and the port it listens on once it says so."""
    port_file = layout.coordinator_dir / "coordinator.port"
    port_file.unlink(missing_ok=True)
    started = time.monotonic()
    with open(layout.logs / "coordinator.out", "wb") as log:
        coordinator = subprocess.Popen(
            _klynge("server", "run", "--config", str(layout.server_config)),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            start_new_session=True,
        )
    procs.append(coordinator)
    while not port_file.exists():
        if coordinator.poll() is not None:
            raise DemoError(
                f"the coordinator stopped at start-up; see {layout.logs / 'coordinator.out'}"
            )
        if time.monotonic() - started > wait_s:
            raise DemoError(f"the coordinator did not start within {wait_s:.0f} s")
        time.sleep(0.05)
    return coordinator, int(port_file.read_text())


def run(
    layout: DemoLayout,
    options: DemoOptions,
    on_tick: Callable[[], None] = lambda: None,
) -> RunOutcome:
    """Start the coordinator and the agents, wait for the rounds, stop everything."""
    # the processes speak the demo's language (logs and stored reasons included)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "KLYNGE_LANG": current_lang()}
    started = time.monotonic()
    procs: list[subprocess.Popen] = []
    dropouts = choose_dropouts(
        layout.federation, options.dropout, options.seed, options.dropout_stage
    )
    try:
        coordinator, _port = start_coordinator(layout, env, procs)
        agents: dict[str, subprocess.Popen] = {}
        region_dates = region_round_dates(layout.manifest, options.reference_dates)
        # One round each: agents may exit after it. Several periods, or a region-wide round
        # beside the cluster round: agents run until stopped.
        once = options.periods == 1 and not region_dates
        for cluster in layout.federation.clusters:
            args = ["agent", "run"]
            if once:
                args += ["--once", "--timeout", str(options.timeout_s)]
            for practice in layout.federation.practices_in(cluster.id):
                args += ["--config", str(layout.agent_configs[practice.id])]
                if practice.id in dropouts:
                    args += ["--drop-after", f"{practice.id}:{dropouts[practice.id]}"]
            with open(layout.logs / f"agents-{cluster.id}.out", "wb") as log:
                agents[cluster.id] = subprocess.Popen(
                    _klynge(*args),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            procs.append(agents[cluster.id])
        deadline = started + options.timeout_s
        clusters = {c.id for c in layout.federation.clusters}
        wanted = {(c, d) for c in clusters for d in options.reference_dates}
        wanted |= {(r.name, d) for r in layout.federation.regions for d in region_dates}
        while finished_rounds(layout.store) & wanted != wanted:
            if coordinator.poll() is not None:
                raise DemoError(f"the coordinator stopped; see {layout.logs / 'coordinator.out'}")
            if time.monotonic() > deadline:
                raise DemoError(f"the rounds did not finish within {options.timeout_s:.0f} s")
            on_tick()
            time.sleep(0.1)
        rounds_done = time.monotonic()
        # With --once, agents exit after their outcome and downloads; otherwise they get a
        # moment to download the last period's releases and are then stopped.
        grace = 15 if once else 10
        for proc in agents.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, rounds_done + grace - time.monotonic()))
        partner = None
        if layout.partner_config is not None:  # while the coordinator still runs
            partner = fetch_partner(load_partner_settings(layout.partner_config), PartnerRequest())
        return RunOutcome(
            coordinator.poll(),
            {c: p.poll() for c, p in agents.items()},
            dropouts,
            rounds_done - started,
            partner,
        )
    finally:
        stop_all(procs)


def round_rows(store_path: Path) -> list[tuple[str, date, str]]:
    """(cluster, or region of a region-wide round; reference date; state) of every round so
    far, oldest first.

    Read-only, from the running coordinator's store; empty while it does not
    exist yet or is momentarily locked.
    """
    if not store_path.exists():
        return []
    try:
        con = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, timeout=0.5)
        try:
            rows = con.execute(
                "SELECT CASE scope WHEN 'region' THEN region ELSE cluster END, reference_date, "
                "state FROM rounds ORDER BY created_at, id"
            ).fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return []
    return [(c, date.fromisoformat(d), state) for c, d, state in rows]


def finished_rounds(store_path: Path) -> set[tuple[str, date]]:
    """(cluster or region, reference date) pairs whose round has ended (released or aborted)."""
    return {(c, d) for c, d, state in round_rows(store_path) if state in ("released", "aborted")}


def stop_all(procs: list[subprocess.Popen], grace_s: float = 5.0) -> None:
    """SIGTERM every process group still running, then SIGKILL what ignores it."""
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    end = time.monotonic() + grace_s
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --- several regions and the national step ------------------------------------------------

DEMO_REGIONS = ("Midtjylland", "Nordjylland", "Hovedstaden", "Syddanmark", "Sjælland")


@dataclass(frozen=True)
class NationalOutcome:
    layouts: dict[str, DemoLayout]
    runs: dict[str, RunOutcome]
    national_dir: Path
    written: tuple[Path, ...]
    seconds: float


def run_regions(
    options: DemoOptions, regions: int, step: Step = lambda _s: None
) -> NationalOutcome:
    """Several regions, each its own PKI, registry, store and log, run side by side on
    loopback; then each publishes, the national body combines, and each region imports it;
    last, one practice per region fetches the country's figures for its own report."""
    from concurrent.futures import ThreadPoolExecutor

    started = time.monotonic()
    names = DEMO_REGIONS[:regions]
    per_region = {
        name: dataclasses.replace(
            options, out=options.out / "regions" / name, region=name, seed=options.seed + i
        )
        for i, name in enumerate(names)
    }
    layouts = {name: prepare(opts, step) for name, opts in per_region.items()}
    step("rounds_regions")
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        futures = {n: pool.submit(run, layouts[n], per_region[n]) for n in names}
        runs = {n: f.result() for n, f in futures.items()}
    step("national")
    written = national_step(layouts, options.out / "national", options.reference_date)
    step("fetch_national")
    for layout in layouts.values():
        fetch_national_step(layout)
    return NationalOutcome(
        layouts, runs, options.out / "national", written, time.monotonic() - started
    )


def fetch_national_step(layout: DemoLayout) -> Path:
    """The region's coordinator again, and its first practice's `klynge agent fetch-national`.

    The agents stopped after the rounds, before the national step; a practice
    fetches the country's figures as a real one would, over Fetch with mutual
    TLS. Returns that practice's agent.toml.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "KLYNGE_LANG": current_lang()}
    config = layout.agent_configs[layout.federation.practices[0].id]
    procs: list[subprocess.Popen] = []
    try:
        start_coordinator(layout, env, procs)
        with open(layout.logs / "fetch-national.out", "wb") as log:
            done = subprocess.run(
                _klynge("agent", "fetch-national", "--config", str(config)),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                timeout=60,
                check=False,
            )
        if done.returncode != 0:
            raise DemoError(
                f"fetching the national release failed; see {layout.logs / 'fetch-national.out'}"
            )
    finally:
        stop_all(procs)
    return config


def national_step(layouts: Mapping[str, DemoLayout], out: Path, ref: date) -> tuple[Path, ...]:
    """Publish from each region, combine as the national body, import back into each region."""
    from common.keyfiles import load_private_key
    from klynge.commands.national import write_national
    from national.trust import write_national_trust
    from privacy.publication import load_json, parse_national
    from privacy.transparency import TransparencyLog
    from server.publication import build_publication, store_national, write_publication
    from server.store import Store

    out.mkdir(parents=True, exist_ok=True)
    authorities: dict[str, Path] = {}
    log_keys: dict[str, Path] = {}
    publications = []
    for name, layout in layouts.items():
        authority = load_private_key(layout.out / "authority" / "manifest-authority.key")
        authorities[f"{name} manifest authority"] = out / f"{name}-manifest-authority.pub"
        write_public_key(authorities[f"{name} manifest authority"], authority.public_key())
        log_keys[name] = layout.log_key
        log = TransparencyLog.open(
            layout.transparency_log, load_private_key(layout.coordinator_dir / "log.key")
        )
        store = Store.open(layout.store)
        try:
            publication = build_publication(
                store, log, layout.manifest.read_text(encoding="utf-8"), name, ref
            )
        finally:
            store.close()
        path = out / f"publication-{name}.json"
        write_publication(publication, path)
        publications.append(path)
    trust = out / "trust.toml"
    write_national_trust(trust, authorities, log_keys)
    key_path = out / "national.key"
    key = generate_private_key()
    write_private_key(key_path, key)
    write_public_key(out / "national.key.pub", key.public_key(), form="hex")
    written = write_national(publications, trust, key_path, out)
    for layout in layouts.values():
        manifest_hash = load_manifest(layout.manifest).manifest.hash()
        national = parse_national(
            written[0],
            load_json(written[0]),
            national_key=key.public_key(),
            manifest_hash=manifest_hash,
        )
        store_national(national, layout.coordinator_dir / "state")
    return written
