"""Reading scenario YAML safely: no tags, no duplicate keys, bounded size and nesting.

``yaml.SafeLoader`` never runs code, but it accepts documents that hurt later: a
key given twice (the last silently wins), aliases that expand a kilobyte into
billions of values (an "alias bomb"), nesting deep enough to exhaust the stack. Here
the node graph is measured before any Python object is built.
"""

from __future__ import annotations

from typing import Any

import yaml

from sim.errors import ScenarioError

MAX_NODES = 200_000
"""Values in the document with every alias expanded (a full drill holds a few thousand)."""
MAX_DEPTH = 64
"""Mappings and lists inside one another (a scenario needs fewer than ten)."""


class _Loader(yaml.SafeLoader):
    """SafeLoader whose mappings refuse a key given twice."""

    source = "<scenario>"

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = self.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ScenarioError(f"{self.source}: duplicate key {_short(key)} at lines "
                                    f"{seen[key]} and {line}; give each key once")
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                        lambda loader, node: loader.construct_mapping(node))


def load_yaml(text: str, source: str) -> Any:
    """Parse one YAML document; ``ScenarioError`` for a bomb, deep nesting or a duplicate key.

    YAML syntax errors propagate as ``yaml.YAMLError``.
    """
    loader = _Loader(text)
    loader.source = source
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _measure(node, source)
        return loader.construct_document(node)
    except RecursionError:
        raise ScenarioError(f"{source}: YAML nested too deeply (at most {MAX_DEPTH} levels)"
                            ) from None
    finally:
        loader.dispose()


def _measure(root: yaml.Node, source: str) -> None:
    """Refuse a node graph that is too deep, recursive, or too large once aliases expand."""
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    open_nodes: set[int] = set()
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            open_nodes.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            if size[key] > MAX_NODES:
                raise ScenarioError(f"{source}: the document expands to more than "
                                    f"{MAX_NODES:,} values (aliases repeated inside aliases?)")
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise ScenarioError(f"{source}: line {node.start_mark.line + 1}: an alias refers "
                                "to a value that contains it")
        if depth > MAX_DEPTH:
            raise ScenarioError(f"{source}: line {node.start_mark.line + 1}: YAML nested too "
                                f"deeply (at most {MAX_DEPTH} levels)")
        open_nodes.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in children if id(child) not in size)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
