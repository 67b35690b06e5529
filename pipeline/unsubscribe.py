"""Kept so unsubscribe sites written against `pipeline.unsubscribe` keep working; the tokens
live in `pipeline.mail.unsubscribe`."""
from pipeline.mail.unsubscribe import make_token, normalize_address, verify

__all__ = ["make_token", "normalize_address", "verify"]
