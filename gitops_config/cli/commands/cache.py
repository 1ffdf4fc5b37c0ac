"""`gitops-config cache`: where the cache is, how big, and clearing it."""

from __future__ import annotations

import click

from gitops_config.cli import exit_codes
from gitops_config.cli import options
from gitops_config.incremental import store as store_mod


@click.group('cache')
def cache() -> None:
    """The on-disk cache of compiled templates and other results.

    It lives in $XDG_CACHE_HOME/gitops-config (or GITOPS_CONFIG_CACHE_DIR);
    entries are keyed by a hash of their inputs, so it never needs clearing
    for correctness. It holds data only; compiled templates are used only when
    a key in the user's config folder vouches for them.
    """


@cache.command('info')
def info() -> int:
    """Print the cache folder and its size."""
    store = options.run().store
    where = store.directory if store is not None and store.directory is not None else ('disabled')
    size = store.size() if store is not None else 0
    click.echo(f'{where}\t{size / 1024 / 1024:.1f} MiB')
    return exit_codes.OK


@cache.command('clear')
def clear() -> int:
    """Remove every cache entry.

    Only files that gitops-config wrote as entries go, and only from a folder
    that carries its marker (CACHEDIR.TAG): whatever else the folder holds stays.
    """
    store = options.run().store
    if (
        store is not None
        and store.directory is not None
        and store.directory.is_dir()
        and (not store_mod.is_ours(store.directory))
    ):
        click.echo(
            f'{store.directory} holds no cache of gitops-config ({store_mod.MARKER} '
            'of ours is missing): nothing removed',
            err=True,
        )
        return exit_codes.OK
    freed = store.clear() if store is not None else 0
    click.echo(f'cleared {freed / 1024 / 1024:.1f} MiB', err=True)
    return exit_codes.OK
