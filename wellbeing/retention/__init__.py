"""retention feature."""
