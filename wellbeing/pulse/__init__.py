"""pulse feature."""
