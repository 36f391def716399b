"""POST /v1/integrations/transform-data: a file (csv, json, jsonl, xlsx) mapped onto a
BigLedger record format, with per-row errors; with `load: true` the valid records are written
into the ledger, idempotently."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.envelope import ok
from api.schemas import TransformDataRequest
from bigledger.errors import DataMappingError, InvalidCredentials
from ledger.db import transaction
from ledger.imports import IMPORT_PLATFORM, load_imported
from ledger.integrations import account_ids, create_integration, find_integration
from ledger.mapping import validate_mapping

router = APIRouter(prefix="/v1/integrations", tags=["transform"])
IMPORT_INTEGRATION = "int_import"


@router.post("/transform-data", summary="Transform CSV/JSON data into BigLedger records")
def transform_data(body: TransformDataRequest) -> dict[str, Any]:
    """Records, per-row errors (row, field, value, DATA_MAPPING_ERROR) and a summary; with
    `load`, the valid records are also written into the ledger (`loaded` says what)."""
    from transforms.target_formats import to_documents
    from transforms.transform_data import transform_data as run

    result = run(body.source_format, body.target_format, body.mapping, body.data,
                 delimiter=body.delimiter)
    answer = result.to_dict()
    if body.load and result.records:
        answer["loaded"] = _load(body, result.records, to_documents)
    return ok(answer)


def _load(body: TransformDataRequest, records: list[dict[str, Any]], to_documents) -> dict:
    with transaction() as conn:
        integration = _integration(conn, body.integration_id)
        accounts = validate_mapping(conn, integration.mapping)
        documents = to_documents(body.target_format, records, accounts=accounts)
        if body.target_format == "bigledger_journal_entry":
            chart = account_ids(conn)
            unknown = sorted({line.account_id for d in documents for line in d.document.lines
                              if line.account_id not in chart})
            if unknown:
                raise DataMappingError(
                    f"journal lines name accounts the chart does not have: {unknown}",
                    details={"accounts": unknown})
        counts = load_imported(conn, integration.id, body.target_format, documents)
    return {"integrationId": integration.id, "records": len(documents), **counts}


def _integration(conn, integration_id: str | None):
    if integration_id is None:
        found = find_integration(conn, IMPORT_INTEGRATION)
        return found or create_integration(conn, IMPORT_PLATFORM, "File imports", {}, {}, {},
                                           integration_id=IMPORT_INTEGRATION)
    found = find_integration(conn, integration_id)
    if found is None:
        raise InvalidCredentials(f"integration {integration_id!r} does not exist")
    return found
