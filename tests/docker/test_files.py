"""docker/ cannot be run here (no Docker engine), so check what it references:
every `klynge` command in the compose file parses, every /data path it names is
created by the setup command, and every COPY source and build target exists."""

from __future__ import annotations

import json
import re
import tomllib

import pytest
from typer.testing import CliRunner

from klynge.cli import root
from tests import REPO_ROOT

COMPOSE = (REPO_ROOT / "docker" / "compose.yaml").read_text()
DOCKERFILE = (REPO_ROOT / "docker" / "Dockerfile").read_text()


def commands() -> dict[str, list[str]]:
    found, service = {}, None
    for line in COMPOSE.splitlines():
        if m := re.match(r"^  ([a-z-]+):$", line):
            service = m.group(1)
        if m := re.match(r"^\s+command: (\[.*\])$", line):
            found[service] = json.loads(m.group(1))
    return found


def test_every_compose_command_is_a_valid_klynge_invocation():
    cmds = commands()
    assert set(cmds) == {"setup", "coordinator", "practice-a", "practice-b", "practice-c"}
    runner = CliRunner()
    for service, args in cmds.items():
        result = runner.invoke(root, [*args, "--help"])
        assert result.exit_code == 0, (service, result.output)


@pytest.mark.slow
def test_setup_creates_every_path_the_services_use(tmp_path):
    cmds = commands()
    data = tmp_path / "data"
    setup = [a.replace("/data", str(data)) for a in cmds["setup"]]
    setup = [*setup, "--patients", "150"]  # small extracts: this test checks paths, not data
    result = CliRunner().invoke(root, setup)
    assert result.exit_code == 0, result.output
    for service, args in cmds.items():
        for arg in args:
            if arg.startswith("/data/") and service != "setup":
                assert (data / arg.removeprefix("/data/")).is_file(), (service, arg)
    server_toml = (data / "demo/coordinator/server.toml").read_text()
    assert 'listen = "0.0.0.0:50051"' in server_toml
    agent_toml = (data / "demo/agents/P0001/agent.toml").read_text()
    assert 'address = "coordinator:50051"' in agent_toml


def test_dockerfile_copies_what_exists_and_defines_the_targets_compose_uses():
    for source in re.findall(r"^COPY (\S+)", DOCKERFILE, flags=re.M):
        assert (REPO_ROOT / source).exists(), source
    targets = set(re.findall(r"^FROM \S+ AS (\S+)$", DOCKERFILE, flags=re.M))
    used = set(re.findall(r"target: (\w+)", COMPOSE))
    assert used <= targets and {"coordinator", "agent"} <= targets
    assert 'ENTRYPOINT ["klynge"]' in DOCKERFILE
    for cmd in re.findall(r"^CMD (\[.*\])$", DOCKERFILE, flags=re.M):
        result = CliRunner().invoke(root, [*json.loads(cmd), "--help"])
        assert result.exit_code == 0, (cmd, result.output)


def test_dockerfile_copies_every_package_the_project_installs():
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    packages = [
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    copied = set(re.findall(r"^COPY (\S+) \./\1$", DOCKERFILE, flags=re.M))
    assert set(packages) <= copied, sorted(set(packages) - copied)


def _dockerfile_user() -> str:
    users = re.findall(r"^USER (\S+)$", DOCKERFILE, flags=re.M)
    assert users, "the image must not run as root"
    return users[-1]


def test_the_volume_the_services_write_is_created_for_the_user_they_run_as():
    """A named volume copies the image's folder, owner included; a folder the image never
    creates for its user is root's, and every write to it fails with Permission denied."""
    uid = _dockerfile_user().split(":")[0]
    mounts = set(re.findall(r'"[\w-]+:(/[\w/]+)"', COMPOSE))
    assert mounts, "compose mounts no volume"
    for mount in mounts:
        made = re.search(rf"mkdir -p (?:\S+ )*{re.escape(mount)}\b", DOCKERFILE)
        owned = re.search(rf"chown {uid}(?::\d+)? (?:\S+ )*{re.escape(mount)}\b", DOCKERFILE)
        assert made and owned, f"{mount}: not created and chowned to {uid} in the Dockerfile"
    for service_user in re.findall(r'^\s+user: "?([\d:]+)"?$', COMPOSE, flags=re.M):
        assert service_user.split(":")[0] == uid, service_user


def test_systemd_units_are_sandboxed_and_run_klynge():
    units = sorted((REPO_ROOT / "deploy" / "systemd").glob("*.service"))
    assert {u.name for u in units} == {"klynge-coordinator.service", "klynge-agent.service"}
    for unit in units:
        text = unit.read_text()
        for line in (
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "PrivateTmp=yes",
            "ProtectHome=yes",
            "User=klynge",
        ):
            assert line in text, (unit.name, line)
        assert re.search(r"^ReadWritePaths=/var/lib/klynge", text, flags=re.M), unit.name
        start = re.search(r"^ExecStart=/\S+/klynge (.*)$", text, flags=re.M)
        assert start, unit.name
        args = start.group(1).split()
        result = CliRunner().invoke(root, [*args, "--help"])
        assert result.exit_code == 0, (unit.name, result.output)
