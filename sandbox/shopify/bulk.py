"""Bulk query operations: `bulkOperationRunQuery` over `orders`, run in a background thread.

The query is parsed and validated with graphql-core like any other, then checked against
Shopify's bulk rules (one top-level connection, at most five connections, two levels of
nesting, no top-level `node`/`nodes`, no `first`/`last` needed). The worker walks the
matching orders in chunks, executes the same document over each chunk (the connection
resolvers return whole lists in bulk mode), flattens every nested connection into lines of
their own carrying `__parentId` (children right after their parent, as with
`groupObjects: true`) and appends them to a JSONL file on disk. Memory stays at one chunk.

Lifecycle: CREATED (for `bulk_queue_seconds` of the config clock), RUNNING (`objectCount`
grows; `bulk_objects_per_second` paces it by the same clock), then COMPLETED, or FAILED with
an `errorCode` (fault `bulk_failed`, with `partialDataUrl` when some data was written), or
CANCELED when the dataset is reset. The file is served at a signed URL that stops working
`bulk_url_ttl_seconds` after completion (403, as an expired signed URL answers); the
operation then reads EXPIRED. One bulk query runs at a time per shop (API versions before
2026-01): a second one gets the user error OPERATION_IN_PROGRESS.
"""

from __future__ import annotations

import json
import logging
import secrets
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    EnumValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    execute_sync,
    get_named_type,
    parse,
    validate,
)
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from sandbox.shopify.data import iso
from sandbox.shopify.store import SORT_ATTRIBUTES

if TYPE_CHECKING:
    from sandbox.shopify.app import ShopifySandbox

try:
    import orjson

    def _line(value: dict[str, Any]) -> bytes:
        return orjson.dumps(value) + b"\n"

