"""What both examples share: the client and the sandbox's address from the environment."""

from __future__ import annotations

import os
import sys

from bigledger.client import BigLedgerClient

DEFAULT_API_URL = "http://127.0.0.1:8000"
DEFAULT_SANDBOX_URL = "http://127.0.0.1:8765"


def client_from_env() -> BigLedgerClient:
    """A client of BIGLEDGER_API_URL (default the demo's) with BIGLEDGER_API_KEY; exits with
    a clear message when the key is missing."""
    api_key = os.environ.get("BIGLEDGER_API_KEY")
    if not api_key:
        sys.exit("BIGLEDGER_API_KEY is not set: export the key the API was started with "
                 "(`make demo` prints it), and BIGLEDGER_API_URL if the API is not on "
                 f"{DEFAULT_API_URL}")
    return BigLedgerClient(os.environ.get("BIGLEDGER_API_URL", DEFAULT_API_URL), api_key)


def sandbox_url_from_env() -> str:
    """BIGLEDGER_SANDBOX_URL, default the demo's sandbox."""
    return os.environ.get("BIGLEDGER_SANDBOX_URL", DEFAULT_SANDBOX_URL).rstrip("/")
