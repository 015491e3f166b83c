"""`klynge server registry`: the region signs the practice registry from the practices'
public keys and its own federation file, never from a practice's private key."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from client.synth.federation import synthesize_federation
from common.keyfiles import write_private_key, write_public_key
from klynge.cli import root
from protocols.identity import IdentityKey
from transport.signed_files import load_registry


@pytest.fixture()
def region(tmp_path: Path) -> dict[str, object]:
    """A federation of three practices, each with a public key file as `agent init` writes
    it (hex) or as `openssl` would (PEM), and a registry authority key."""
    fed = synthesize_federation(tmp_path / "fed", 3, 1, 7, patients_override=20, years=1)
    keys = tmp_path / "inbox"
    identities = {}
    for i, practice in enumerate(fed.practices):
        identities[practice.id] = IdentityKey.generate()
        form = "hex" if i else "pem"
        write_public_key(keys / f"{practice.id}.pub", identities[practice.id].public_key, form=form)
    authority = IdentityKey.generate()
    write_private_key(tmp_path / "registry-authority.key", authority.private_key)
    return {
        "federation": tmp_path / "fed" / "federation.toml",
        "keys": keys,
        "identities": identities,
        "authority": authority,
        "fed": fed,
    }


def _sign(tmp_path: Path, region: dict, *extra: str):
    return CliRunner().invoke(
        root,
        [
            "--lang",
            "en",
            "server",
            "registry",
            "--out",
            str(tmp_path / "registry.json"),
            "--authority",
            str(tmp_path / "registry-authority.key"),
            "--federation",
            str(region["federation"]),
            *extra,
        ],
    )


def test_a_folder_of_public_keys_and_the_federation_make_the_signed_registry(tmp_path, region):
    result = _sign(tmp_path, region, "--public-keys", str(region["keys"]))
    assert result.exit_code == 0, result.output
    assert "Practice registry of 3 practices" in result.output
    loaded = load_registry(tmp_path / "registry.json", region["authority"].public_key)
    fed = region["fed"]
    assert {e.practice_id: (e.identity_key, e.cluster, e.region) for e in loaded.entries} == {
        p.id: (region["identities"][p.id].public_key, p.cluster, p.region) for p in fed.practices
    }


def test_a_practice_without_a_key_is_refused_and_nothing_is_written(tmp_path, region):
    missing = sorted(region["identities"])[1]
    (region["keys"] / f"{missing}.pub").unlink()
    result = _sign(tmp_path, region, "--public-keys", str(region["keys"]))
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert f"practices.{missing}" in result.output and "no public key" in result.output
    assert not (tmp_path / "registry.json").exists()
    # --public-key fills the gap
    given = tmp_path / "by-hand.pub"
    write_public_key(given, region["identities"][missing].public_key, form="hex")
    fixed = _sign(
        tmp_path, region, "--public-keys", str(region["keys"]), "--public-key", f"{missing}={given}"
    )
    assert fixed.exit_code == 0, fixed.output


def test_a_key_for_a_practice_outside_the_federation_is_refused(tmp_path, region):
    write_public_key(region["keys"] / "P9999.pub", IdentityKey.generate().public_key, form="hex")
    result = _sign(tmp_path, region, "--public-keys", str(region["keys"]))
    assert (
        result.exit_code != 0
        and "P9999" in result.output
        and "not in the federation" in (result.output)
    )


def test_a_private_key_sent_by_mistake_is_refused_naming_the_file(tmp_path, region):
    practice = sorted(region["identities"])[0]
    target = region["keys"] / f"{practice}.pub"
    target.unlink()
    write_private_key(target, region["identities"][practice].private_key)
    result = _sign(tmp_path, region, "--public-keys", str(region["keys"]))
    assert result.exit_code != 0 and f"{practice}.pub" in result.output
    assert "holds a private key" in result.output


def test_no_keys_at_all_is_one_clear_line(tmp_path, region):
    result = _sign(tmp_path, region)
    assert result.exit_code != 0 and "--public-keys" in result.output
    bad = _sign(tmp_path, region, "--public-key", "P0001")
    assert bad.exit_code != 0 and "PRACTICE=FILE" in bad.output
