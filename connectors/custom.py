"""Custom connectors: a declarative definition (the spec's create-connector body) and the one
generic connector that reads any REST system it describes.

`ConnectorDefinition` validates the body once: authentication and its fields, endpoints with
their pagination and a `mapping` of ledger target fields to JSONPath expressions (jsonpath-ng,
compiled exactly once per definition and kept on it). `CustomConnector` then does the HTTP
work with the shared toolkit (HttpClient, the auth classes, the paginators, Retry-After rate
limiting) and hands back each page's raw records beside their mapped form.

Defaults chosen where the spec's example is silent (all documented on the fields):
- an endpoint without `target` takes it from its name (getOrders -> order, listCustomers ->
  customer, ...); a name naming none of the four types must state `target`;
- an endpoint without `pagination` follows `Link: <...>; rel="next"` (a server that sends
  none is read as one page);
- an endpoint without `recordsPath` reads the body itself when it is a list, else `$.data`;
- an api_key goes in the `X-API-Key` header unless `in`/`name` say otherwise (query default
  parameter `api_key`).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import httpx
from jsonpath_ng.exceptions import JSONPathError
from jsonpath_ng.ext import parse as parse_jsonpath
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from bigledger.errors import (
    DataMappingError,
    InvalidCredentials,
    PlatformError,
    ValidationFailed,
)
from connectors.auth import ApiKeyHeader, ApiKeyQuery, Basic, Bearer, OAuth2ClientCredentials
from connectors.http import ApiResponse, HttpClient
from connectors.pagination import (
    BodyCursorPaginator,
    LinkHeaderPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    PageRequest,
    Paginator,
)
from connectors.ratelimit import RetryAfterPolicy

log = logging.getLogger(__name__)

TargetType = Literal["order", "customer", "product", "payment"]

# The ledger fields a mapping may fill, per target record type (transforms/custom_records.py
# reads exactly these).
TARGET_FIELDS: dict[str, tuple[str, ...]] = {
    "order": (
        "orderId", "orderNumber", "orderDate", "updatedAt", "status", "currency",
        "customerId", "customerName", "customerEmail", "customerFirstName", "customerLastName",
        "items", "subtotal", "tax", "shipping", "discount", "total", "paymentMethod",
    ),
    "customer": (
        "customerId", "name", "firstName", "lastName", "email", "phone", "updatedAt",
    ),
    "product": (
        "productId", "sku", "title", "name", "price", "currency", "barcode", "status",
        "vendor", "productType", "updatedAt",
    ),
    "payment": (
        "paymentId", "kind", "amount", "fee", "currency", "occurredAt", "status", "orderRef",
        "sourceId", "payoutId", "description",
    ),
}  # fmt: skip
# Each inner tuple: at least one of these must be mapped.
REQUIRED_TARGET_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "order": (("orderId",), ("total",)),
    "customer": (("name", "email", "firstName", "lastName"),),
    "product": (("sku",),),
    "payment": (("paymentId",), ("amount",)),
}
# Credential fields each auth type needs (besides baseUrl, which every definition declares).
AUTH_REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "api_key": ("apiKey",),
    "bearer": ("token",),
    "basic": ("username", "password"),
    "oauth2_client_credentials": ("clientId", "clientSecret", "tokenUrl"),
}
SCHEDULE_WORDS = ("hourly", "daily")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*,/\-?LW#]+$")
_SIMPLE_PATH = re.compile(r"^\$((?:\.[A-Za-z_][A-Za-z0-9_]*)+)$")
# Expressions that select several values by nature: they map to a list, even of one.
_MULTI_MARKERS = ("[*]", "..", "?(", "[?", ":")


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True
    )


class AuthField(_Model):
    """One credential field the user fills in when setting up an instance."""

    name: str = Field(min_length=1)
    label: str | None = None
    type: Literal["string", "url", "secret", "number"] = "string"
    required: bool = False
    encrypted: bool = False


class Authentication(_Model):
    """How requests authenticate; `fields` declares the credentials each instance supplies.

    api_key: `in` header (default, `name` default X-API-Key) or query (`name` default
    api_key). oauth2_client_credentials: `clientAuth` basic (default) or body.
    """

    type: Literal["api_key", "bearer", "basic", "oauth2_client_credentials"]
    in_: Literal["header", "query"] = Field("header", alias="in")
    name: str | None = None
    client_auth: Literal["basic", "body"] = "basic"
    fields: list[AuthField] = Field(default_factory=list)

    @model_validator(mode="after")
    def _needed_fields(self) -> Authentication:
        declared = {f.name for f in self.fields}
        if len(declared) != len(self.fields):
            raise ValueError("authentication.fields: field names must be unique")
        needed = (*AUTH_REQUIRED_FIELDS[self.type], "baseUrl")
        missing = [name for name in needed if name not in declared]
        if missing:
            raise ValueError(
                f"authentication type {self.type} needs the field(s) {', '.join(missing)} "
                f"in authentication.fields"
            )
        return self

    @property
    def key_name(self) -> str:
        """Header or query parameter carrying an api_key."""
        if self.name:
            return self.name
        return "X-API-Key" if self.in_ == "header" else "api_key"


class NoPagination(_Model):
    """One request is the whole result."""

    type: Literal["none"]


class LinkHeaderPagination(_Model):
    """Follow the `Link` header's `rel` URL."""

    type: Literal["link_header"]
    rel: str = "next"


