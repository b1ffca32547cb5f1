"""Tables of the referral database. The referral aggregate's own tables arrive with the
referral issue; the outbox is here first, because every referral event leaves through it."""
import sqlalchemy as sa

from haven.platform.outbox import outbox_table

metadata = sa.MetaData()
outbox = outbox_table(metadata)