except ImportError:  # pragma: no cover - depends on the environment

    def _line(value: dict[str, Any]) -> bytes:
        return (json.dumps(value, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


log = logging.getLogger(__name__)

BULK_ID_BASE = 3_300_000_000_000
MAX_CONNECTIONS = 5
MAX_DEPTH = 2
CHUNK = 100  # orders executed per graphql-core call
FILE_CHUNK = 64 * 1024
ACTIVE = ("CREATED", "RUNNING", "CANCELING")
KEEP = 20  # finished operations remembered (and their files kept) per shop

_DENIED = (
    "<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code>"
    "<Message>Access denied.</Message><Details>{}</Details></Error>"
)


class _Stopped(Exception):
    """The operation was cancelled (dataset reset)."""


class _Injected(Exception):
    """The bulk_failed fault fired."""


@dataclass
class BulkOperation:
    """One bulk query and its progress; the worker thread is the only writer."""

    number: int
    query: str
    document: DocumentNode
    search: str | None
    sort_key: str
    reverse: bool
    created: float
    status: str = "CREATED"
    error_code: str | None = None
    completed: float | None = None
    object_count: int = 0
    root_count: int = 0
    file_size: int | None = None
    path: Path | None = None
    fail: tuple[str, int] | None = None  # (errorCode, after this many objects)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def gid(self) -> str:
        return f"gid://shopify/BulkOperation/{BULK_ID_BASE + self.number}"


def _user_error(code: str, message: str, path: list[str] | None = None) -> dict[str, Any]:
    return {"bulkOperation": None,
            "userErrors": [{"code": code, "field": path, "message": message}]}  # fmt: skip


class BulkRunner:
    """The bulk operations of one sandbox shop: submit, report, serve, cancel."""

    def __init__(self, sandbox: ShopifySandbox) -> None:
        self.sandbox = sandbox
        self.operations: OrderedDict[int, BulkOperation] = OrderedDict()
        self.base_url = "http://127.0.0.1"  # refreshed from each GraphQL request's host
        self._dir = tempfile.TemporaryDirectory(prefix="shopify-bulk-")
        self._lock = threading.Lock()
        self._next = 1

    # ---- GraphQL --------------------------------------------------------------------

    def submit(self, query: str, group_objects: bool = False) -> dict[str, Any]:
        """bulkOperationRunQuery: a payload with the new operation or userErrors."""
        with self._lock:
            running = next((op for op in self.operations.values() if op.status in ACTIVE), None)
            if running is not None:
                return _user_error(
                    "OPERATION_IN_PROGRESS",
                    "A bulk query operation for this app and shop is already in progress: "
                    f"{running.gid}.",
                )
            try:
                document, search, sort_key, reverse = self._check(query)
            except ValueError as exc:
                return _user_error("INVALID", str(exc), ["query"])
            config = self.sandbox.config
            op = BulkOperation(self._next, query, document, search, sort_key, reverse,
                               created=config.clock())  # fmt: skip
            self._next += 1
            faults = self.sandbox.faults
            if faults.bulk_failed.fire():
                self.sandbox.stats.faults_served["bulk_failed"] += 1
                op.fail = (faults.bulk_error_code, faults.bulk_fail_after_objects)
            self.operations[op.number] = op
            self._forget_old()
        threading.Thread(target=self._run, args=(op,), name=f"bulk-{op.number}",
                         daemon=True).start()  # fmt: skip
        return {"bulkOperation": self.view(op), "userErrors": []}

    def current(self, kind: str = "QUERY") -> dict[str, Any] | None:
        """currentBulkOperation: the newest operation (the sandbox runs queries only)."""
        if kind != "QUERY" or not self.operations:
            return None
        return self.view(next(reversed(self.operations.values())))

    def by_id(self, number: int) -> dict[str, Any] | None:
        op = self.operations.get(number - BULK_ID_BASE)
        return None if op is None else self.view(op)

    def view(self, op: BulkOperation) -> dict[str, Any]:
        """The BulkOperation object as GraphQL serves it right now."""
        status = self._status(op)
        # Shopify gives no file for a query that matched nothing.
        url = self._url(op) if status == "COMPLETED" and op.object_count else None
        partial = None
        if status == "FAILED" and op.path is not None and not self._expired(op):
            partial = self._url(op)
        return {
            "__typename": "BulkOperation",
            "id": op.gid,
            "status": status,
            "errorCode": op.error_code,
            "createdAt": iso(int(op.created)),
            "completedAt": iso(int(op.completed)) if op.completed is not None else None,
            "objectCount": str(op.object_count),
            "rootObjectCount": str(op.root_count),
            "fileSize": str(op.file_size) if url is not None else None,
            "url": url,
            "partialDataUrl": partial,
            "query": op.query,
            "type": "QUERY",
        }

    def cancel_all(self) -> None:
        """Stop every running operation (the dataset they read is being replaced)."""
        for op in self.operations.values():
            if op.status in ACTIVE:
                op.status = "CANCELING"
                op.stop.set()

    # ---- HTTP: the result file ------------------------------------------------------

    async def download_endpoint(self, request: Request) -> Response:
        """GET /__sandbox/bulk/{number}.jsonl?X-Goog-Signature=...: the JSONL, streamed."""
        op = self.operations.get(request.path_params["number"])
        signature = request.query_params.get("X-Goog-Signature")
        if op is None or op.path is None or not secrets.compare_digest(str(signature), op.token):
            return self._denied("Anonymous caller does not have storage.objects.get access.")
        if self._expired(op) or not op.path.exists():
            return self._denied("Request has expired.")
        size = op.path.stat().st_size
        return StreamingResponse(
            _file_chunks(op.path),
            media_type="application/jsonl",
            headers={"Content-Length": str(size)},
        )

    @staticmethod
    def _denied(details: str) -> Response:
        return Response(_DENIED.format(details), 403, media_type="application/xml")

    # ---- internals ------------------------------------------------------------------

    def _status(self, op: BulkOperation) -> str:
        if op.status == "COMPLETED" and self._expired(op):
            return "EXPIRED"
        return op.status

    def _expired(self, op: BulkOperation) -> bool:
        if op.completed is None:
            return False
        config = self.sandbox.config
        return config.clock() >= op.completed + config.bulk_url_ttl_seconds

    def _url(self, op: BulkOperation) -> str:
        ttl = int(self.sandbox.config.bulk_url_ttl_seconds)
        return (f"{self.base_url}/__sandbox/bulk/{op.number}.jsonl"
                f"?X-Goog-Expires={ttl}&X-Goog-Signature={op.token}")  # fmt: skip

    def _forget_old(self) -> None:
        while len(self.operations) > KEEP:
            number, old = next(iter(self.operations.items()))
            if old.status in ACTIVE:
                break
            del self.operations[number]
            if old.path is not None:
                old.path.unlink(missing_ok=True)

    def _check(self, query: str) -> tuple[DocumentNode, str | None, str, bool]:
        """Parse, validate and apply the bulk rules; ValueError names what is wrong."""
        try:
            document = parse(query)
        except GraphQLSyntaxError as exc:
            raise ValueError(f"Invalid bulk query: {exc.message}") from None
        errors: list[GraphQLError] = validate(self.sandbox.schema, document)
        if errors:
            raise ValueError(f"Invalid bulk query: {errors[0].message}")
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != 1 or operations[0].operation.value != "query":
            raise ValueError("Bulk queries must contain exactly one query operation.")
        if operations[0].variable_definitions:
            raise ValueError("Bulk queries cannot use variables.")
        fragments = {d.name.value: d for d in document.definitions
                     if isinstance(d, FragmentDefinitionNode)}  # fmt: skip
        roots = _fields(operations[0].selection_set, fragments)
        names = [f.name.value for f in roots if not f.name.value.startswith("__")]
        if {"node", "nodes"} & set(names):
            raise ValueError("Bulk queries cannot contain a top level `node` or `nodes` field.")
        if names != ["orders"]:
            raise ValueError(
                "The sandbox runs bulk queries over exactly one top-level connection: `orders`."
            )
        root = next(f for f in roots if f.name.value == "orders")
        schema = self.sandbox.schema
        count = _count_connections(root, schema.query_type, fragments, 1)
        if count > MAX_CONNECTIONS:
            raise ValueError(
                f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections."
            )
        args = {a.name.value: a.value for a in root.arguments or ()}
        search = args.get("query")
        sort_key = args.get("sortKey")
        reverse = args.get("reverse")
        return (
            document,
            search.value if isinstance(search, StringValueNode) else None,
            sort_key.value if isinstance(sort_key, EnumValueNode) else "ID",
            bool(reverse.value) if isinstance(reverse, BooleanValueNode) else False,
        )

    def _run(self, op: BulkOperation) -> None:
        config = self.sandbox.config
        try:
            while config.clock() < op.created + config.bulk_queue_seconds:
                self._wait(op)
            op.status = "RUNNING"
            started = config.clock()
            path = Path(self._dir.name) / f"{op.number}.jsonl"
            with path.open("wb") as out:
                op.path = path if op.fail else None  # partial data is kept only on failure
                for lines in self._results(op):
                    rate = self.sandbox.config.bulk_objects_per_second
                    while rate and op.object_count >= rate * (config.clock() - started):
                        self._wait(op)
                    if op.fail is not None and op.object_count >= op.fail[1]:
                        raise _Injected
                    if op.stop.is_set():
                        raise _Stopped
                    out.write(b"".join(lines))
                    op.object_count += len(lines)
                    op.root_count += 1
            op.file_size = path.stat().st_size
            op.path = path
            op.completed = config.clock()
            op.status = "COMPLETED"
        except _Injected:
            assert op.fail is not None
            self._finish(op, "FAILED", op.fail[0], keep=op.object_count > 0)
        except _Stopped:
            self._finish(op, "CANCELED", None, keep=False)
        except Exception:
            log.exception("bulk operation %s failed", op.gid)
            self._finish(op, "FAILED", "INTERNAL_SERVER_ERROR", keep=False)

    def _finish(self, op: BulkOperation, status: str, code: str | None, *, keep: bool) -> None:
        if not keep and op.path is not None:
            op.path.unlink(missing_ok=True)
            op.path = None
        op.error_code = code
        op.completed = self.sandbox.config.clock()
        op.status = status

    @staticmethod
    def _wait(op: BulkOperation) -> None:
        if op.stop.wait(0.005):
            raise _Stopped

    def _results(self, op: BulkOperation) -> Iterator[list[bytes]]:
        """JSONL lines per root order, chunk by chunk, in the query's sort order."""
        sandbox = self.sandbox
        store = sandbox.store
        compiled = store.compile(op.search)
        # Sort keys without a cheap order fall back to id order, as paged queries do.
        attr = SORT_ATTRIBUTES.get(op.sort_key, "id")
        walk = store._walk(compiled, attr, op.reverse, None)  # noqa: SLF001 - same package
        extra = {"executor_class": sandbox.executor_class} if sandbox.executor_class else {}
        while True:
            indices = [i for _, i in zip(range(CHUNK), walk, strict=False)]
            if not indices:
                return
            if op.stop.is_set():
                raise _Stopped
            orders = [store.order(i) for i in indices]
            result = execute_sync(
                sandbox.schema,
                op.document,
                context_value={"sandbox": sandbox, "bulk_orders": orders},
                **extra,
            )
            if result.errors:
                raise RuntimeError(result.errors[0].message)
            assert result.data is not None
            connection = next(v for k, v in result.data.items() if not k.startswith("__"))
            for node in _nodes(connection):
                out: list[dict[str, Any]] = []
                _flatten(node, None, out)
                yield [_line(line) for line in out]


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        while chunk := stream.read(FILE_CHUNK):
            yield chunk


def _fields(
    selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode]
) -> list[FieldNode]:
    """The fields of a selection set with fragments expanded."""
    out: list[FieldNode] = []
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            out.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            out.extend(_fields(selection.selection_set, fragments))
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                out.extend(_fields(fragment.selection_set, fragments))
    return out


def _is_connection_type(named: Any) -> bool:
    return getattr(named, "name", "").endswith("Connection")


def _count_connections(
    node: FieldNode, parent: Any, fragments: dict[str, FragmentDefinitionNode], depth: int
) -> int:
    """Connections in `node` (itself one); refuses nesting deeper than MAX_DEPTH and a
    nested connection whose parent does not select `id` (children could not point back)."""
    named = get_named_type(parent.fields[node.name.value].type)
    if depth > MAX_DEPTH:
        raise ValueError(
            f"Bulk queries cannot contain connections with a nesting depth greater than "
            f"{MAX_DEPTH}."
        )
    count = 1
    node_type = get_named_type(named.fields["nodes"].type)
    for part in _fields(node.selection_set, fragments):
        inner = _fields(part.selection_set, fragments)
        if part.name.value == "edges":
            inner = [f for e in inner if e.name.value == "node"
                     for f in _fields(e.selection_set, fragments)]  # fmt: skip
        elif part.name.value != "nodes":
            continue
        fields = node_type.fields
        nested = [f for f in inner if f.name.value in fields
                  and _is_connection_type(get_named_type(fields[f.name.value].type))]  # fmt: skip
        if nested and not any(f.name.value == "id" and f.alias is None for f in inner):
            raise ValueError(
                f"The parent of a nested connection ({node_type.name}) must select `id`."
            )
        for child in nested:
            count += _count_connections(child, node_type, fragments, depth + 1)
    return count


def _nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    if connection.get("nodes") is not None:
        return connection["nodes"]
    return [edge["node"] for edge in connection.get("edges") or ()]


def _is_connection(value: Any) -> bool:
    return (
        type(value) is dict
        and ("edges" in value or "nodes" in value)
        and value.keys() <= {"edges", "nodes", "pageInfo"}
    )


def _flatten(node: dict[str, Any], parent_id: str | None, out: list[dict[str, Any]]) -> None:
    """`node` without its connections, then each connection's nodes (recursively) with
    `__parentId`: Shopify's JSONL layout, children right after their parent."""
    line: dict[str, Any] = {}
    children: list[dict[str, Any]] = []
    for key, value in node.items():
        if _is_connection(value):
            children.append(value)
        else:
            line[key] = value
    if parent_id is not None:
        line["__parentId"] = parent_id
    out.append(line)
    for connection in children:
        for child in _nodes(connection):
            _flatten(child, node.get("id"), out)
