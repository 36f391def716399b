"""The HTTP face of the spec: FastAPI, the spec's envelope and error codes, bearer auth."""
