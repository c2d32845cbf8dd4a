"""The one base of every error a person can act on (bad config, a server that is down, a
missing stage output). The `ambon` command prints these as one line and exits 1 (2 for
configuration errors); anything else is a bug and keeps its traceback."""


class AmbonError(Exception):
    """An error whose message says what was wrong, where, and what to do."""
