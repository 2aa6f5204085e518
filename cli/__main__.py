"""``python -m cli`` runs the ``reform-atlas`` command line."""

from cli.main import run

run()
