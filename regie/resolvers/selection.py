"""What a GraphQL document asks for below a field, so a root resolver loads only that, in bulk."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from strawberry.types import Info
from strawberry.types.nodes import SelectedField, Selection


def _fields(selections: Iterable[Selection], name: str) -> list[SelectedField]:
    """The fields called ``name`` among ``selections``, looking inside fragments."""
    found: list[SelectedField] = []
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == name:
                found.append(selection)
        else:
            found += _fields(selection.selections, name)
    return found


def selects(info: Info, path: Sequence[str]) -> bool:
    """Whether the document selects ``path`` (GraphQL field names) below the field being resolved."""
    # The field being resolved, once per occurrence in the document (never a fragment).
    level = [field for field in info.selected_fields if isinstance(field, SelectedField)]
    for name in path:
        level = [found for field in level for found in _fields(field.selections, name)]
        if not level:
            return False
    return True
