"""Structure of the Grafana dashboard JSON: what Grafana would otherwise only show as a broken panel.

Grafana cannot run here (no package from an allowed registry ships it), so the dashboard is checked
as data against the rules of Grafana's own code: the layout grid, datasource references, and the
frames the node-graph panel needs (grafana public/app/plugins/panel/nodeGraph/utils.ts: an edges frame
needs ``id``, ``source`` and ``target``; with a nodes frame every edge must name one of its nodes,
without one Grafana builds the nodes from the edges).
"""

from __future__ import annotations

import re
from itertools import combinations
from typing import Any

from otel_worklog._internal import semconv as sc

from . import stackfiles as sf

GRID_COLUMNS = 24


def _panels() -> list[dict[str, Any]]:
    panels: list[dict[str, Any]] = sf.load_dashboard()["panels"]
    return panels


def test_panels_fit_the_grid_without_overlapping() -> None:
    cells = {}
    for panel in _panels():
        grid = panel["gridPos"]
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] >= 0 and grid["y"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= GRID_COLUMNS, panel["title"]
        cells[panel["title"]] = {
            (x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])
        }
    for (first, a), (second, b) in combinations(cells.items(), 2):
        assert not a & b, f"{first!r} overlaps {second!r}"


def test_every_query_names_a_provisioned_datasource_of_its_type() -> None:
    types = {source["uid"]: source["type"] for source in sf.load_yaml(sf.DATASOURCES)["datasources"]}
    for panel in _panels():
        assert types[panel["datasource"]["uid"]] == panel["datasource"]["type"], panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert types[target["datasource"]["uid"]] == target["datasource"]["type"], panel["title"]
            assert target.get("expr") or target.get("query"), panel["title"]
    variable = sf.load_dashboard()["templating"]["list"][0]
    assert types[variable["datasource"]["uid"]] == variable["datasource"]["type"]


def test_handoff_node_graph_is_built_from_edges_only() -> None:
    """One edges query: a separate nodes query throws when a handoff names a bot it does not list."""
    (panel,) = [p for p in _panels() if p["type"] == "nodeGraph"]
    (target,) = panel["targets"]
    assert target["format"] == "table" and target["instant"] is True
    # The edge id: label_join of the two handoff labels into "id".
    source_label = sc.prometheus_label(sc.WORKLOG_HANDOFF_FROM)
    target_label = sc.prometheus_label(sc.WORKLOG_HANDOFF_TO)
    joined = re.search(r'label_join\(.*,\s*"id",\s*"[^"]*",\s*"(\w+)",\s*"(\w+)"\)\s*$', target["expr"], re.S)
    assert joined and joined.groups() == (source_label, target_label)
    # Table columns -> node-graph edge fields.
    (organize,) = panel["transformations"]
    renames = organize["options"]["renameByName"]
    assert renames[source_label] == "source" and renames[target_label] == "target"
    assert {renames.get("Value"), renames.get(f"Value #{target['refId']}")} == {"mainstat"}
    assert not set(renames.values()) - {"source", "target", "mainstat"}, "no nodes-frame field is produced"
