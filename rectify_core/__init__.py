"""rectify: deadline and reminder engine for inspection-rectification ledgers."""

from pathlib import Path

__version__ = "0.1.0"

# the package's own files: templates, data (calendar, demo ledger), migrations
HOME = Path(__file__).resolve().parent
