"""NCMEC's CyberTipline Reporting API: the report model, its XML, a client and the filing flow.

``model`` (typed values) → ``xml`` (XSD order, validation) → ``client`` (HTTP, codes,
retries) → ``filing`` (submit → upload → fileinfo → finish, persisted step by step);
``from_case`` builds a report from an actioned case.
"""
