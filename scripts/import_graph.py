"""Print which parts of the backend import which (one line per part), for docs/layout.md.

.venv/bin/python -m scripts.import_graph

A part is a package or module directly under backend/ (or `sync`). `lint-imports` (in
`make lint`) enforces the floors; this only draws them.
"""

from __future__ import annotations

from collections import defaultdict

import grimp


def part(module: str) -> str:
    names = module.split(".")
    return ".".join(names[:2]) if names[0] == "backend" else names[0]


def edges() -> dict[str, set[str]]:
    graph = grimp.build_graph("backend", "sync", cache_dir=None)
    found: defaultdict[str, set[str]] = defaultdict(set)
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if part(module) != part(imported):
                found[part(module)].add(part(imported))
    return found


def main() -> None:
    for source, targets in sorted(edges().items()):
        names = sorted(t.removeprefix("backend.") for t in targets)
        print(f"{source.removeprefix('backend.'):10} -> {', '.join(names)}")


if __name__ == "__main__":
    main()
