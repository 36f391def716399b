"""The executable schema: SDL from schema.graphql, resolvers from resolvers.py.

Built once per process; per-request state reaches resolvers through the context, so one
schema serves any number of sandboxes.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from graphql import GraphQLSchema, build_schema

from sandbox.shopify import resolvers
from sandbox.shopify.currencies import CURRENCY_CODES

_SDL_PATH = Path(__file__).with_name("schema.graphql")
_ENUM_MARKER = "# __CURRENCY_CODE_ENUM__ (generated from sandbox/shopify/currencies.py)"


def schema_sdl() -> str:
    """The SDL with the CurrencyCode enum filled in."""
    sdl = _SDL_PATH.read_text(encoding="utf-8")
    values = "\n".join(f"  {code}" for code in CURRENCY_CODES)
    return sdl.replace(_ENUM_MARKER, f"enum CurrencyCode {{\n{values}\n}}")


@cache
def shopify_schema() -> GraphQLSchema:
    """The sandbox's Shopify Admin schema with resolvers attached."""
    schema = build_schema(schema_sdl())
    for (type_name, field_name), resolver in resolvers.RESOLVERS.items():
        schema.get_type(type_name).fields[field_name].resolve = resolver  # type: ignore[union-attr]
    return schema
