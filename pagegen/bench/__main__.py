"""``python -m pagegen.bench [rows|model|oracle|kernel] ...``: the page benchmark, or the ranker, model, optimality or kernel benchmark."""

import sys

from ._kernel import main as kernel_main
from ._model import main as model_main
from ._oracle import main as oracle_main
from ._page import main as page_main
from ._rows import main as rows_main

_COMMANDS = {"rows": rows_main, "model": model_main, "oracle": oracle_main, "kernel": kernel_main}

if __name__ == "__main__":
    args = sys.argv[1:]
    command = _COMMANDS.get(args[0]) if args else None
    raise SystemExit(command(args[1:]) if command else page_main(args))
