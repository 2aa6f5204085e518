"""``python -m analysis`` runs the ``reform-atlas`` command line."""

from analysis.cli import main

raise SystemExit(main())
