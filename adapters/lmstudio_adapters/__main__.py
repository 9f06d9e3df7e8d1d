"""``python -m lmstudio_adapters`` and the ``lmstudio-adapters`` console script.

The commands live in ``_cli.py`` (options and dispatch) and ``_cli_checks.py`` (doctor, chat,
tables); this module only starts them, so running it never imports the CLI twice.
"""

from __future__ import annotations

import sys

from lmstudio_adapters._cli import main
from lmstudio_adapters._cli_checks import models_table

__all__ = ["main", "models_table"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
