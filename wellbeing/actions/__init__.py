"""actions feature."""
