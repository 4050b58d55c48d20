"""``python -m contactcenter`` runs the same command as the ``contactcenter`` script."""

from contactcenter.cli import main

raise SystemExit(main())
