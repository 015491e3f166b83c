"""Stubs generated from `protocols/klynge.proto`; do not edit by hand.

Regenerate with `python -m protocols.generated.regenerate` after changing the
.proto. `tests/transport/test_wire.py` fails if the committed stubs differ from
what the pinned grpcio-tools produces, so the wire format cannot drift silently.
"""