class CursorPagination(_Model):
    """A cursor in the body (JSONPath `cursorPath`) sent back in query parameter `param`."""

    type: Literal["cursor"]
    cursor_path: str
    param: str = "cursor"
    has_more_path: str | None = None
    size_param: str | None = None
    size: int | None = Field(None, ge=1)


class PagePagination(_Model):
    """Page numbers; stops at an empty page, a short one, or the total page count."""

    type: Literal["page"]
    page_param: str = "page"
    size_param: str | None = "per_page"
    size: int = Field(100, ge=1)
    start_page: int = Field(1, ge=0)
    total_pages_header: str | None = None
    total_pages_path: str | None = None


class OffsetPagination(_Model):
    """Offset/limit; advances by the records actually returned."""

    type: Literal["offset"]
    offset_param: str = "offset"
    limit_param: str | None = "limit"
    limit: int = Field(100, ge=1)
    total_path: str | None = None
    total_header: str | None = None


Pagination = Annotated[
    NoPagination | LinkHeaderPagination | CursorPagination | PagePagination | OffsetPagination,
    Field(discriminator="type"),
]


def infer_target(endpoint_name: str) -> str | None:
    """The target type an endpoint name suggests (getOrders -> order), or None."""
    name = endpoint_name.lower()
    for word, target in (("order", "order"), ("customer", "customer"), ("contact", "customer"),
                         ("client", "customer"), ("product", "product"), ("payment", "payment"),
                         ("item", "product"), ("transaction", "payment")):  # fmt: skip
        if word in name:
            return target
    return None


class Endpoint(_Model):
    """One readable collection: request, pagination, where the records are, their mapping."""

    name: str = Field(min_length=1)
    method: Literal["GET", "POST"] = "GET"
    path: str
    parameters: list[str] = Field(default_factory=list)
    pagination: Pagination = Field(default_factory=lambda: LinkHeaderPagination(type="link_header"))
    records_path: str | None = None
    mapping: dict[str, str]
    target: TargetType | None = None

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        # An absolute URL would let a definition send the credentials to any host.
        if not value.startswith("/") or "://" in value:
            raise ValueError(f"path must start with / and be relative to baseUrl, got {value!r}")
        return value

    @model_validator(mode="after")
    def _default_target(self) -> Endpoint:
        if self.target is None:
            inferred = infer_target(self.name)
            if inferred is None:
                raise ValueError(
                    f"endpoint {self.name!r} has no target and its name names none of "
                    "order, customer, product, payment: set target"
                )
            object.__setattr__(self, "target", inferred)
        return self


