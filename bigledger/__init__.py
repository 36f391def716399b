"""BigLedger Integrations: shared core (settings, money, errors, secrets, command line)."""
