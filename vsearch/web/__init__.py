"""`vsearch serve`: a local review UI over the library (search, look, play, confirm, export).

Every call into the library goes through `vsearch.web.calls`; the web layer has no query logic of its own.
"""
