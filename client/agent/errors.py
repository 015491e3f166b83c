"""Errors of the practice agent; each names the file and key or the step that failed."""

from __future__ import annotations

from pathlib import Path

from common.errors import KlyngeError


class AgentError(KlyngeError):
    """Root of the agent daemon's errors."""


class AgentConfigError(AgentError):
    """`agent.toml` is missing, malformed, or names something that is not there."""

    def __init__(self, path: Path | str, key: str | None, message: str) -> None:
        self.path = str(path)
        self.key = key
        where = f"{path}: {key}" if key else str(path)
        super().__init__(f"{where}: {message}")


class AgentStartupError(AgentError):
    """The agent refuses to start: a key, registry, manifest or extract is not usable."""


class ProvisionError(AgentError):
    """Setting up an agent directory failed; nothing already there was overwritten."""
