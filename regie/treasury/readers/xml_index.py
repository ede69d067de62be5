"""Look-ups by relative path inside one small XML element, built in a single walk.

Reading an entry asks for some thirty paths; lxml's `findtext` compiles and runs an ElementPath
query for each, which made reading large camt files several times slower than parsing them. One
walk per element, guided by a tree of the wanted paths keyed by qualified tag, turns every look-up
into a dict access, and the walk never enters the branches nobody reads (postal addresses,
agents, charges …).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# lxml elements are untyped; the alias only documents intent.
Element = Any
# {qualified tag: (path if wanted else None, the tree below it if walked into else None)}
_Tree = dict[str, tuple[str | None, "_Tree | None"]]


class Paths:
    """The paths (local names joined by '/') a reader will ask an `ElementIndex` for."""

    __slots__ = ("_trees", "wanted")

    def __init__(self, paths: Iterable[str]) -> None:
        self.wanted = frozenset(paths)
        self._trees: dict[str, _Tree] = {}

    def tree(self, namespace: str) -> _Tree:
        """The wanted paths as nested dicts keyed by qualified tag (built once per namespace)."""
        tree = self._trees.get(namespace)
        if tree is None:
            tree = self._trees[namespace] = self._build(namespace)
        return tree

    def _build(self, namespace: str) -> _Tree:
        root: dict[str, Any] = {}
        for path in sorted(self.wanted):
            level = root
            steps = path.split("/")
            for depth, step in enumerate(steps, start=1):
                tag = f"{{{namespace}}}{step}"
                wanted, below = level.get(tag, (None, None))
                if depth == len(steps):
                    wanted = path
                elif below is None:
                    below = {}
                level[tag] = (wanted, below)
                if depth < len(steps):
                    level = below
        return root


class ElementIndex:
    """The descendants of `element` in one namespace that lie on `paths`, by path.

    Elements sharing a path are kept in document order.
    """

    __slots__ = ("_found", "_paths")

    def __init__(self, element: Element, namespace: str, paths: Paths) -> None:
        found: dict[str, list[Element]] = {}
        _collect(element, paths.tree(namespace), found)
        self._found = found
        self._paths = paths

    def all(self, path: str) -> list[Element]:
        found = self._found.get(path)
        if found is not None:
            return found
        if path not in self._paths.wanted:
            raise KeyError(f"{path} is not among the paths this index was built for")
        return []

    def first(self, path: str) -> Element | None:
        found = self._found.get(path)
        if found is not None:
            return found[0]
        if path not in self._paths.wanted:
            raise KeyError(f"{path} is not among the paths this index was built for")
        return None

    def text(self, path: str) -> str | None:
        """The element's text with runs of white space collapsed; None when absent or blank."""
        found = self._found.get(path)
        if found is None:
            if path not in self._paths.wanted:
                raise KeyError(f"{path} is not among the paths this index was built for")
            return None
        text = found[0].text
        if not text:
            return None
        return " ".join(text.split()) or None

    def has(self, path: str) -> bool:
        return bool(self.all(path))


def _collect(element: Element, tree: _Tree, found: dict[str, list[Element]]) -> None:
    # Comments and processing instructions have a non-string tag, which no key equals.
    for child in element:
        step = tree.get(child.tag)
        if step is None:
            continue  # not on a wanted path, or another namespace's extension data
        path, below = step
        if path is not None:
            held = found.get(path)
            if held is None:
                found[path] = [child]
            else:
                held.append(child)
        if below is not None:
            _collect(child, below, found)
