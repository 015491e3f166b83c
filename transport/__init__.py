"""The federation's transport: PKI, mutual TLS and one gRPC session layer for both ends.

Above `common` and `protocols` (which stay pure), below the round
orchestration in `server` and `client`:

- `pki`, `tls`: the demo CA's files, credentials, and who is calling.
- `signed_files`: documents on disk with a detached signature (the registry).
- `frames`, `limits`: the Session stream's frames and the limits both ends enforce.
- `session`: what both ends share: a live stream's outgoing frames, the
  no-op send on a stream that ended, the handler interface, delivery of a
  received envelope.
- `server` (with `admission`, `dispatch`): the coordinator's gRPC server.
- `client`: the agent's dial-out stream with reconnect and an outbox.
- `fetch`: both ends of the Fetch RPC.
"""
