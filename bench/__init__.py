"""`make bench`: speed and memory measurements, printed as tables to paste into notes."""
