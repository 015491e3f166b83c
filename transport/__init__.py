"""The federation's transport: PKI, mutual TLS, and the files they are made of.

Above `common` and `protocols` (which stay pure), below the round
orchestration in `server` and `client`:

- `pki`, `tls`: the demo CA's files, credentials, and who is calling.
- `signed_files`: documents on disk with a detached signature (the registry).
"""
