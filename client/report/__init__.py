"""The practice's own report, gathered at the practice: its counts, place, trend, patients.

Only the data gathering lives here (from the practice's extract, ledger and
downloaded releases); `reporting` draws the page. Nothing here sends
anything anywhere; the HTML file is written locally for the practice's own
follow-up.
"""
