"""The national tier: combines the regions' signed publications into the country's figures.

Run by a national body (`klynge national`), never by a coordinator: it
connects to no practice and holds no key a practice trusts, and the layer
contracts keep it from importing the coordinator or the agent
(docs/national.md).
"""
