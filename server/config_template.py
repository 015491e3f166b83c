"""The commented `server.toml` that `klynge server init` writes.

Its paths are relative to the file's own folder (as
`server/config.py` resolves them), and a test loads it, so the template, the
reader and the runbook agree.
"""

from __future__ import annotations

import json

DEFAULT_LISTEN = "0.0.0.0:50051"

SERVER_TOML = """\
# The regional coordinator's configuration (klynge server run --config server.toml).
# Relative paths are relative to this file's folder. See docs/runbook-region.md.

[coordinator]
listen = "0.0.0.0:50051"            # HOST:PORT the agents dial (mutual TLS)
port_file = "coordinator.port"      # the port actually bound (useful with port 0)
store = "state/coordinator.sqlite"  # rounds and releases (SQLite)
log = "state/coordinator.log"       # event log lines; never values, vectors or keys
state_dir = "state"                 # trigger spool, transparency log, reserve

[tls]
pki_dir = "pki"                     # from `klynge pki init` (CA, server certificate)

[federation]
file = "federation.toml"            # practice -> cluster -> region
registry = "registry.json"          # signed by `klynge server registry`
registry_authority = "authority/registry-authority.key.pub.pem"  # PEM or 64 hex

[manifest]
file = "manifest.toml"              # signed by `klynge manifest sign`

[transparency]
key = "log.key"                     # from `klynge server log-key` (0600)
# log = "state/transparency.log"    # the default

[rounds]
start_when = "manual"               # only `klynge server trigger`; or "all_connected"
schedule = []                       # with "all_connected": reference dates to run
ready_after_s = 30                  # then start with whoever is online (>= the minimum)
stage_timeout_s = 30                # deadline per protocol stage
max_attempts = 2                    # an aborted period is run once more ...
retry_after_s = 600                 # ... no sooner than this after the abort

[operations]
# metrics = "127.0.0.1:9464"        # Prometheus text format at /metrics (off by default)
reflection = false                  # gRPC server reflection; grpc.health.v1 is always on
log_format = "json"                 # or "text"
"""


def server_toml(listen: str = DEFAULT_LISTEN) -> str:
    """The template with the address the agents dial (`klynge server init --listen`)."""
    return SERVER_TOML.replace(f'listen = "{DEFAULT_LISTEN}"', f"listen = {json.dumps(listen)}", 1)
