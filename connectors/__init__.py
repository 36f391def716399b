"""Platform connectors: HTTP, auth, pagination and rate limits composed per platform."""
