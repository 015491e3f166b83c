"""The one report kit: the release document, words, charts, the page shell and CSS.

It renders the region, cluster and practice reports. It sits above
`common`, `indicator_defs` and `privacy` and below `client` and `server`:
it never imports them (or the `klynge` CLI), so the practice agent and the
coordinator draw their reports with the same code. Reports are single
files that open offline: CSS inlined, SVG inline, no scripts.
"""
