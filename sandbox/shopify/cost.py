"""Shopify's calculated query cost and the leaky bucket that spends it.

Cost rules (Shopify's published model):
* scalars and enums cost 0; an object field costs 1 plus its selection, a mutation 10;
* a plain list of objects costs like one object (taxLines, refunds(first:));
* a connection costs 2 + (first or last) x the cost of one node with its selection, so
  nested connections multiply; `edges`/`pageInfo` wrappers themselves are free.

The requested cost is computed from the document and variables before anything runs; the
actual cost walks the response with the same plan and counts what came back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
)

OBJECT, LIST, CONNECTION = 0, 1, 2
MUTATION_COST = 10


@dataclass
class CostField:
    """A non-leaf field of the query plan (leaves cost nothing and are left out)."""

    key: str  # response key (alias or name)
    kind: int
    children: list[CostField] = field(default_factory=list)
    page_size: int = 0  # CONNECTION: the first/last argument
    # CONNECTION: where the nodes sit under the connection value, e.g. ("nodes",) or
    # ("edges", "node"), each with the plan of one node.
    node_paths: list[tuple[tuple[str, ...], list[CostField]]] = field(default_factory=list)
    base: int = 1  # what the field itself costs: 1 for an object, 10 for a mutation


def _requested(fields: Sequence[CostField]) -> int:
    total = 0
    for f in fields:
        if f.kind == CONNECTION:
            per_node = sum(1 + _requested(children) for _, children in f.node_paths)
            total += 2 + f.page_size * per_node
        else:
            total += f.base + _requested(f.children)
    return total


def _actual(fields: Sequence[CostField], value: Any) -> int:
    if not isinstance(value, dict):
        return 0
    total = 0
    for f in fields:
        item = value.get(f.key)
        if item is None:
            continue
        if f.kind == OBJECT:
            total += f.base + _actual(f.children, item)
        elif f.kind == LIST:
            total += f.base + max((_actual(f.children, element) for element in item), default=0)
        else:
            total += 2
            for path, children in f.node_paths:
                for node in _nodes_at(item, path):
                    total += 1 + _actual(children, node)
    return total


def _nodes_at(value: Any, path: tuple[str, ...]) -> list[Any]:
    if path == ("nodes",):
        return value.get(path[0]) or []
    edges = value.get(path[0]) or []
    return [edge.get(path[1]) for edge in edges if isinstance(edge, dict) and edge.get(path[1])]


@dataclass
class CostPlan:
    """The cost-relevant shape of one operation, ready to price requests and responses."""

    fields: list[CostField]

    def requested(self) -> int:
        """Cost before execution, from page sizes as requested."""
        return _requested(self.fields)

    def actual(self, data: dict[str, Any] | None) -> int:
        """Cost of what was returned (nodes actually present)."""
        return _actual(self.fields, data) if data else 0


class _Planner:
    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any]
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def value(self, node: ValueNode | None) -> Any:
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, BooleanValueNode):
            return node.value
        return None

    def included(self, node: FieldNode | FragmentSpreadNode | InlineFragmentNode) -> bool:
        for directive in node.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                continue
            cond = next((a.value for a in directive.arguments if a.name.value == "if"), None)
            flag = bool(self.value(cond))
            if (name == "skip" and flag) or (name == "include" and not flag):
                return False
        return True

    def collect(
        self,
        selection_sets: list[SelectionSetNode],
        parent: GraphQLObjectType,
        out: dict[str, tuple[list[FieldNode], Any]] | None = None,
    ) -> dict[str, tuple[list[FieldNode], Any]]:
        """Group field nodes by response key across fragments, like graphql's collect."""
        out = {} if out is None else out
        for selection_set in selection_sets:
            for sel in selection_set.selections:
                if not self.included(sel):
                    continue
                if isinstance(sel, FieldNode):
                    key = sel.alias.value if sel.alias else sel.name.value
                    out.setdefault(key, ([], parent))[0].append(sel)
                elif isinstance(sel, InlineFragmentNode):
                    cond = sel.type_condition
                    target = self.schema.get_type(cond.name.value) if cond else parent
                    self.collect([sel.selection_set], target or parent, out)
                elif isinstance(sel, FragmentSpreadNode):
                    fragment = self.fragments.get(sel.name.value)
                    if fragment is not None:
                        target = self.schema.get_type(fragment.type_condition.name.value)
                        self.collect([fragment.selection_set], target or parent, out)
        return out

    def plan(self, selection_sets: list[SelectionSetNode], parent: Any) -> list[CostField]:
        fields: list[CostField] = []
        for key, (nodes, owner) in self.collect(selection_sets, parent).items():
            name = nodes[0].name.value
            owner_fields = getattr(owner, "fields", {})
            if name.startswith("__") or name not in owner_fields:
                continue
            field_type = owner_fields[name].type
            named = get_named_type(field_type)
            if is_leaf_type(named):
                continue
            subsets = [n.selection_set for n in nodes if n.selection_set]
            if named.name.endswith("Connection") and "nodes" in named.fields:
                fields.append(self.connection(key, nodes[0], subsets, named))
                continue
            kind = LIST if _is_list(field_type) else OBJECT
            fields.append(CostField(key, kind, self.plan(subsets, named)))
        return fields

    def connection(
        self, key: str, node: FieldNode, subsets: list[SelectionSetNode], conn: Any
    ) -> CostField:
        args = {a.name.value: self.value(a.value) for a in node.arguments or ()}
        size = args.get("first") if args.get("first") is not None else args.get("last")
        page_size = size if isinstance(size, int) and size > 0 else 0
        node_type = get_named_type(conn.fields["nodes"].type)
        edge_type = get_named_type(conn.fields["edges"].type)
        paths: list[tuple[tuple[str, ...], list[CostField]]] = []
        for sub_key, (sub_nodes, _) in self.collect(subsets, conn).items():
            sub_sets = [n.selection_set for n in sub_nodes if n.selection_set]
            if sub_nodes[0].name.value == "nodes":
                paths.append(((sub_key,), self.plan(sub_sets, node_type)))
            elif sub_nodes[0].name.value == "edges":
                for edge_key, (edge_nodes, _) in self.collect(sub_sets, edge_type).items():
                    if edge_nodes[0].name.value == "node":
                        node_sets = [n.selection_set for n in edge_nodes if n.selection_set]
                        paths.append(((sub_key, edge_key), self.plan(node_sets, node_type)))
        return CostField(key, CONNECTION, page_size=page_size, node_paths=paths)


