"""Command line: ``pagegen SUBCOMMAND`` (``python -m pagegen``)."""

from __future__ import annotations

import argparse
import sys

from ._errors import PagegenError

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    print("pagegen demo: the synthetic world is not wired in yet")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pagegen", description="Personalized streaming homepage construction.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="build a page on the built-in synthetic world")
    demo.set_defaults(func=_demo)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except PagegenError as err:
        if args.debug:
            raise
        print(f"pagegen {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
