"""`klynge server trigger|status|init` and the coordinator's operations surface, against a
real coordinator (the demo's layout, its store, its mutual TLS) in this process."""

from __future__ import annotations

import threading
import tomllib
from datetime import date
from pathlib import Path

import grpc
import pytest
import tomli_w
from grpc_health.v1 import health_pb2, health_pb2_grpc
from typer.testing import CliRunner

from klynge.cli import root
from klynge.demo import DemoOptions, prepare
from server.config import load_server_settings
from server.config_template import SERVER_TOML
from server.coordinator import CoordinatorService
from server.reasons import in_words
from server.store import RoundState, Store
from transport.pki import PkiLayout

pytestmark = pytest.mark.slow
REF = date(2026, 9, 30)


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    out = tmp_path_factory.mktemp("fed")
    layout = prepare(DemoOptions(out, practices=5, clusters=1, patients=60, no_dp=True))
    config = tomllib.loads(layout.server_config.read_text())
    config["rounds"]["start_when"] = "manual"
    config["rounds"]["ready_after_s"] = 0.01  # would start a scheduled round at once
    config["operations"] = {"metrics": "127.0.0.1:0"}
    layout.server_config.write_text(tomli_w.dumps(config))
    return layout


@pytest.fixture
def service(layout):
    svc = CoordinatorService(load_server_settings(layout.server_config))
    svc.start()
    thread = threading.Thread(target=svc.run, daemon=True)
    thread.start()
    yield svc
    svc.stop()
    thread.join(10)


def _trigger(layout, cluster: str, as_of: str):
    args = ["--lang", "en", "server", "trigger", "--config", str(layout.server_config)]
    return CliRunner().invoke(root, [*args, "--cluster", cluster, "--as-of", as_of])


def test_manual_means_manual_and_trigger_answers_with_the_outcome(layout, service):
    cluster = layout.federation.clusters[0].id
    assert service._pending == []  # the schedule waits for a trigger, however long
    unknown = _trigger(layout, "K99", REF.isoformat())
    assert unknown.exit_code == 3
    assert "unknown cluster K99" in unknown.output and cluster in unknown.output
    for off in ("2030-01-01", "2026-08-15"):
        result = _trigger(layout, cluster, off)
        assert result.exit_code == 3 and "not a reference date" in result.output, result.output
    ok = _trigger(layout, cluster, REF.isoformat())
    assert ok.exit_code == 0 and "Round requested" in ok.output, ok.output
    again = _trigger(layout, cluster, REF.isoformat())
    assert again.exit_code == 3 and "already waiting" in again.output, again.output
    assert len(service._pending) == 1


def test_a_released_period_is_refused(layout, service):
    cluster = layout.federation.clusters[0].id
    store = Store.open(layout.store)
    try:
        store.create_round(
            "released-1",
            cluster=cluster,
            region=layout.federation.cluster(cluster).region,
            reference_date=REF,
            manifest_hash=service.manifest_hash,
        )
        store.set_round_state("released-1", RoundState.RUNNING)
        store.set_round_state("released-1", RoundState.RELEASED)
    finally:
        store.close()
    answer = service.request_round(cluster, REF)
    assert not answer.accepted and answer.code == "released"


def test_trigger_without_a_coordinator_says_so_and_withdraws(layout):
    cluster = layout.federation.clusters[0].id
    args = ["server", "trigger", "--config", str(layout.server_config), "--wait", "0.3"]
    result = CliRunner().invoke(root, [*args, "--cluster", cluster, "--as-of", REF.isoformat()])
    assert result.exit_code == 4 and "Ingen koordinator svarede" in result.output
    settings = load_server_settings(layout.server_config)
    assert list(settings.trigger_dir.glob("*.json")) == []


def test_health_and_metrics(layout, service):
    import urllib.request

    pki = PkiLayout(layout.out / "pki")
    practice = layout.federation.practices[0].id
    creds = grpc.ssl_channel_credentials(
        pki.ca_cert.read_bytes(),
        pki.practice_key(practice).read_bytes(),
        pki.practice_cert(practice).read_bytes(),
    )
    port = service.transport.port
    with grpc.secure_channel(
        f"localhost:{port}", creds, options=[("grpc.ssl_target_name_override", "localhost")]
    ) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    service.request_round("K99", REF)  # a refusal to count
    text = urllib.request.urlopen(f"http://127.0.0.1:{service.metrics_port}/metrics").read()
    text = text.decode()
    assert 'klynge_rounds_total{outcome="released"} 0.0' in text
    assert 'klynge_refusals_total{reason="unknown_cluster",source="trigger"}' in text
    assert practice not in text


def test_status_words_reasons_without_class_names():
    recorded = (
        "round aborted at stage MASKED_INPUT: 0 participants remain, the round requires at "
        "least 3; nothing is revealed"
    )
    danish = in_words(recorded, "da")
    assert danish.startswith("runden afbrudt i fasen MASKED_INPUT: 0 deltagere tilbage")
    assert in_words("too few practices connected (2): 2 cannot meet the minimum", "da") == (
        "for få praksisser forbundet (2): 2 kan ikke nå minimum"
    )


def test_init_writes_a_template_the_reader_accepts_and_never_overwrites(tmp_path: Path):
    out = tmp_path / "region" / "server.toml"
    first = CliRunner().invoke(root, ["server", "init", "--out", str(out)])
    assert first.exit_code == 0 and out.read_text() == SERVER_TOML
    settings = load_server_settings(out)
    assert settings.rounds.start_when == "manual" and settings.operations.metrics is None
    assert settings.registry_authority == out.parent / "authority/registry-authority.key.pub.pem"
    second = CliRunner().invoke(root, ["server", "init", "--out", str(out)])
    assert second.exit_code != 0 and "findes allerede" in second.output


def test_init_writes_the_listening_address_it_is_given(tmp_path: Path):
    out = tmp_path / "server.toml"
    result = CliRunner().invoke(
        root, ["server", "init", "--out", str(out), "--listen", "[::]:7070"]
    )
    assert result.exit_code == 0, result.output
    settings = load_server_settings(out)
    assert (settings.host, settings.port) == ("[::]", 7070)
    bad = CliRunner().invoke(
        root, ["server", "init", "--out", str(tmp_path / "b.toml"), "--listen", "7070"]
    )
    assert bad.exit_code != 0 and "VÆRT:PORT" in bad.output and not (tmp_path / "b.toml").exists()