def _is_list(field_type: Any) -> bool:
    if is_non_null_type(field_type):
        field_type = field_type.of_type
    return is_list_type(field_type)


def plan_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> CostPlan:
    """Cost plan of the operation that would run (validated documents only)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [op for op in operations if op.name and op.name.value == operation_name]
    if not operations:
        return CostPlan([])
    operation = operations[0]
    values = dict(variables or {})
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in values and definition.default_value is not None:
            values[name] = _Planner(schema, document, {}).value(definition.default_value)
    planner = _Planner(schema, document, values)
    is_query = operation.operation.value == "query"
    root = schema.query_type if is_query else schema.mutation_type
    if root is None:
        return CostPlan([])
    fields = planner.plan([operation.selection_set], root)
    if not is_query:
        for f in fields:  # Shopify charges 10 points per mutation field
            f.base = MUTATION_COST
    return CostPlan(fields)


class LeakyBucket:
    """Shopify's cost bucket: spend the requested cost, refund the unused part, refill at
    `restore_rate` points per second up to `maximum`. Disabled, it never runs dry."""

    def __init__(
        self,
        maximum: float,
        restore_rate: float,
        clock: Callable[[], float],
        enabled: bool = True,
    ) -> None:
        self.maximum = float(maximum)
        self.restore_rate = float(restore_rate)
        self.clock = clock
        self.enabled = enabled
        self._available = self.maximum
        self._at = clock()

    def _refill(self) -> None:
        now = self.clock()
        elapsed = max(0.0, now - self._at)
        self._available = min(self.maximum, self._available + elapsed * self.restore_rate)
        self._at = now

    @property
    def available(self) -> float:
        if not self.enabled:
            return self.maximum
        self._refill()
        return self._available

    def try_spend(self, cost: float) -> bool:
        """Take `cost` points if they are there; False (and nothing taken) if not."""
        if not self.enabled:
            return True
        self._refill()
        if cost > self._available:
            return False
        self._available -= cost
        return True

    def give_back(self, points: float) -> None:
        """Return points charged up front but not used (requested minus actual)."""
        if self.enabled and points > 0:
            self._refill()
            self._available = min(self.maximum, self._available + points)

    def drain(self, points: float | None = None) -> None:
        """Empty the bucket (or take `points`), for tests of throttling."""
        self._refill()
        self._available = 0.0 if points is None else max(0.0, self._available - points)

    def reset(self) -> None:
        self._available = self.maximum
        self._at = self.clock()

    def status(self) -> dict[str, Any]:
        """throttleStatus as Shopify reports it (floats for limits, int for available)."""
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": int(self.available),
            "restoreRate": self.restore_rate,
        }
