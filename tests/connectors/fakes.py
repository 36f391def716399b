"""Test doubles for the connector tests: a fake clock/sleep and MockTransport helpers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from connectors.http import Backoff, HttpClient

BASE = "https://api.example.com"


class FakeTime:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


def reply(
    status: int = 200,
    body: Any = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> httpx.Response:
    """An httpx.Response with a JSON (or raw) body."""
    content = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    return httpx.Response(status, content=content, headers=hdrs)


class Recorder:
    """MockTransport handler that answers from a script and records requests."""

    def __init__(self, *answers: httpx.Response | Exception | Callable[[httpx.Request], Any]):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    @property
    def calls(self) -> int:
        return len(self.requests)


def make_client(
    handler: Callable[[httpx.Request], httpx.Response], time: FakeTime, **kwargs: Any
) -> HttpClient:
    """An HttpClient on a MockTransport with fake time and deterministic jitter."""
    kwargs.setdefault("budget_seconds", 60.0)
    kwargs.setdefault("backoff", Backoff(initial=0.5, factor=2.0, maximum=30.0, jitter=0.5))
    return HttpClient(
        kwargs.pop("base_url", BASE),
        transport=httpx.MockTransport(handler),
        sleep=time.sleep,
        clock=time.clock,
        rand=lambda: 0.5,
        **kwargs,
    )


def walk(value: Any):
    """Every leaf value of a nested JSON structure."""
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)
    else:
        yield value
