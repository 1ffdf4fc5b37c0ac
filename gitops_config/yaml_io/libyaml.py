"""libyaml through PyYAML's C extension: the one place that checks it is there.

Every read goes through libyaml's parser, and our go-yaml v3 semantics, positions
and speed are built on its events. PyYAML without its C extension (built from
source where libyaml's headers were missing) would read differently and slowly,
so we stop at start-up with one line that says how to fix it.
"""

from __future__ import annotations

import yaml

from gitops_config.errors import LibyamlMissingError

try:
    from yaml._yaml import CParser
except ImportError:
    raise LibyamlMissingError(
        f'PyYAML {yaml.__version__} was built without libyaml (its C extension '
        'yaml._yaml is missing)',
        hint='reinstall PyYAML from a wheel: pip install --force-reinstall --only-binary '
        ':all: pyyaml (or install libyaml-dev and rebuild it from source)',
    ) from None

CBaseLoader = yaml.CBaseLoader
CSafeDumper = yaml.CSafeDumper

__all__ = ['CBaseLoader', 'CParser', 'CSafeDumper']
