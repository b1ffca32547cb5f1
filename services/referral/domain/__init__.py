"""The referral domain: pure Python, no framework.

- `model`: the `Referral` aggregate, its lifecycle, actors and audit trail;
- `client`: what a referral says about the survivor, split into non-personal and personal;
- `consent`: consent records, supervisor overrides and the rule that ties them;
- `events`: domain events (no personal fields) for the outbox;
- `sla`: response deadlines and escalation;
- `reach`: which referrals a caller reaches, as data the repository turns into SQL;
- `errors`: what the API maps to 4xx answers.
"""
