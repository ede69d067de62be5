"""Look-ups by relative path inside one small XML element, built in a single walk.

Reading an entry asks for some thirty paths; lxml's `findtext` compiles and runs an ElementPath
query for each, which made reading large camt files several times slower than parsing them. One
breadth-first walk per element, into a dict, turns every look-up into a dict access, and the walk
skips the branches nobody reads (postal addresses, agents, charges …).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

# lxml elements are untyped; the alias only documents intent.
Element = Any


class Paths:
    """The paths (local names joined by '/') a reader will ask an `ElementIndex` for."""

    __slots__ = ("descend", "wanted")

    def __init__(self, paths: Iterable[str]) -> None:
        self.wanted = frozenset(paths)
        # Every proper prefix of a wanted path leads to one: walk into it.
        self.descend = frozenset(
            "/".join(steps[:end])
            for steps in (path.split("/") for path in self.wanted)
            for end in range(1, len(steps))
        )


class ElementIndex:
    """The descendants of `element` in one namespace that lie on `paths`, by path.

    Elements sharing a path are kept in document order.
    """

    __slots__ = ("_found", "_paths")

    def __init__(self, element: Element, namespace: str, paths: Paths) -> None:
        prefix = f"{{{namespace}}}"
        skip = len(prefix)
        found: dict[str, list[Element]] = {}
        pending: deque[tuple[Element, str]] = deque([(element, "")])
        while pending:
            parent, parent_path = pending.popleft()
            for child in parent:
                tag = child.tag
                if not isinstance(tag, str) or not tag.startswith(prefix):
                    continue  # comments, or another namespace's extension data
                path = parent_path + tag[skip:]
                if path in paths.wanted:
                    found.setdefault(path, []).append(child)
                if path in paths.descend:
                    pending.append((child, path + "/"))
        self._found = found
        self._paths = paths

    def all(self, path: str) -> list[Element]:
        if path not in self._paths.wanted:
            raise KeyError(f"{path} is not among the paths this index was built for")
        return self._found.get(path, [])

    def first(self, path: str) -> Element | None:
        found = self.all(path)
        return found[0] if found else None

    def text(self, path: str) -> str | None:
        """The element's text with runs of white space collapsed; None when absent or blank."""
        found = self.all(path)
        if not found:
            return None
        return " ".join((found[0].text or "").split()) or None

    def has(self, path: str) -> bool:
        return bool(self.all(path))
