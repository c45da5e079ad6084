"""responses feature."""
