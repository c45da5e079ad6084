"""org feature."""
