"""Klynge's privacy layer: what may leave a practice, at what cost, and the evidence for it.

Manifest (`manifest`, `canonical`, `manifest_toml`, `manifest_diff`, `signing`,
`trust`, `catalogue`), mechanisms and accounting (`sensitivity`, `rdp`,
`skellam`, `randomness`, `localdp`, `release`, `plan`, `contribution`), the
agent's ledger and receipts (`ledger`, `receipts`, `atomic`), release-side
controls (`layout`, `bounding`, `plausibility`, `disclosure`), and evidence for
reviewers (`transparency`, `audit`, `report_model`). See docs/privacy.md.
"""
