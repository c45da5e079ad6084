"""Organisational practices: monthly practice indicators and the practices self-assessment."""
