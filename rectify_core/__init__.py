"""rectify: deadline and reminder engine for inspection-rectification ledgers."""

__version__ = "0.1.0"
