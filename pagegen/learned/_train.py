"""The training command: ``python -m pagegen.learned train LOGS OUT [--l2 X] [--weights propensity|none]``."""

from __future__ import annotations

import argparse
import sys

from pagegen.core._errors import PagegenError

from ._learned import train, training_rows
from ._logging_policy import read_impressions

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """``python -m pagegen.learned train LOGS OUT [--l2 X]``: train the row scorer from impression logs."""
    parser = argparse.ArgumentParser(prog="python -m pagegen.learned", description="Train the learned row scorer from impression logs.")
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="fit the scorer on LOGS (JSON lines) and write OUT (JSON)")
    tr.add_argument("logs")
    tr.add_argument("out")
    tr.add_argument("--l2", type=float, default=1.0, help="L2 penalty (default 1.0)")
    tr.add_argument("--weights", choices=("none", "propensity"), default="none", help="weigh each logged row by its inverse propensity, or not (default: none)")
    args = parser.parse_args(argv)
    try:
        x, y, w = training_rows(read_impressions(args.logs))
        scorer = train(x, y, weights=w if args.weights == "propensity" else None, l2=args.l2)
        scorer.save(args.out)
    except PagegenError as err:
        print(f"pagegen train: error: {err}", file=sys.stderr)
        return 2
    print(f"trained on {scorer.n_train} rows ({int(y.sum())} with a play) -> {args.out}")
    return 0
