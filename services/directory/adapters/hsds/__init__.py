"""Open Referral HSDS 3.0 import and export, and the provincial CSV import.

Pure functions: no database, no Flask. The service layer decides what to do with an
`ImportBatch` (insert, or update the records with the same ids); the API decides who is
asking and passes the matching `Viewer` to the export.

``export``    Haven -> HSDS (`service_to_hsds`, `organization_to_hsds`)
``importer``  HSDS -> Haven (`parse_hsds`)
``csv``       the provincial spreadsheet -> Haven (`parse_csv`; its columns are in its docstring)
``batch``     what both imports give back (`ImportBatch`, `RecordError`, `KindSource`)
``fields``    the ids, taxonomies and status codes export and import share
``values``    the value checks both imports share

Mapping (Haven -> HSDS 3.0; the import reads the same places back)
-------------------------------------------------------------------

====================================  ==========================================================
Haven                                 HSDS 3.0
====================================  ==========================================================
Service.kind                          service ``attributes``: taxonomy_term (taxonomy
                                      ``haven-kind``, code = kind)
Service.status                        ``status``: active / inactive / "temporarily closed"
                                      (import: "defunct" -> inactive, with a warning)
Service.gender                        ``attributes`` (taxonomy ``haven-gender``, code any /
                                      female / male) + generated ``eligibility_description``
Service.minimum_age / maximum_age     ``minimum_age`` / ``maximum_age``
Service.fees_description              ``fees_description``
Service.free_of_charge                one ``cost_options`` entry: amount 0 ("Free of charge")
                                      when free, no amount ("Fees apply") otherwise. Import
                                      without cost options: free when fees_description is empty
Service.capacity                      ``attributes`` (taxonomy ``haven-capacity``, value =
                                      JSON ``{"available", "maximum", "updated_at"}``);
                                      HSDS 3.0 has no capacity (3.1 adds service_capacity)
Service.assured_date                  ``assured_date`` (YYYY-MM-DD)
Service.assured_by (free text)        ``attributes`` (taxonomy ``haven-assurer``, value = the
                                      text) and also ``assurer_email`` when it is an address
Service.always_open                   a ``schedules`` entry MO..SU 00:00:00-24:00:00 marked
                                      with an attribute (taxonomy ``haven-schedule``, code
                                      ``always_open``)
Service.hours                         ``schedules``: freq WEEKLY, byday "MO,TU", opens_at /
                                      closes_at "HH:MM:SS" local time, timezone = UTC offset
Service.closed_on                     one ``attributes`` entry per date (taxonomy
                                      ``haven-closed-on``, value = YYYY-MM-DD)
Service.service_areas (codes)         ``service_areas``: extent = area code, extent_type
                                      "text", name = area name
Service.languages / phones / email /  ``languages`` (code, name) / ``phones`` / ``email`` /
url / updated_at                      ``url`` / ``last_modified``
Service.location_ids                  ``service_at_locations`` (nested ``location``)
Location.confidential                 location ``attributes`` (taxonomy ``haven-confidential``)
Location.province/district/commune    location ``attributes`` (taxonomy ``haven-area``, code =
                                      area code, value = level, name = area name)
Location.address                      ``addresses[0]``: address_1, city, state_province
                                      (= Address.region), postal_code, country
Location.timezone                     location ``attributes`` (taxonomy ``haven-timezone``),
                                      only when it is not Asia/Ho_Chi_Minh
Organization.phone                    organization ``phones[0]``
====================================  ==========================================================
"""
from .batch import ImportBatch, KindSource, RecordError
from .csv import parse_csv
from .export import organization_to_hsds, service_to_hsds
from .fields import STATUS_TO_HSDS, TAXONOMY_KIND, term_id
from .importer import parse_hsds

__all__ = ["STATUS_TO_HSDS", "TAXONOMY_KIND", "ImportBatch", "KindSource", "RecordError", "organization_to_hsds",
           "parse_csv", "parse_hsds", "service_to_hsds", "term_id"]
