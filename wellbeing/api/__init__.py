"""The read-only JSON API for BI tools: the same released cells as every page."""
