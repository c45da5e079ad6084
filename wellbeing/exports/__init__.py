"""Exports for coordinators: CSV, XLSX and a PDF board report, from releases only."""
