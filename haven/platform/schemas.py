"""Request and response schemas shared by every service's API."""
import marshmallow as ma

MAX_PER_PAGE = 100
MAX_PAGE = 100_000  # deeper than anyone pages; bounds the OFFSET a database is asked for


class PageQuerySchema(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=MAX_PAGE))
    per_page = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=MAX_PER_PAGE))


class PageSchema(ma.Schema):
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
