"""The bottom layer: what every other package may use and nothing here may import from them.

Errors, bilingual messages, dates, number formats, the one strict TOML reader,
Ed25519 key files, crash-safe writes, canonical hashing, the federation file, and
log lines without values.
"""
