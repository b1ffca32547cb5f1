"""Shared platform code: configuration, logging, metrics, errors, auth, HTTP base, storage.

Nothing in this package knows about a particular service; services compose these pieces
in their own bootstrap function.
"""
