"""A graphql-core executor that resolves plain leaf fields of dict sources inline.

Two thirds of the fields in an orders page are scalars read straight from a dict (`id`,
`amount`, `currencyCode`...). graphql-core builds a ResolveInfo, a Path and a completion
call for each; skipping that for fields without resolver or arguments roughly halves the
time to serve a page. Anything else (objects, lists, resolvers, nulls on non-null fields,
values the scalar refuses) goes through the normal executor, so results and errors are
the same as graphql-core's own.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.pyutils import Path

try:  # graphql-core >= 3.3 lets callers choose the executor class
    from graphql.execution.incremental.incremental_executor import IncrementalExecutor
except ImportError:  # pragma: no cover - older graphql-core: plain execution is used
    IncrementalExecutor = None  # type: ignore[assignment,misc]

# Per field: (kind, output coercion or object type, nullable, declared type)
_Plain = tuple[int, Any, bool, Any]
_LEAF, _OBJECT, _LEAF_LIST, _OBJECT_LIST = 0, 1, 2, 3
_PLAIN: dict[int, dict[str, _Plain]] = {}
_PENDING = object()


def _plain_fields(parent_type: GraphQLObjectType) -> dict[str, _Plain]:
    """Fields a dict lookup can answer: no resolver, no arguments, and a leaf type (then
    coerced here) or a concrete object type (then its sub-selection runs as usual)."""
    cached = _PLAIN.get(id(parent_type))
    if cached is None:
        cached = {}
        for name, field in parent_type.fields.items():
            if field.resolve is not None or field.args:
                continue
            field_type, nullable = field.type, True
            if is_non_null_type(field_type):
                field_type, nullable = field_type.of_type, False
            if is_leaf_type(field_type):
                coerce = getattr(field_type, "coerce_output_value", None) or field_type.serialize
                cached[name] = (_LEAF, coerce, nullable, field.type)
            elif is_object_type(field_type) and field_type.is_type_of is None:
                cached[name] = (_OBJECT, field_type, nullable, field.type)
            elif is_list_type(field_type) and is_non_null_type(field_type.of_type):
                item_type = field_type.of_type.of_type
                if is_leaf_type(item_type):
                    coerce = getattr(item_type, "coerce_output_value", None) or item_type.serialize
                    cached[name] = (_LEAF_LIST, coerce, nullable, field.type)
                elif is_object_type(item_type) and item_type.is_type_of is None:
                    cached[name] = (_OBJECT_LIST, item_type, nullable, field.type)
        _PLAIN[id(parent_type)] = cached
    return cached


if IncrementalExecutor is not None:

    class FastLeafExecutor(IncrementalExecutor):  # type: ignore[misc,valid-type]
        """graphql-core's executor with an inline path for plain leaf fields."""

        def execute_fields(  # type: ignore[override]
            self,
            parent_type: GraphQLObjectType,
            source_value: Any,
            path: Any,
            grouped_field_set: dict[str, Any],
            position_context: Any,
        ) -> Any:
            if type(source_value) is not dict:
                return super().execute_fields(
                    parent_type, source_value, path, grouped_field_set, position_context
                )
            plain = _plain_fields(parent_type)
            results: dict[str, Any] = {}
            rest: dict[str, Any] | None = None
            for response_name, details in grouped_field_set.items():
                name = details[0].node.name.value
                entry = plain.get(name)
                if entry is not None:
                    value = source_value.get(name)
                    if value is None:
                        if entry[2]:
                            results[response_name] = None
                            continue
                    elif entry[0] == _LEAF:
                        try:
                            coerced = entry[1](value)
                        except Exception:  # let the normal path report it
                            coerced = None
                        if coerced is not None and coerced is not Undefined:
                            results[response_name] = coerced
                            continue
                    elif entry[0] == _OBJECT:
                        if type(value) is dict:
                            results[response_name] = self._object(
                                entry, details, Path(path, response_name, parent_type.name),
                                value, position_context,
                            )  # fmt: skip
                            continue
                    elif type(value) is list and not details[0].node.directives:
                        done = self._list(
                            entry, details, Path(path, response_name, parent_type.name),
                            value, position_context,
                        )  # fmt: skip
                        if done is not _PENDING:
                            results[response_name] = done
                            continue
                if rest is None:
                    rest = {}
                rest[response_name] = details
                results[response_name] = _PENDING  # keeps the response key order
            if rest is None:
                return results
            resolved = super().execute_fields(
                parent_type, source_value, path, rest, position_context
            )
            if self.is_awaitable(resolved):  # pragma: no cover - sandbox resolvers are sync

                async def merge() -> dict[str, Any]:
                    return _merge(results, await resolved)

                return merge()
            return _merge(results, resolved)

        def _object(
            self, entry: _Plain, details: Any, path: Path, value: dict, context: Any
        ) -> Any:
            """What complete_object_value does for a dict, minus the ResolveInfo."""
            try:
                return self.collect_and_execute_subfields(entry[1], details, path, value, context)
            except Exception as raw_error:
                self.handle_field_error(raw_error, entry[3], details, path)
                return None

        def _list(self, entry: _Plain, details: Any, path: Path, value: list, context: Any) -> Any:
            """A list of non-null leaves or dicts; _PENDING hands odd items to the executor."""
            if entry[0] == _LEAF_LIST:
                coerce = entry[1]
                out = []
                for item in value:
                    coerced = None if item is None else coerce(item)
                    if coerced is None or coerced is Undefined:
                        return _PENDING
                    out.append(coerced)
                return out
            if any(type(item) is not dict for item in value):
                return _PENDING
            try:
                return [
                    self.collect_and_execute_subfields(
                        entry[1], details, Path(path, index, None), item, context
                    )
                    for index, item in enumerate(value)
                ]
            except Exception as raw_error:
                self.handle_field_error(raw_error, entry[3], details, path)
                return None

    def _merge(results: dict[str, Any], resolved: dict[str, Any]) -> dict[str, Any]:
        for key, value in resolved.items():
            results[key] = value
        for key in [k for k, v in results.items() if v is _PENDING]:
            del results[key]  # fields the executor skipped (unknown to the schema)
        return results

    EXECUTOR_CLASS: type | None = FastLeafExecutor
else:  # pragma: no cover
    EXECUTOR_CLASS = None
