"""Errors of the practice agent; each names the file and key or the step that failed."""

from __future__ import annotations

from common.errors import FileKeyError, KlyngeError


class AgentError(KlyngeError):
    """Root of the agent daemon's errors."""


class AgentConfigError(AgentError, FileKeyError):
    """`agent.toml` is missing, malformed, or names something that is not there."""


class AgentStartupError(AgentError):
    """The agent refuses to start: a key, registry, manifest or extract is not usable."""


class ProvisionError(AgentError):
    """Setting up an agent directory failed; nothing already there was overwritten."""
