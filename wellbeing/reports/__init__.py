"""Leaders' dashboards: every number read from releases through the one gate."""
