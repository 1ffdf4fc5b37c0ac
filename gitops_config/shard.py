"""`--shard I/N`: a deterministic 1/N of the work, for CI matrix jobs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from gitops_config.errors import UsageError

T = TypeVar('T')


@dataclass(frozen=True, slots=True)
class Shard:
    index: int  # 1-based, as CI matrices count
    total: int

    def take(self, items: Sequence[T]) -> list[T]:
        """Every N-th item, starting at I: balanced, and the same on every runner
        given the same (sorted) items."""
        return list(items[self.index - 1 :: self.total])

    def __str__(self) -> str:
        return f'{self.index}/{self.total}'

    def as_data(self) -> dict[str, int]:
        """What a shard's JSON report says of it, for `report merge`."""
        return {'index': self.index, 'total': self.total}


def parse(text: str) -> Shard:
    m = re.fullmatch(r'\s*(\d+)\s*/\s*(\d+)\s*', text)
    if m is None:
        raise UsageError(f'invalid shard {text!r}', hint='write I/N, for example 2/4')
    index, total = int(m.group(1)), int(m.group(2))
    if total < 1 or not 1 <= index <= total:
        raise UsageError(
            f'invalid shard {text!r}: I must be between 1 and N',
            hint=f'shards of {max(total, 1)} are 1/{max(total, 1)} to '
            f'{max(total, 1)}/{max(total, 1)}',
        )
    return Shard(index, total)


def shard_layers(shard: Shard | None) -> tuple[str, ...] | None:
    """Which value layers a shard checks: all (None) for shard 1 or no shard, none for
    the others, so that each layer is checked, and reported, once."""
    return None if shard is None or shard.index == 1 else ()
