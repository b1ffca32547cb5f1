"""Small-cell suppression of a table of counts (GBVIMS data-sharing practice): no count small
enough to identify a survivor in a small commune is published, and none can be worked out
from the figures published beside it.

A table is rows (a total row and one row per group) of named count cells. The figures
shown beside a cell are tied to it by sums:
- every column: the total row's cell is the sum of the groups' cells;
- a *breakdown* within each row: e.g. `declined` is the sum of the declines by reason.

Primary suppression hides every count from 1 to `min_cell - 1`. Complementary suppression
then hides more cells until no hidden cell is *determined* by the sums and the shown cells:
- a column without a breakdown is one equation: a hidden cell is determined when it is
  the only one hidden in it;
- a breakdown and its columns form a two-way table with margins. Each of its cells is in
  exactly two equations (its row's, its column's), so the table is a graph whose nodes are
  the equations and whose edges are the hidden cells; a hidden cell is determined exactly
  when its edge is a bridge (on no cycle), since only around a cycle can values move
  while every equation still holds.

The total row is suppressed on its own figures alone, before and whatever the grouping,
so every table of the same referrals hides the same totals (one table's total cannot
reveal another's). Complementary cells are chosen among the groups' cells, smallest first.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

SMALL = "small"  # hidden because 1 <= count < min_cell
WITHHELD = "withheld"  # hidden so that a small count beside it cannot be worked out

TOTAL = -1  # the total row's index


@dataclass(frozen=True)
class Breakdown:
    """`whole` is the sum of `parts` in every row."""

    whole: str
    parts: tuple[str, ...]

    @property
    def cells(self) -> tuple[str, ...]:
        return (self.whole, *self.parts)


Cell = tuple[int, str]  # (row index or TOTAL, cell name)


def suppress(total: Mapping[str, int], groups: Sequence[Mapping[str, int]], min_cell: int,
             breakdowns: Iterable[Breakdown] = ()) -> dict[Cell, str]:
    """The hidden cells of the table, each SMALL or WITHHELD; every other cell is shown."""
    breakdowns = tuple(breakdowns)
    values: dict[Cell, int] = {(TOTAL, name): value for name, value in total.items()}
    for i, row in enumerate(groups):
        values.update(((i, name), value) for name, value in row.items())
    hidden = {cell: SMALL for cell, value in values.items() if 0 < value < min_cell}
    names = tuple(total)
    # The total row alone, as if it had no groups: only its breakdowns tie its cells.
    _complete(values, hidden, [TOTAL], names, breakdowns, with_columns=False)
    if groups:
        _complete(values, hidden, list(range(len(groups))), names, breakdowns, with_columns=True)
    return hidden


def _complete(values, hidden, rows: list[int], names, breakdowns, with_columns: bool) -> None:
    """Hide cells of `rows` until no hidden cell is determined."""
    in_breakdown = {name for b in breakdowns for name in b.cells}
    while True:
        exposed = []
        if with_columns:
            for b in breakdowns:
                exposed += _bridges(hidden, [TOTAL, *rows], b)
            lines = [[(r, name) for r in (TOTAL, *rows)] for name in names if name not in in_breakdown]
        else:
            lines = [[(r, name) for name in b.cells] for b in breakdowns for r in rows]
        for line in lines:  # one equation: determined when hidden alone in it
            alone = [c for c in line if c in hidden]
            if len(alone) == 1:
                exposed.append(alone[0])
        for cell in exposed:
            partner = _partner(values, hidden, cell, rows, breakdowns, with_columns)
            if partner is not None:
                hidden[partner] = WITHHELD
                break
        else:
            return  # nothing determined, or nothing left to hide


def _partner(values, hidden, cell: Cell, rows, breakdowns, with_columns) -> Cell | None:
    """A shown cell of `rows` whose hiding puts `cell` on a cycle (or beside another hidden
    cell in its column): in its column first, else in its row's breakdown; the smallest
    count, zero last."""
    row, name = cell
    candidates = []
    if with_columns:
        candidates += [(r, name) for r in rows if r != row]
    for b in breakdowns:
        if name in b.cells and row in rows:
            candidates += [(row, other) for other in b.cells if other != name]
    shown = [c for c in candidates if c not in hidden and c in values]
    if not shown:
        return None
    return min(shown, key=lambda c: (values[c] == 0, values[c], c[0], c[1]))


def _bridges(hidden, rows: list[int], breakdown: Breakdown) -> list[Cell]:
    """Hidden cells of the breakdown's two-way table (rows x its cells) that the equations
    determine: each is an edge between its row's equation and its column's."""
    edges = [(("row", r), ("column", name), (r, name))
             for r in rows for name in breakdown.cells if (r, name) in hidden]
    return [edges[i][2] for i in _bridge_edges(edges)]


def _bridge_edges(edges) -> list[int]:
    """Indices of the bridges of a multigraph given as (node, node, label) edges (Tarjan's
    algorithm, iterative: a table of a thousand communes must not exhaust the stack)."""
    adjacency: dict[object, list[tuple[object, int]]] = {}
    for i, (a, b, _) in enumerate(edges):
        adjacency.setdefault(a, []).append((b, i))
        adjacency.setdefault(b, []).append((a, i))
    order: dict[object, int] = {}
    low: dict[object, int] = {}
    bridges = []
    counter = 0
    for start in adjacency:
        if start in order:
            continue
        order[start] = low[start] = counter
        counter += 1
        stack = [(start, -1, iter(adjacency[start]))]
        while stack:
            node, via, neighbours = stack[-1]
            advanced = False
            for neighbour, edge in neighbours:
                if edge == via:
                    continue
                if neighbour in order:
                    low[node] = min(low[node], order[neighbour])
                else:
                    order[neighbour] = low[neighbour] = counter
                    counter += 1
                    stack.append((neighbour, edge, iter(adjacency[neighbour])))
                    advanced = True
                    break
            if not advanced:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > order[parent]:
                        bridges.append(via)
    return bridges


__all__ = ["Breakdown", "SMALL", "TOTAL", "WITHHELD", "suppress"]
