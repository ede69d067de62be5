"""Look-ups by relative path inside one small XML element, built in a single walk.

Reading an entry asks for some thirty paths; lxml's `findtext` compiles and runs an ElementPath
query for each, which made reading large camt files several times slower than parsing them. One
walk per element, guided by a tree of the wanted paths keyed by qualified tag, finds every wanted
element at once, and the walk never enters the branches nobody reads (postal addresses, agents,
charges …).

Each wanted path has a slot, a small integer handed out by `Paths.add`; a walk fills a list
indexed by slot. The entry reader, which runs once per entry of files of 100,000 entries, calls
`collect_into` itself, with the tree `Paths.tree` looked up once per file, and reads that list
directly; `ElementIndex` offers the same look-ups by path for the rarer elements.

The walk is close to what lxml allows from Python: most of its time goes to lxml making a Python
object and a "{namespace}name" string for each element visited, which only fewer visits would save.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# lxml elements are untyped; the alias only documents intent.
Element = Any
# {qualified tag: (slot if the path ending here is wanted else None, the tree below it if walked
# into else None)}
_Tree = dict[str, tuple[int | None, "_Tree | None"]]
PathTree = _Tree  # what `Paths.tree` returns, for `collect_into`


class Paths:
    """The paths (local names joined by '/') a reader reads below an element, each in a slot."""

    __slots__ = ("_slots", "_trees")

    def __init__(self, paths: Iterable[str] = ()) -> None:
        self._slots: dict[str, int] = {}
        self._trees: dict[str, _Tree] = {}
        for path in paths:
            self.add(path)

    def add(self, path: str) -> int:
        """Declare `path` and return its slot."""
        if self._trees:
            raise RuntimeError("paths cannot be added once they have been walked")
        if path in self._slots:
            raise ValueError(f"{path} is declared twice")
        slot = self._slots[path] = len(self._slots)
        return slot

    def slot(self, path: str) -> int:
        try:
            return self._slots[path]
        except KeyError:
            raise KeyError(f"{path} is not among the paths declared here") from None

    @property
    def size(self) -> int:
        """How many slots: the length of the `first` list `collect_into` fills."""
        return len(self._slots)

    def collect(self, element: Element, namespace: str) -> Found:
        """The descendants of `element` in `namespace` that lie on the declared paths."""
        found = Found(len(self._slots))
        collect_into(element, self.tree(namespace), found.first, found.later)
        return found

    def tree(self, namespace: str) -> _Tree:
        """The walk's guide for `namespace` ("" for elements in no namespace), for a reader that
        calls `collect_into` itself (once per file, not once per element)."""
        tree = self._trees.get(namespace)
        if tree is None:
            tree = self._trees[namespace] = self._build(namespace)
        return tree

    def _build(self, namespace: str) -> _Tree:
        root: _Tree = {}
        for path, slot in self._slots.items():
            level = root
            steps = path.split("/")
            for depth, step in enumerate(steps, start=1):
                tag = f"{{{namespace}}}{step}" if namespace else step  # "": no namespace
                wanted, below = level.get(tag, (None, None))
                if depth == len(steps):
                    level[tag] = (slot, below)
                else:
                    if below is None:
                        below = {}
                    level[tag] = (wanted, below)
                    level = below
        return root


class Found:
    """What one walk found: by slot, the first element on the path in document order (or None);
    the later ones, rarely any, are kept aside in document order."""

    __slots__ = ("first", "later")

    def __init__(self, size: int) -> None:
        self.first: list[Element | None] = [None] * size
        self.later: list[tuple[int, Element]] = []

    def all(self, slot: int) -> list[Element]:
        """Every element on the slot's path, in document order."""
        first = self.first[slot]
        if first is None:
            return []
        if not self.later:
            return [first]
        return [first, *(element for held, element in self.later if held == slot)]


def text(element: Element | None) -> str | None:
    """The element's text with runs of white space collapsed; None when absent or blank."""
    # `collapse` written out again: this runs some twenty times per camt entry.
    if element is None:
        return None
    value = element.text
    if not value:
        return None
    return " ".join(value.split()) or None


def collapse(value: str | None) -> str | None:
    """`value` with runs of white space collapsed; None when None or blank."""
    if not value:
        return None
    return " ".join(value.split()) or None


class ElementIndex:
    """The descendants of `element` in one namespace that lie on `paths`, by path."""

    __slots__ = ("_found", "_paths")

    def __init__(self, element: Element, namespace: str, paths: Paths) -> None:
        self._found = paths.collect(element, namespace)
        self._paths = paths

    def all(self, path: str) -> list[Element]:
        return self._found.all(self._paths.slot(path))

    def first(self, path: str) -> Element | None:
        return self._found.first[self._paths.slot(path)]

    def text(self, path: str) -> str | None:
        """The element's text with runs of white space collapsed; None when absent or blank."""
        return text(self.first(path))

    def has(self, path: str) -> bool:
        return self.first(path) is not None


def collect_into(
    element: Element, tree: _Tree, first: list[Element | None], later: list[tuple[int, Element]]
) -> None:
    """Fill `first` (one item per slot, None where nothing was found yet) and `later` with the
    descendants of `element` on the paths of `tree` (`Paths.tree`), as `Paths.collect` does."""
    # Comments and processing instructions have a non-string tag, which no key equals. A slice
    # builds the list of children in one call, a good deal cheaper than lxml's child iterator.
    for child in element[:]:
        step = tree.get(child.tag)
        if step is None:
            continue  # not on a wanted path, or another namespace's extension data
        slot, below = step
        if slot is not None:
            if first[slot] is None:
                first[slot] = child
            else:
                later.append((slot, child))
        if below is not None:
            collect_into(child, below, first, later)
