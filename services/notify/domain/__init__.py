"""The notify domain: who must hear about a referral event, what they may be told, how a
delivery is retried, signed and protected. Pure Python: no Flask, no SQL, no network."""
