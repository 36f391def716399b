"""Pure mappings from platform records to ledger documents: no I/O, Prefect or SQLAlchemy."""
