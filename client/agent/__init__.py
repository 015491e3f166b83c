"""The practice agent daemon: takes part in federated rounds on the practice's behalf.

Layers, from pure to I/O (docs/agent.md):
- `config`: `agent.toml` → `AgentSettings`, strictly;
- `policy`: the checks an announcement must pass before the agent advertises keys;
- `pipeline`: the privacy steps of one contribution (compute → bound + noise →
  mask → charge ledger → receipt), each a small function;
- `core`: `AgentCore`, which turns coordinator envelopes into reply envelopes,
  with no sockets and no threads, so whole rounds run in tests in-process;
- `startup`: loads and cross-checks everything the core needs;
- `daemon`: glues cores to `transport.client.AgentTransport`, writes
  `status.json` (`status`), fetches releases (`releases`), stops on a signal;
- `provision`: sets up a practice's agent directory and the signed registry.
"""
