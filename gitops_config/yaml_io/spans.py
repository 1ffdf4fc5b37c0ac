"""Where each scalar of a YAML text is: the character range of every key and value.

The rendering of a secret-bearing file (render.py, taint.py) knows which
characters of its text came from a secret; this says which node each of them
belongs to. Offsets count characters of the text, as Python slices do.
"""

from __future__ import annotations

from typing import Any
from typing import NamedTuple

import yaml

from gitops_config.model import NodePath
from gitops_config.yaml_io.libyaml import CParser


class Scalar(NamedTuple):
    doc: int  # which document of the stream
    path: NodePath  # as yaml_io.load builds it: mapping keys, sequence indices
    slots: tuple[int, ...]  # the same by position: the n-th entry or item at each level
    start: int
    end: int
    key: bool  # a mapping key, not a value
    decorated: bool  # carries a tag or an anchor of its own


class Layout(NamedTuple):
    scalars: list[Scalar]  # in text order
    anchored: dict[str, tuple[int, int]]  # anchor -> the range of the node it names
    aliases: list[tuple[str, int]]  # every alias: its anchor and where it is
    merges: bool  # a merge key (<<) moves values to paths the text does not show


def _at(mark: Any) -> int:
    return int(mark.index)


def layout(text: str) -> Layout:
    """Every scalar of TEXT with its range (the text must parse: load it first)."""
    found = Layout([], {}, [], False)
    parser = CParser(str.__str__(text))  # libyaml takes str itself, not a subclass
    get = parser.get_event
    try:
        get()  # the stream's start
        doc = 0
        while type(get()) is not yaml.StreamEndEvent:  # a document's start
            merges = _node(get, get(), found, doc, (), ())
            found = found._replace(merges=found.merges or merges)
            get()  # the document's end
            doc += 1
    finally:
        parser.dispose()
    return found


def _node(
    get: Any, event: Any, found: Layout, doc: int, path: NodePath, slots: tuple[int, ...]
) -> bool:
    """Record EVENT's node (and everything inside it); whether it holds a merge key."""
    kind = type(event)
    anchor = getattr(event, 'anchor', None)
    if kind is yaml.AliasEvent:
        found.aliases.append((event.anchor, _at(event.start_mark)))
        return False
    if kind is yaml.ScalarEvent:
        found.scalars.append(
            Scalar(
                doc,
                path,
                slots,
                _at(event.start_mark),
                _at(event.end_mark),
                False,
                anchor is not None or event.tag is not None,
            )
        )
        if anchor is not None:
            found.anchored[anchor] = (_at(event.start_mark), _at(event.end_mark))
        return False
    merges = False
    if kind is yaml.SequenceStartEvent:
        item, i = get(), 0
        while type(item) is not yaml.SequenceEndEvent:
            merges = _node(get, item, found, doc, (*path, i), (*slots, i)) or merges
            item, i = get(), i + 1
        end = _at(item.end_mark)
    else:
        key, i = get(), 0
        while type(key) is not yaml.MappingEndEvent:
            if type(key) is not yaml.ScalarEvent:  # the loader refuses these first
                raise ValueError('a mapping key must be a scalar')
            found.scalars.append(
                Scalar(
                    doc,
                    (*path, key.value),
                    (*slots, i),
                    _at(key.start_mark),
                    _at(key.end_mark),
                    True,
                    key.anchor is not None or key.tag is not None,
                )
            )
            merges = merges or (key.value == '<<' and key.tag is None and key.implicit[0])
            merges = _node(get, get(), found, doc, (*path, key.value), (*slots, i)) or merges
            key, i = get(), i + 1
        end = _at(key.end_mark)
    if anchor is not None:
        found.anchored[anchor] = (_at(event.start_mark), end)
    return merges
