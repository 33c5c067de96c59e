"""The dataflow graph a pipeline last defined (``<state_dir>/graph.json``) as a text tree, DOT,
Mermaid or JSON: datasets with their kind, upstream sources outside the pipeline, and one edge per
input of each flow (labelled with the flow when it is not the dataset's own flow)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.tree import Tree

from palindrom.runtime.graph import is_internal

KIND_LABELS = {"streaming_table": "streaming table", "materialized_view": "materialized view",
               "view": "view", "sink": "sink", "table": "table", "source": "source"}


@dataclass
class Node:
    name: str
    kind: str
    expectations: list[dict[str, str]] = field(default_factory=list)
    source: str = ""


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    flow: str


@dataclass
class Graph:
    pipeline: str
    database: str
    nodes: dict[str, Node]
    edges: list[Edge]


def build(pipeline: str, database: str, data: dict[str, Any]) -> Graph:
    outputs: dict[str, str] = data.get("outputs", {})
    flows: dict[str, dict[str, Any]] = data.get("flows", {})
    nodes = {name: Node(name, kind) for name, kind in outputs.items() if not is_internal(name)}
    feeds: dict[str, list[str]] = {}  # internal datasets -> what they read
    for flow in flows.values():
        if is_internal(flow["target"]):
            feeds.setdefault(flow["target"], []).extend([*flow.get("inputs", []), *flow.get("sources", [])])

    def visible(name: str, seen: frozenset[str] = frozenset()) -> list[str]:
        if not is_internal(name):
            return [name]
        if name in seen:
            return []
        return [v for parent in feeds.get(name, []) for v in visible(parent, seen | {name})]

    edges: list[Edge] = []
    for name, flow in flows.items():
        target = flow["target"]
        if is_internal(target) or (is_internal(name) and target not in nodes):
            continue
        node = nodes.setdefault(target, Node(target, outputs.get(target, "table")))
        node.expectations.extend(flow.get("expectations", []))
        node.source = node.source or str(flow.get("source") or "")
        inputs = [*flow.get("inputs", []), *flow.get("sources", []), *([flow["feed"]] if flow.get("feed") else [])]
        for upstream in dict.fromkeys(v for i in inputs for v in visible(i)):
            nodes.setdefault(upstream, Node(upstream, "source"))
            edge = Edge(upstream, target, "" if name == target or is_internal(name) else name)
            if edge not in edges:
                edges.append(edge)
    return Graph(pipeline, database, nodes, edges)


def _label(node: Node) -> str:
    return KIND_LABELS.get(node.kind, node.kind.replace("_", " "))


def _rules(node: Node) -> str:
    return ", ".join(f"{e['name']} ({e['action']})" for e in node.expectations)


def text(graph: Graph) -> str:
    """Roots first (sources and datasets that read nothing in the pipeline), each dataset under
    what it reads; a dataset read from several parents is expanded once and referred to after."""
    children: dict[str, list[Edge]] = {}
    parents: dict[str, int] = {}
    for edge in graph.edges:
        children.setdefault(edge.source, []).append(edge)
        parents[edge.target] = parents.get(edge.target, 0) + 1
    shown: set[str] = set()

    def line(name: str, flow: str) -> str:
        node = graph.nodes[name]
        rules = f"  expectations: {_rules(node)}" if node.expectations and name not in shown else ""
        via = f"  via flow {flow}" if flow else ""
        again = "  (see above)" if name in shown and children.get(name) else ""
        return f"{name}  [{_label(node)}]{via}{rules}{again}"

    def grow(tree: Tree, name: str) -> None:
        first = name not in shown
        shown.add(name)
        if not first:
            return
        for edge in sorted(children.get(name, []), key=lambda e: e.target):
            branch = tree.add(line(edge.target, edge.flow))
            grow(branch, edge.target)

    header = (f"Pipeline '{graph.pipeline}' (schema {graph.database}): "
              f"{sum(n.kind != 'source' for n in graph.nodes.values())} datasets, {len(graph.edges)} edges")
    out = io.StringIO()
    console = Console(file=out, width=1000, color_system=None, highlight=False, emoji=False)
    console.print(header, markup=False)
    roots = sorted(name for name in graph.nodes if not parents.get(name))
    for name in roots:
        tree = Tree(line(name, ""), guide_style="")
        grow(tree, name)
        console.print(tree, markup=False)
    for name in sorted(set(graph.nodes) - shown):  # in a cycle: never reached from a root
        tree = Tree(line(name, ""))
        grow(tree, name)
        console.print(tree, markup=False)
    return out.getvalue().rstrip("\n")


def _quote(value: str) -> str:
    return json.dumps(value)  # DOT strings take the same escapes as JSON for quotes and backslashes


def dot(graph: Graph) -> str:
    shapes = {"source": "cylinder", "view": "ellipse", "sink": "cds"}
    lines = [f"digraph {_quote(graph.pipeline)} {{", "  rankdir=LR;", "  node [shape=box];"]
    for node in sorted(graph.nodes.values(), key=lambda n: n.name):
        lines.append(f"  {_quote(node.name)} [label={_quote(node.name + chr(10) + _label(node))}, "
                     f"shape={shapes.get(node.kind, 'box')}];")
    for edge in graph.edges:
        label = f" [label={_quote(edge.flow)}]" if edge.flow else ""
        lines.append(f"  {_quote(edge.source)} -> {_quote(edge.target)}{label};")
    lines.append("}")
    return "\n".join(lines)


def mermaid(graph: Graph) -> str:
    ids = {name: f"n{i}" for i, name in enumerate(sorted(graph.nodes))}
    shapes = {"source": ('[("', '")]'), "view": ('("', '")'), "sink": ('>"', '"]')}
    lines = ["flowchart LR"]
    for name in sorted(graph.nodes):
        node = graph.nodes[name]
        left, right = shapes.get(node.kind, ('["', '"]'))
        label = f"{name}<br/>{_label(node)}".replace('"', "#quot;")
        lines.append(f"  {ids[name]}{left}{label}{right}")
    for edge in graph.edges:
        arrow = f' -->|"{edge.flow}"| ' if edge.flow else " --> "
        lines.append(f"  {ids[edge.source]}{arrow}{ids[edge.target]}")
    return "\n".join(lines)


def as_json(graph: Graph) -> str:
    return json.dumps({
        "pipeline": graph.pipeline, "database": graph.database,
        "nodes": [{"name": n.name, "kind": n.kind, "expectations": n.expectations, "source": n.source}
                  for n in sorted(graph.nodes.values(), key=lambda n: n.name)],
        "edges": [{"from": e.source, "to": e.target, "flow": e.flow or None} for e in graph.edges],
    }, indent=2)


FORMATS = {"text": text, "dot": dot, "mermaid": mermaid, "json": as_json}
