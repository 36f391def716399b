"""POST /v1/integrations/transform-data: a file (csv, json, jsonl, xlsx) mapped onto a
BigLedger record format, with per-row errors; with `load: true` the valid records are written
into the ledger, idempotently.

The answer is written chunk by chunk (transforms.transform_data.transform_data_json) into a
spooled file, in memory while small and on disk past that, and sent from there: memory stays
flat whatever the size of the answer, and an error found at the last row (or a load that
fails) is still a clean error envelope, never half an answer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from tempfile import SpooledTemporaryFile
from typing import Any, BinaryIO

from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from api.schemas import TransformDataRequest
from bigledger.errors import DataMappingError, InvalidCredentials
from ledger.db import transaction
from ledger.imports import IMPORT_PLATFORM, ImportLoad
from ledger.integrations import account_ids, create_integration, find_integration
from ledger.mapping import validate_mapping

router = APIRouter(prefix="/v1/integrations", tags=["transform"])
IMPORT_INTEGRATION = "int_import"
_IN_MEMORY = 8 << 20  # answers up to this size never touch the disk
_SEND = 1 << 20


@router.post("/transform-data", summary="Transform CSV/JSON data into BigLedger records",
             response_class=Response)
def transform_data(body: TransformDataRequest) -> Response:
    """Records, per-row errors (row, field, value, DATA_MAPPING_ERROR) and a summary; with
    `load`, the valid records are also written into the ledger (`loaded` says what)."""
    from transforms.transform_data import transform_data_json

    answer: BinaryIO = SpooledTemporaryFile(max_size=_IN_MEMORY)  # noqa: SIM115 (sent later)
    try:
        with ExitStack() as stack:  # the load's transaction, committed once all is written
            load = _Load(body, stack) if body.load else None
            parts = transform_data_json(
                body.source_format, body.target_format, body.mapping, body.data,
                delimiter=body.delimiter, on_records=load.add if load else None,
                tail=load.tail if load else None)
            answer.write(b'{"success":true,"data":')
            for part in parts:
                answer.write(part)
            answer.write(b"}")
    except BaseException:
        answer.close()
        raise
    size = answer.tell()
    answer.seek(0)
    if size <= _IN_MEMORY:
        content = answer.read()
        answer.close()
        return Response(content, media_type="application/json")
    return StreamingResponse(_read(answer), media_type="application/json",
                             headers={"Content-Length": str(size)},
                             background=BackgroundTask(answer.close))


def _read(answer: BinaryIO) -> Iterator[bytes]:
    while piece := answer.read(_SEND):
        yield piece


class _Load:
    """`load: true`: each chunk's valid records become documents and are written in one
    transaction, opened with the first records (none valid: nothing is opened or created)."""

    def __init__(self, body: TransformDataRequest, stack: ExitStack) -> None:
        self.body = body
        self.stack = stack
        self.load: ImportLoad | None = None
        self.integration_id = ""
        self.accounts: Any = None
        self.records = 0

    def add(self, records: list[dict[str, Any]]) -> None:
        from transforms.target_formats import to_documents

        target = self.body.target_format
        if self.load is None:
            conn = self.stack.enter_context(transaction())
            integration = _integration(conn, self.body.integration_id)
            self.accounts = validate_mapping(conn, integration.mapping)
            self.integration_id = integration.id
            self.load = ImportLoad(conn, integration.id, target)
        documents = to_documents(target, records, accounts=self.accounts)
        if target == "bigledger_journal_entry":
            chart = account_ids(self.load.conn)
            unknown = sorted({line.account_id for d in documents for line in d.document.lines
                              if line.account_id not in chart})
            if unknown:
                raise DataMappingError(
                    f"journal lines name accounts the chart does not have: {unknown}",
                    details={"accounts": unknown})
        self.load.add(documents)
        self.records += len(documents)

    def tail(self) -> dict[str, Any]:
        if self.load is None:
            return {}
        return {"loaded": {"integrationId": self.integration_id, "records": self.records,
                           **self.load.finish()}}


def _integration(conn, integration_id: str | None):
    if integration_id is None:
        found = find_integration(conn, IMPORT_INTEGRATION)
        return found or create_integration(conn, IMPORT_PLATFORM, "File imports", {}, {}, {},
                                           integration_id=IMPORT_INTEGRATION)
    found = find_integration(conn, integration_id)
    if found is None:
        raise InvalidCredentials(f"integration {integration_id!r} does not exist")
    return found
