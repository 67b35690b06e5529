"""publish: one Markdown review in; a newsletter, a narrated podcast episode and its feed out."""

__version__ = "0.1.0"
