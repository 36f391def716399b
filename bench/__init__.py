"""`make bench`: throughput figures, printed and never asserted (see bench/__main__.py)."""