class ConnectorDefinition(_Model):
    """The spec's create-connector body, validated; JSONPaths compiled once.

    Structural problems raise pydantic's ValidationError (see `load_definition` for the
    project's ValidationFailed); mapping problems raise DataMappingError naming the place.
    """

    name: str = Field(min_length=1)
    description: str | None = None
    type: Literal["custom"] = "custom"
    authentication: Authentication
    endpoints: list[Endpoint] = Field(min_length=1)
    webhook_support: bool = False
    schedule_sync: bool | str = False

    _compiled: dict[str, dict[str, Any]] = PrivateAttr(default_factory=dict)
    _records_paths: dict[str, Any] = PrivateAttr(default_factory=dict)

    @field_validator("schedule_sync")
    @classmethod
    def _schedule(cls, value: bool | str) -> bool | str:
        if isinstance(value, bool) or value in SCHEDULE_WORDS:
            return value
        parts = value.split()
        if len(parts) != 5 or not all(_CRON_FIELD.match(p) for p in parts):
            raise ValueError(
                f"scheduleSync must be true/false, hourly, daily or a 5-field cron, got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _compile(self) -> ConnectorDefinition:
        names = [e.name for e in self.endpoints]
        if len(set(names)) != len(names):
            raise ValueError("endpoint names must be unique")
        for index, endpoint in enumerate(self.endpoints):
            where = f"endpoints[{index}]"
            target = endpoint.target or ""
            allowed = TARGET_FIELDS[target]
            compiled: dict[str, Any] = {}
            for field_name, expression in endpoint.mapping.items():
                if field_name not in allowed:
                    raise DataMappingError(
                        f"{where}.mapping.{field_name}: unknown {target} field "
                        f"{field_name!r}; known fields: {', '.join(allowed)}",
                        details={"endpoint": endpoint.name, "field": field_name},
                    )
                compiled[field_name] = _compile(expression, f"{where}.mapping.{field_name}",
                                                endpoint.name, field_name)  # fmt: skip
            for group in REQUIRED_TARGET_FIELDS[target]:
                if not any(name in compiled for name in group):
                    what = group[0] if len(group) == 1 else f"one of {', '.join(group)}"
                    raise DataMappingError(
                        f"{where}.mapping: a {target} needs {what} mapped",
                        details={"endpoint": endpoint.name, "field": group[0]},
                    )
            self._compiled[endpoint.name] = compiled
            if endpoint.records_path is not None:
                self._records_paths[endpoint.name] = _compile(
                    endpoint.records_path, f"{where}.recordsPath", endpoint.name, "recordsPath"
                )
            pagination = endpoint.pagination
            for attr in ("cursor_path", "has_more_path", "total_pages_path", "total_path"):
                expression = getattr(pagination, attr, None)
                if expression and expression.startswith("$"):
                    _compile(expression, f"{where}.pagination.{to_camel(attr)}", endpoint.name,
                             to_camel(attr))  # fmt: skip
        return self

    def endpoint(self, name: str) -> Endpoint:
        """The endpoint called `name` (ValidationFailed naming the known ones otherwise)."""
        for endpoint in self.endpoints:
            if endpoint.name == name:
                return endpoint
        known = ", ".join(e.name for e in self.endpoints)
        raise ValidationFailed(f"connector {self.name!r} has no endpoint {name!r} ({known})")

    def encrypted_fields(self) -> list[str]:
        """Credential fields to store encrypted: declared encrypted or of type secret."""
        return [f.name for f in self.authentication.fields if f.encrypted or f.type == "secret"]

    def required_fields(self) -> list[str]:
        """Credential fields an instance must supply."""
        return [f.name for f in self.authentication.fields if f.required]

    def map_record(self, endpoint_name: str, record: Any) -> dict[str, Any]:
        """`record` through the endpoint's compiled mapping: one match -> the value, a
        multi-value path (`[*]`, `..`, filters, slices) -> a list (empty when nothing
        matched), no match -> None."""
        return {name: path.extract(record) for name, path in self._compiled[endpoint_name].items()}

    def records_of(self, endpoint_name: str, body: Any) -> list[Any]:
        """The record list of a response body (recordsPath, else the body or `$.data`)."""
        path = self._records_paths.get(endpoint_name)
        if path is not None:
            found = path.extract(body)
            if found is None:
                return []
            if isinstance(found, list):
                return found
            raise PlatformError(f"{endpoint_name}: recordsPath {path.text} is not a list")
        if isinstance(body, list):
            return body
        if isinstance(body, dict) and isinstance(body.get("data"), list):
            return body["data"]
        raise PlatformError(
            f"{endpoint_name}: the response is neither a list nor has a data list; "
            "set recordsPath"
        )

    def records_path_text(self, endpoint_name: str, body: Any) -> str:
        """recordsPath as the paginators take it (resolving the default against `body`)."""
        path = self._records_paths.get(endpoint_name)
        if path is not None:
            return path.text
        return "$" if isinstance(body, list) else "$.data"


@dataclass(frozen=True, slots=True)
class CompiledPath:
    """A JSONPath compiled once; plain `$.a.b` paths take a fast dictionary walk."""

    text: str
    parsed: Any
    keys: tuple[str, ...] | None
    multi: bool

    def extract(self, data: Any) -> Any:
        """The value (one match), a list (multi-value path or several matches), or None."""
        if self.keys is not None:
            current = data
            for key in self.keys:
                if not isinstance(current, dict) or key not in current:
                    return None
                current = current[key]
            return current
        matches = [m.value for m in self.parsed.find(data)]
        if self.multi or len(matches) > 1:
            return matches
        return matches[0] if matches else None


def _compile(expression: Any, where: str, endpoint: str, field_name: str) -> CompiledPath:
    if not isinstance(expression, str) or not expression.startswith("$"):
        raise DataMappingError(
            f"{where}: invalid JSONPath {expression!r} (must start with $)",
            details={"endpoint": endpoint, "field": field_name},
        )
    try:
        parsed = parse_jsonpath(expression)
    except (JSONPathError, Exception) as exc:  # jsonpath-ng's lexer raises plain Exceptions
        raise DataMappingError(
            f"{where}: invalid JSONPath {expression!r} ({exc})",
            details={"endpoint": endpoint, "field": field_name},
        ) from None
    simple = _SIMPLE_PATH.match(expression)
    keys = tuple(simple.group(1)[1:].split(".")) if simple else None
    multi = any(marker in expression for marker in _MULTI_MARKERS)
    return CompiledPath(expression, parsed, keys, multi)


def load_definition(data: Mapping[str, Any] | str | bytes) -> ConnectorDefinition:
    """Validate a definition (dict or JSON); ValidationFailed lists each problem by place,
    DataMappingError names a bad mapping."""
    try:
        if isinstance(data, str | bytes):
            return ConnectorDefinition.model_validate_json(data)
        return ConnectorDefinition.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"loc": _loc(err["loc"]), "message": err["msg"]}
            for err in exc.errors(include_url=False, include_input=False)
        ]
        text = "; ".join(f"{p['loc']}: {p['message']}" if p["loc"] else p["message"]
                         for p in problems)  # fmt: skip
        raise ValidationFailed(f"invalid connector definition: {text}",
                               details={"errors": problems}) from None  # fmt: skip


