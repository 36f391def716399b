"""Estimate a GraphQL query's requested cost from the document alone (no schema needed).

The model is Shopify's calculated query cost as our sandbox implements it:
scalar 0; object 1 + its selection; connection (a field selecting `nodes` or `edges`)
2 + first x (1 + cost of one node's selection); plain object lists (a selection without
nodes/edges, even with a `first` argument, e.g. `refunds(first:)`) 1 + their selection, not
multiplied.
Two deliberate over-estimates keep us on the safe side of any reading of that model: a plain
list's children are counted, and a connection's `pageInfo` is counted as an object (1).
Nesting multiplies because a node's cost already contains its inner connections.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    parse,
)

_CONNECTION_CHILDREN = ("nodes", "edges")


@lru_cache(maxsize=32)
def _parse(document: str) -> DocumentNode:
    return parse(document)


def estimate_query_cost(document: str, variables: Mapping[str, Any] | None = None) -> int:
    """Requested cost of the (first) operation in `document` with these variables."""
    doc = _parse(document)
    fragments = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    operation = next(d for d in doc.definitions if isinstance(d, OperationDefinitionNode))
    return _selection_cost(operation.selection_set, fragments, variables or {})


def max_page_size(
    document: str,
    variables: Mapping[str, Any],
    *,
    variable: str = "first",
    max_cost: int = 1000,
    limit: int = 250,
) -> int:
    """Largest value of `variable` (<= limit) keeping the estimated cost <= max_cost.

    Cost is affine in the page size (a + b x first), so two evaluations give the answer.
    Raises ValueError if even a page of one is too expensive.
    """
    base = estimate_query_cost(document, {**variables, variable: 0})
    per_item = estimate_query_cost(document, {**variables, variable: 1}) - base
    if base + per_item > max_cost:
        raise ValueError(
            f"a page of one already costs {base + per_item} > {max_cost}; shrink nested page sizes"
        )
    if per_item <= 0:
        return limit
    return max(1, min(limit, (max_cost - base) // per_item))


def _selection_cost(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            total += _field_cost(selection, fragments, variables)
        elif isinstance(selection, FragmentSpreadNode):
            total += _selection_cost(
                fragments[selection.name.value].selection_set, fragments, variables
            )
        elif isinstance(selection, InlineFragmentNode):
            # Without a schema we cannot tell which type applies; sum is an upper bound.
            total += _selection_cost(selection.selection_set, fragments, variables)
    return total


def _field_cost(
    field: FieldNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> int:
    if field.selection_set is None:
        return 0  # scalar or enum (or a list of them)
    children = [s for s in field.selection_set.selections if isinstance(s, FieldNode)]
    if not any(child.name.value in _CONNECTION_CHILDREN for child in children):
        return 1 + _selection_cost(field.selection_set, fragments, variables)
    size = _page_size_argument(field, variables)
    cost = 2
    for child in children:
        name = child.name.value
        if name == "nodes":
            # Each node is an object: 1 point plus what it selects.
            cost += size * (1 + _selection_cost(child.selection_set, fragments, variables))
        elif name == "edges":
            node = next(
                (
                    c
                    for c in (child.selection_set.selections if child.selection_set else [])
                    if isinstance(c, FieldNode) and c.name.value == "node"
                ),
                None,
            )
            if node is not None:
                cost += size * (1 + _selection_cost(node.selection_set, fragments, variables))
        else:
            cost += _field_cost(child, fragments, variables)  # pageInfo and friends
    return cost


def _page_size_argument(field: FieldNode, variables: Mapping[str, Any]) -> int:
    for argument in field.arguments or ():
        if argument.name.value not in ("first", "last"):
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            resolved = variables.get(value.name.value)
            if isinstance(resolved, int) and not isinstance(resolved, bool):
                return resolved
            raise ValueError(f"variable ${value.name.value} must be an int to estimate cost")
    raise ValueError(f"connection {field.name.value} has no first/last argument")
