from __future__ import annotations

from gitops_config.cli.main import main

raise SystemExit(main())
