"""TierLedger: the domain, the API, the pages and the CLI."""

__version__ = "0.1.0"
