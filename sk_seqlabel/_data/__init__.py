"""Data in: validation and conversion of what users pass, recordings that load on access."""
