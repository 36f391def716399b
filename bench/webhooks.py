"""Inbound webhook burst: signed Shopify deliveries fired at the API over real HTTP on
loopback; deliveries accepted per second, answer-time percentiles, and none lost (every
delivery is in the inbox exactly once, its repeats acknowledged as duplicates).

Run as `python -m bench.webhooks DELIVERIES [CONCURRENCY]`; prints one JSON line. The API
runs as `bigledger api` in a child process, on a fresh PostgreSQL ledger when PostgreSQL is
up (SQLite otherwise); the load generator shares the machine's cores with it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import BIN, free_port, fresh_postgres, start, stop, wait_http

SECRET = "bench-shopify-app-secret"
INTEGRATION = "int_shopify_bench"


def delivery(n: int) -> tuple[bytes, dict[str, str]]:
    """Shopify's orders/updated for order n, signed as Shopify signs it."""
    body = json.dumps({"id": 450789469000 + n, "name": f"#{1000 + n}", "email": f"c{n}@x.test",
                       "total_price": "105.98", "currency": "MYR", "financial_status": "paid",
                       "updated_at": "2026-11-27T03:00:00Z", "line_items": []}).encode()
    digest = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
    return body, {"Content-Type": "application/json", "X-Shopify-Topic": "orders/updated",
                  "X-Shopify-Hmac-Sha256": digest.decode(),
                  "X-Shopify-Shop-Domain": "bench.myshopify.com",
                  "X-Shopify-Event-Id": f"evt-bench-{n}",
                  "X-Shopify-Webhook-Id": f"wh-bench-{n}",
                  "X-Shopify-Triggered-At": "2026-11-27T03:00:00Z"}


async def burst(url: str, count: int, concurrency: int, repeat_every: int) -> dict:
    """Fire `count` deliveries (every `repeat_every`-th one sent twice, as platforms do) over
    `concurrency` keep-alive connections; answer times per request.

    The load generator writes prepared HTTP/1.1 requests on raw asyncio streams (written
    here rather than using httpx, whose client-side cost per request is as large as the
    server's and would be measured instead of the API on a 2-core machine)."""
    target = httpx.URL(url)
    prepared = [delivery(n) for n in range(count)]
    order = list(range(count)) + list(range(0, count, repeat_every))
    requests = [_request(target, *prepared[n]) for n in order]
    queue: asyncio.Queue = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    times: list[float] = []
    outcomes = {"stored": 0, "duplicate": 0, "failed": 0}

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(target.host, target.port)
        try:
            while not queue.empty():
                raw = queue.get_nowait()
                t0 = time.perf_counter()
                writer.write(raw)
                status, body = await _response(reader)
                times.append(time.perf_counter() - t0)
                if status != 200:
                    outcomes["failed"] += 1
                else:
                    dup = json.loads(body)["data"]["duplicate"]
                    outcomes["duplicate" if dup else "stored"] += 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - t0
    times.sort()

    def pct(p: float) -> float:
        return times[min(len(times) - 1, int(p * len(times)))] * 1000

    return {"sent": len(requests), "seconds": seconds, "per_second": len(requests) / seconds,
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": times[-1] * 1000, **outcomes}


def _request(url: httpx.URL, body: bytes, headers: dict[str, str]) -> bytes:
    head = [f"POST {url.raw_path.decode()} HTTP/1.1", f"Host: {url.host}:{url.port}",
            f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(int(line.split(":", 1)[1]) for line in lines[1:]
                  if line.lower().startswith("content-length:"))
    return status, await reader.readexactly(length)


def main(count: int, concurrency: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bigledger-bench-webhooks-"))
    ledger = fresh_postgres("bench_webhooks") or f"sqlite:///{work / 'ledger.db'}"
    env = {"BIGLEDGER_DATABASE_URL": ledger, "BIGLEDGER_HOME": str(work),
           "BIGLEDGER_API_KEY": "bench-key", "BIGLEDGER_SECRET_KEY":
           os.environ.get("BIGLEDGER_SECRET_KEY",
                          "yLf1tqS1Ktm0QJ1oWmvnbbOqRcS0Ea2jTQrYSq1mF3k=")}
    os.environ.update(env)
    from bigledger.settings import get_settings
    from ledger.db import transaction
    from ledger.integrations import create_integration
    from ledger.migrate import ensure_schema

    get_settings.cache_clear()
    ensure_schema()
    with transaction() as conn:
        create_integration(conn, "shopify", "Bench shop",
                           {"shopDomain": "bench.myshopify.com", "accessToken": "shpat_bench",
                            "webhookSecret": SECRET}, {}, {}, integration_id=INTEGRATION)
    port = free_port()
    api = start([str(BIN / "bigledger"), "api", "--port", str(port)], work / "api.log",
                {**env, "PREFECT_API_URL": ""})
    try:
        wait_http(f"http://127.0.0.1:{port}/v1/integrations/available")
        url = f"http://127.0.0.1:{port}/v1/webhooks/shopify/{INTEGRATION}"
        asyncio.run(burst(url, 200, concurrency, 10))  # warm up: connections, caches
        result = asyncio.run(burst(url, count, concurrency, 10))
    finally:
        stop(api)
    from sqlalchemy import func, select

    from ledger.models import WebhookDelivery
    with transaction() as conn:
        kept = conn.execute(select(func.count(func.distinct(WebhookDelivery.dedup_key)))
                            .where(WebhookDelivery.integration_id == INTEGRATION)).scalar_one()
        rows = conn.execute(select(func.count()).select_from(WebhookDelivery)).scalar_one()
    # The warm-up's 200 deliveries are the first 200 of the burst: repeats of them.
    result.update(ledger="postgresql" if ledger.startswith("postgresql") else "sqlite",
                  concurrency=concurrency, unique=count, kept=kept, rows=rows,
                  lost=count - kept)
    return result


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    print(json.dumps(main(args[0] if args else 2000, args[1] if len(args) > 1 else 32)))