def _loc(parts: tuple[Any, ...]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# ---- the connector ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    """One page: raw records, the same records mapped, and where the next page starts.

    `end_cursor` is an opaque JSON string (pass it back as `cursor=`); None at the end.
    """

    records: list[Any]
    mapped: list[dict[str, Any]]
    end_cursor: str | None
    has_next_page: bool


class _LinkPaginator(LinkHeaderPaginator):
    """LinkHeaderPaginator that drops named query parameters from the next URL, so a key a
    server echoes into its Link URLs never ends up in a stored cursor."""

    def __init__(self, *, drop: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.drop = drop

    def next(self, request: PageRequest, response: ApiResponse) -> PageRequest | None:
        """Next request from the Link header, with the dropped parameters removed."""
        following = super().next(request, response)
        if following is None or not self.drop:
            return following
        url = httpx.URL(following.url)
        params = url.params
        for name in self.drop:
            params = params.remove(name)
        clean = str(url.copy_with(params=params))
        self._state = {"next_url": clean}
        return PageRequest(following.method, clean, {}, following.json, following.headers,
                           following.cost, following.idempotent)  # fmt: skip


class CustomConnector:
    """Reads the endpoints of a ConnectorDefinition with an instance's credentials.

    `credentials` holds the authentication fields by name (apiKey, token, username/password,
    clientId/clientSecret/tokenUrl/scope, baseUrl); `base_url` (a sandbox) wins over
    credentials["baseUrl"]. A relative tokenUrl is resolved against the base URL.
    """

    platform = "custom"

    def __init__(
        self,
        definition: ConnectorDefinition | Mapping[str, Any],
        credentials: Mapping[str, Any],
        base_url: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        budget_seconds: float | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] | None = None,
        acquire: Callable[[], None] | None = None,
        allow_insecure_http: bool | None = None,
        token: Mapping[str, Any] | None = None,
        on_token: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        if not isinstance(definition, ConnectorDefinition):
            definition = load_definition(definition)
        self.definition = definition
        auth_def = definition.authentication
        missing = [
            f.name for f in auth_def.fields
            if (f.required or f.name in AUTH_REQUIRED_FIELDS[auth_def.type])
            and f.name != "baseUrl" and _blank(credentials.get(f.name))
        ]  # fmt: skip
        base = base_url or credentials.get("baseUrl")
        if _blank(base):
            missing.append("baseUrl")
        if missing:
            raise InvalidCredentials(
                f"{definition.name} credentials need {', '.join(missing)}",
                details={"missing": missing},
            )
        self.base_url = str(base).strip().rstrip("/")
        self._query_key: tuple[str, ...] = ()
        self.auth = self._auth(credentials, token, on_token, allow_insecure_http)
        extra: dict[str, Any] = {"rand": rand} if rand is not None else {}
        self.http = HttpClient(
            self.base_url,
            platform=self.platform,
            auth=self.auth,
            timeout=timeout,
            rate_limit=RetryAfterPolicy(clock=clock),
            budget_seconds=budget_seconds,
            transport=transport,
            sleep=sleep,
            clock=clock,
            acquire=acquire,
            allow_insecure_http=allow_insecure_http,
            **extra,
        )

    def _auth(self, credentials: Mapping[str, Any], token: Mapping[str, Any] | None,
              on_token: Any, allow_insecure_http: bool | None) -> httpx.Auth:  # fmt: skip
        auth_def = self.definition.authentication

        def value(name: str) -> str:
            return str(credentials.get(name) or "").strip()

        if auth_def.type == "api_key":
            if auth_def.in_ == "query":
                self._query_key = (auth_def.key_name,)
                return ApiKeyQuery(auth_def.key_name, value("apiKey"))
            return ApiKeyHeader(auth_def.key_name, value("apiKey"))
        if auth_def.type == "bearer":
            return Bearer(value("token"))
        if auth_def.type == "basic":
            return Basic(value("username"), value("password"))
        token_url = value("tokenUrl")
        if not httpx.URL(token_url).is_absolute_url:
            token_url = str(httpx.URL(self.base_url + "/").join(token_url))
        return OAuth2ClientCredentials(
            token_url, value("clientId"), value("clientSecret"),
            scope=value("scope") or None, client_auth=auth_def.client_auth, token=token,
            on_token=on_token, allow_insecure_http=allow_insecure_http,
        )  # fmt: skip

    def __repr__(self) -> str:
        return (f"CustomConnector(name={self.definition.name!r}, base_url={self.base_url!r}, "
                f"auth={self.auth!r})")  # fmt: skip

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.http.close()

    def __enter__(self) -> CustomConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- operations ------------------------------------------------------------------------

    def check_connection(self) -> dict[str, Any]:
        """Read the first page of the first endpoint (AuthFailed when the keys are refused)."""
        endpoint = self.definition.endpoints[0]
        page = self.fetch_page(endpoint.name, {})
        return {"name": self.definition.name, "endpoint": endpoint.name,
                "records": len(page.records), "has_next_page": page.has_next_page}  # fmt: skip

    def fetch_page(
        self, endpoint_name: str, params: Mapping[str, Any] | None = None,
        cursor: str | None = None,
    ) -> Page:  # fmt: skip
        """One page of `endpoint_name` with `params` (declared parameters only), from
        `cursor` (a previous page's end_cursor) or the first page."""
        endpoint = self.definition.endpoint(endpoint_name)
        request = self._base_request(endpoint, params or {})
        paginator = self._paginator(endpoint, _load_cursor(cursor))
        if paginator.done:
            return Page([], [], None, False)
        current = paginator.first(request)
        response = self.http.request(
            current.method, current.url, params=current.params or None, json=current.json,
            cost=current.cost, idempotent=current.idempotent,
        )  # fmt: skip
        records = self.definition.records_of(endpoint.name, response.data)
        if hasattr(paginator, "records_path") and paginator.records_path is None:
            paginator.records_path = self.definition.records_path_text(endpoint.name,
                                                                       response.data)
        following = paginator.next(current, response)
        mapped = [self.definition.map_record(endpoint.name, r) for r in records]
        has_next = following is not None
        end = json.dumps(paginator.state, sort_keys=True) if has_next else None
        return Page(records, mapped, end, has_next)

    def iter_pages(
        self, endpoint_name: str, params: Mapping[str, Any] | None = None,
        cursor: str | None = None,
    ) -> Iterator[Page]:  # fmt: skip
        """Every page from `cursor` (or the first) to the last."""
        while True:
            page = self.fetch_page(endpoint_name, params, cursor)
            yield page
            if not page.has_next_page:
                return
            cursor = page.end_cursor

    # -- helpers ---------------------------------------------------------------------------

    def _base_request(self, endpoint: Endpoint, params: Mapping[str, Any]) -> PageRequest:
        unknown = sorted(set(params) - set(endpoint.parameters))
        if unknown:
            raise ValidationFailed(
                f"endpoint {endpoint.name} takes no parameter(s) {', '.join(unknown)} "
                f"(declared: {', '.join(endpoint.parameters) or 'none'})",
                details={"endpoint": endpoint.name, "unknown": unknown},
            )
        values = {k: v for k, v in params.items() if v is not None}
        if endpoint.method == "POST":
            # A POST listing (a search) is a read: safe to retry like a GET.
            return PageRequest("POST", endpoint.path, {}, values, idempotent=True)
        return PageRequest("GET", endpoint.path, values)

    def _paginator(self, endpoint: Endpoint, state: dict[str, Any] | None) -> Paginator:
        spec = endpoint.pagination
        records_path = endpoint.records_path
        if isinstance(spec, NoPagination):
            return _SinglePage(state)
        if isinstance(spec, LinkHeaderPagination):
            return _LinkPaginator(rel=spec.rel, drop=self._query_key, state=state)
        if isinstance(spec, CursorPagination):
            return _SizedCursor(spec, records_path, state)
        if isinstance(spec, PagePagination):
            return PageNumberPaginator(
                page_param=spec.page_param, size_param=spec.size_param, page_size=spec.size,
                start_page=spec.start_page, total_pages_header=spec.total_pages_header,
                total_pages_path=spec.total_pages_path, records_path=records_path, state=state,
            )  # fmt: skip
        return OffsetPaginator(
            offset_param=spec.offset_param, limit_param=spec.limit_param, limit=spec.limit,
            total_path=spec.total_path, total_header=spec.total_header,
            records_path=records_path, state=state,
        )  # fmt: skip


class _SinglePage(Paginator):
    """No pagination: the first response is all there is."""

    def first(self, request: PageRequest) -> PageRequest:
        """The request as is."""
        return request

    def next(self, request: PageRequest, response: ApiResponse) -> PageRequest | None:
        """Never a next page."""
        self._finish()
        return None


class _SizedCursor(BodyCursorPaginator):
    """BodyCursorPaginator that also sends a page size on every request (first included)."""

    def __init__(self, spec: CursorPagination, records_path: str | None,
                 state: dict[str, Any] | None) -> None:  # fmt: skip
        super().__init__(cursor_path=spec.cursor_path, param=spec.param,
                         has_more_path=spec.has_more_path, records_path=records_path,
                         state=state)  # fmt: skip
        self.size = {spec.size_param: spec.size} if spec.size_param and spec.size else {}

    def first(self, request: PageRequest) -> PageRequest:
        """The base (or resumed) request with the page size."""
        return super().first(request.with_params(self.size))


def _load_cursor(cursor: str | None) -> dict[str, Any] | None:
    if cursor is None:
        return None
    try:
        state = json.loads(cursor)
    except ValueError:
        state = None
    if not isinstance(state, dict):
        raise ValidationFailed("cursor is not one this connector handed out")
    return state


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
