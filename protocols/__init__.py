"""Secure aggregation core: hardened SecAgg+ as pure state machines (see docs/secagg.md)."""
