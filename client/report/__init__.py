"""The practice's own report: computed at the practice, from its extract, ledger and downloads.

Nothing here sends anything anywhere; the HTML file is written locally for
the practice's own follow-up.
"""
