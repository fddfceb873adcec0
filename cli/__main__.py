"""``python -m fieldkit.cli`` runs the same CLI as the ``fieldkit`` command."""

from . import main

main()
