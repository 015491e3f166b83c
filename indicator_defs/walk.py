"""Generic traversal of criterion trees (for code-list inventories and checks)."""

from __future__ import annotations

from collections.abc import Iterator

from indicator_defs import model as m


def children(node: object) -> tuple[object, ...]:
    if isinstance(node, (m.AllOf, m.AnyOf)):
        return node.parts
    if isinstance(node, (m.Not, m.AtDeath)):
        return (node.part,)
    if isinstance(node, m.DaysCovered):
        return node.supplies
    if isinstance(node, m.Episodes):
        return (node.anchor, *node.require)
    if isinstance(node, m.Score):
        return tuple(item.when for item in node.items)
    return ()


def iter_nodes(node: object) -> Iterator[object]:
    yield node
    for child in children(node):
        yield from iter_nodes(child)


def roots(indicator: m.Indicator) -> tuple[object, ...]:
    nodes: list[object] = [indicator.population]
    for extra in (indicator.numerator, indicator.numerator_events, indicator.denominator_events):
        if extra is not None:
            nodes.append(extra)
    return tuple(nodes)


def codelists_used(indicator: m.Indicator) -> set[str]:
    names: set[str] = set()
    for root in roots(indicator):
        for node in iter_nodes(root):
            for cl in getattr(node, "codelists", ()):
                names.add(cl.name)
    return names
