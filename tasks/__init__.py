"""Prefect tasks: one step over one page or batch (extract, map, load, bookkeeping)."""
