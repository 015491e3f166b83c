"""The coordinator's side of the log: what it refuses to start on, to publish, to serve."""

from __future__ import annotations

import logging

import pytest

from privacy.errors import LogError
from privacy.log_entries import Kind, Statement, approval_payload, sign_statement
from privacy.log_proofs import FETCH_LOG_PUBLISH, FETCH_LOG_VIEW, PublishRequest, ViewRequest
from privacy.signing import generate_private_key
from server.log_service import LogService, open_log
from server.reserve import DiskReserve
from server.store import Store
from tests.client.agent.world import make_world
from tests.privacy.test_transparency import _round_opened

KEY = generate_private_key()


@pytest.fixture
def world(tmp_path):
    return make_world(tmp_path, n=3)


@pytest.fixture
def service(world, tmp_path):
    store = Store.open(tmp_path / "c.sqlite")
    service = LogService(
        open_log(tmp_path / "t.log", KEY, store), store, world.registry, logging.getLogger("t")
    )
    opened = _round_opened("r1")
    opened["participants"] = world.practice_ids[:2]
    service.append(Kind.ROUND_OPENED, opened)
    yield service
    store.close()


def _approval(world, pid, signer=None):
    payload = approval_payload(pid, "m", 1, "a" * 64, world.manifest.meta.valid_from)
    return sign_statement(Kind.APPROVAL, payload, signer or world.keys[pid])


def test_publishing_is_idempotent_and_the_view_proves_it(world, service):
    pid = world.practice_ids[0]
    body = PublishRequest(_approval(world, pid), None).to_bytes()
    first = service.fetch(pid, FETCH_LOG_PUBLISH, body)
    again = service.fetch(pid, FETCH_LOG_PUBLISH, body)
    assert first.body == again.body and len(service.log.entries("approval")) == 1
    view = service.fetch(pid, FETCH_LOG_VIEW, ViewRequest(None).to_bytes())
    assert b'"approval"' in view.body


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("other practice", "the caller's certificate names"),
        ("wrong key", "not by the practice's registered identity key"),
        ("not in round", "was not opened with practice"),
        ("paused", "takes no statements"),
        ("garbage", "not JSON"),
    ],
)
def test_what_the_coordinator_will_not_publish(world, service, case, message):
    first, second, third = world.practice_ids
    caller, statement = first, _approval(world, first)
    if case == "other practice":
        caller = second
    elif case == "wrong key":
        statement = _approval(world, first, signer=world.keys[second])
    elif case == "not in round":
        signed = _approval(world, third)
        statement = Statement(Kind.RECEIPT, {**signed.payload, "round_id": "r1"}, signed.signer)
        caller = third
    elif case == "paused":
        service.paused = "disk full"
    body = b"{" if case == "garbage" else PublishRequest(statement, None).to_bytes()
    size = len(service.log)
    with pytest.raises(LogError, match=message):
        service.fetch(caller, FETCH_LOG_PUBLISH, body)
    assert len(service.log) == size


def test_a_log_behind_the_stores_head_is_refused_at_start(world, tmp_path, service):
    size = len(service.log)
    lines = service.log.path.read_text().splitlines()
    store = Store.open(tmp_path / "c.sqlite")
    try:
        assert store.last_log_head()[0] == size
        service.log.path.write_text("\n".join(lines[:-2]) + "\n")  # a valid, shorter log
        with pytest.raises(LogError, match="cut back or replaced"):
            open_log(service.log.path, KEY, store)
        service.log.path.write_text("\n".join(lines) + "\n")
        assert len(open_log(service.log.path, KEY, store)) == size
        with pytest.raises(LogError, match="refusing to start: the transparency log does not"):
            open_log(service.log.path, generate_private_key(), store)
    finally:
        store.close()


def test_the_reserve_needs_as_much_again_free_and_leaves_nothing_when_refused(tmp_path):
    reserve = DiskReserve(tmp_path / "log.reserve", size=4096)
    assert reserve.ensure() and reserve.path.stat().st_size == 4096
    assert reserve.release() and not reserve.path.exists() and not reserve.release()
    greedy = DiskReserve(tmp_path / "big.reserve", size=reserve.free_bytes())
    assert not greedy.ensure()
    assert list(tmp_path.glob("big.reserve*")) == []


def test_log_key_command_and_an_os_error_are_one_line(tmp_path):
    from typer.testing import CliRunner

    from common.keyfiles import load_private_key, load_public_key
    from klynge.cli import root

    runner = CliRunner()
    out = tmp_path / "log.key"
    result = runner.invoke(root, ["--lang", "en", "server", "log-key", "--out", str(out)])
    assert result.exit_code == 0, result.output
    public = load_public_key(tmp_path / "log.key.pub")
    assert public.public_bytes_raw() == load_private_key(out).public_key().public_bytes_raw()
    assert public.public_bytes_raw().hex() in result.output
    (tmp_path / "a-file").write_text("not a directory")
    config = tmp_path / "server.toml"
    config.write_text(
        '[coordinator]\nlisten = "127.0.0.1:0"\nstore = "c.sqlite"\nstate_dir = "a-file/state"\n'
        '[tls]\npki_dir = "pki"\n[federation]\nfile = "f.toml"\nregistry = "r.json"\n'
        'registry_authority = "a.pub"\n[manifest]\nfile = "m.toml"\n[transparency]\n'
        'key = "log.key"\n'
    )
    result = runner.invoke(
        root,
        ["server", "trigger", "--config", str(config), "--cluster", "K01", "--as-of", "2026-09-30"],
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.startswith("klynge: ") and "a-file" in result.output
