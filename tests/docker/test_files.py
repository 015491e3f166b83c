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
