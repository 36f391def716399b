"""Intuit's OAuth 2 token service for the sandbox: grants, rotating refresh tokens, access
tokens, expiry and revocation.

A grant is one connection of the app to the company. It holds the refresh token in force
and, under the "until_new_used" policy, the one it replaced: the old one keeps working
(answering with the newest) until the newest has been used once, so a client that crashed
before saving a rotated token can still recover; under "immediate" it dies at rotation.
Refresh tokens expire after `refresh_token_ttl_seconds` without use (rolling, ~100 days)
and `refresh_token_max_lifetime_seconds` after the grant began (5 years).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.quickbooks.config import QuickBooksSandboxConfig


@dataclass
class Grant:
    """One connection: its refresh token(s) and lifetime."""

    id: int
    started_at: float
    current: str
    current_issued_at: float
    last_used_at: float
    previous: str | None = None
    revoked: bool = False


@dataclass(slots=True)
class AccessToken:
    """An issued access token: its grant and expiry (epoch seconds)."""

    grant_id: int
    expires_at: float


class TokenError(Exception):
    """An OAuth error answer: `error` as Intuit names it, and the HTTP status."""

    def __init__(self, error: str, status: int = 400) -> None:
        super().__init__(error)
        self.error, self.status = error, status


class TokenService:
    """All grants and tokens of the sandbox app; `clock` is the sandbox's wall clock."""

    def __init__(self, config: QuickBooksSandboxConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self.grants: dict[int, Grant] = {}
        self._refresh: dict[str, int] = {}
        self._access: dict[str, AccessToken] = {}
        self._codes = set(config.authorization_codes)
        self._lock = threading.Lock()
        self.rotations = 0
        for token in config.refresh_tokens:
            self._new_grant(token)

    # ---- grants ------------------------------------------------------------------------------

    def _new_grant(self, token: str | None = None) -> Grant:
        now = self.clock()
        grant = Grant(len(self.grants) + 1, now, token or _token("AB11"), now, now)
        self.grants[grant.id] = grant
        self._refresh[grant.current] = grant.id
        return grant

    def connect(self) -> dict[str, Any]:
        """A new grant, as if a user had just connected the app (control route)."""
        with self._lock:
            return self._answer(self._new_grant())

    def exchange_code(self, code: str | None) -> dict[str, Any]:
        """grant_type=authorization_code: each code works once."""
        with self._lock:
            if not code or code not in self._codes:
                raise TokenError("invalid_grant")
            self._codes.discard(code)
            return self._answer(self._new_grant())

    def refresh(self, token: str | None) -> dict[str, Any]:
        """grant_type=refresh_token, with rotation and the old-token policy."""
        if not token:
            raise TokenError("invalid_request")
        with self._lock:
            grant = self.grants.get(self._refresh.get(token, 0))
            now = self.clock()
            if grant is None or grant.revoked or self._expired(grant, now):
                raise TokenError("invalid_grant")
            cfg = self.config
            if token == grant.current:
                if grant.previous is not None:
                    # The newest token has now been used: the one before it dies.
                    self._refresh.pop(grant.previous, None)
                    grant.previous = None
                due = (cfg.refresh_token_rotation == "always"
                       or now - grant.current_issued_at >= cfg.rotation_interval_seconds)
                if due:
                    old, grant.current = grant.current, _token("AB11")
                    grant.current_issued_at = now
                    self._refresh[grant.current] = grant.id
                    self.rotations += 1
                    if cfg.old_refresh_token_policy == "until_new_used":
                        grant.previous = old
                    else:
                        self._refresh.pop(old, None)
            # else: the previous token, still alive because the newest is unused: it gets
            # the newest again (no further rotation).
            grant.last_used_at = now
            return self._answer(grant)

    def _expired(self, grant: Grant, now: float) -> bool:
        cfg = self.config
        return (now >= grant.last_used_at + cfg.refresh_token_ttl_seconds
                or now >= grant.started_at + cfg.refresh_token_max_lifetime_seconds)

    def _answer(self, grant: Grant) -> dict[str, Any]:
        cfg, now = self.config, self.clock()
        access = _token("eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0.")
        self._access[access] = AccessToken(grant.id, now + cfg.access_token_ttl_seconds)
        remaining = min(grant.last_used_at + cfg.refresh_token_ttl_seconds,
                        grant.started_at + cfg.refresh_token_max_lifetime_seconds) - now
        return {"token_type": "bearer", "access_token": access,
                "expires_in": cfg.access_token_ttl_seconds, "refresh_token": grant.current,
                "x_refresh_token_expires_in": int(remaining)}  # fmt: skip

    # ---- access tokens and revocation --------------------------------------------------------

    def check(self, token: str | None) -> tuple[str, Grant | None]:
        """("ok", grant), ("expired", None) or ("invalid", None) for a bearer token."""
        with self._lock:
            found = self._access.get(token or "")
            if found is None:
                return "invalid", None
            grant = self.grants[found.grant_id]
            if grant.revoked:
                return "invalid", None
            if self.clock() >= found.expires_at:
                return "expired", None
            return "ok", grant

    def expire_access_tokens(self) -> None:
        """Every access token issued so far expires now."""
        with self._lock:
            now = self.clock()
            for token in self._access.values():
                token.expires_at = min(token.expires_at, now)

    def revoke(self, token: str | None) -> bool:
        """Revoke the grant a refresh or access token belongs to (True if one was found)."""
        with self._lock:
            grant_id = self._refresh.get(token or "")
            if grant_id is None and token in self._access:
                grant_id = self._access[token].grant_id
            if grant_id is None:
                return False
            self.grants[grant_id].revoked = True
            return True

    def revoke_all(self) -> None:
        """Every grant is revoked: every token stops working."""
        with self._lock:
            for grant in self.grants.values():
                grant.revoked = True

    def describe(self) -> dict[str, Any]:
        """Counts for the control answer (never the tokens themselves)."""
        with self._lock:
            live = [g for g in self.grants.values() if not g.revoked]
            return {"grants": len(self.grants), "live_grants": len(live),
                    "access_tokens": len(self._access), "rotations": self.rotations}


def _token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(36)
