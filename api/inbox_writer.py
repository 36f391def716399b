"""Group commit for the webhook inbox: deliveries arriving together share one transaction.

A platform's delivery is answered only once its inbox row is committed (a crash after the
2xx must lose nothing), and one commit per delivery caps a burst at the database's commit
rate. So each request hands its delivery to a writer and awaits it; the writer takes
everything queued, stores it with one INSERT ... ON CONFLICT DO NOTHING in its own thread,
and answers every waiting request. While one batch commits the next one gathers, so batches
grow with the load and a quiet API still commits each delivery at once."""

from __future__ import annotations

import asyncio
import weakref

from ledger.db import transaction
from ledger.inbox import IncomingDelivery, store_deliveries

MAX_BATCH = 500


class InboxWriter:
    """One per event loop (uvicorn worker)."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[tuple[IncomingDelivery, asyncio.Future[bool]]] = \
            asyncio.Queue()
        self._task: asyncio.Task | None = None

    async def store(self, delivery: IncomingDelivery) -> bool:
        """Keep a delivery; True when it was new, False for a duplicate. Raises what the
        database raised (the request then fails and the platform delivers again)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        await self._queue.put((delivery, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                stored = await asyncio.to_thread(_write, [d for d, _ in batch])
            except Exception as exc:  # every waiting request gets the failure
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), new in zip(batch, stored, strict=True):
                if not future.done():
                    future.set_result(new)


def _write(deliveries: list[IncomingDelivery]) -> list[bool]:
    with transaction() as conn:
        return store_deliveries(conn, deliveries)


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, InboxWriter] = \
    weakref.WeakKeyDictionary()


def writer() -> InboxWriter:
    """The writer of the running event loop (a test client's loop gets its own)."""
    loop = asyncio.get_running_loop()
    found = _writers.get(loop)
    if found is None:
        found = _writers[loop] = InboxWriter()
    return found
