"""What the site publishes, one module per page: which tables, for which audience, protected how.

* calibration — the department's calibration pack (audience: the meeting)
* norming     — units, evaluators, transitions, drift and calibration moves (audience: management)
* fairness    — group rates, tests and Art. 9 pay transparency (audience: the organisation)
* budget, process — spend and process milestones
* registry    — the order tables are built in, their sources and rules; publishing organisations

Audiences and the threat each is protected against: docs/privacy.md.
"""
