"""The `policykb` command line: one sub-command module per group, errors on stderr, exit 0/1/2."""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from ..errors import PolicyKBError
from . import (docscmds, documentcmds, gencmds, graphcmds, kbcmds, ledgercmds, publishcmds, querycmds, reportcmds,
               scorecmds, servecmds)
from .render import full_width

# Each command module registers its sub-commands on the parser; order is the order of --help.
COMMAND_MODULES = [kbcmds, ledgercmds, scorecmds, publishcmds, querycmds, graphcmds, reportcmds, documentcmds,
                   docscmds, servecmds, gencmds]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policykb",
        description="A rules-engine policy knowledge base: FTZ reform measures, the zones that replicate "
                    "them, and the rubrics that score them, with an audit trace for every point.",
        epilog="Exit status: 0 success, 1 a problem in the input (reported on stderr), 2 a usage error.",
    )
    parser.add_argument("--version", action="version", version=f"policykb {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    sub.required = True
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with full_width(getattr(args, "wide", False)):
            return int(args.handler(args) or 0)
    except PolicyKBError as exc:
        print(f"policykb: {exc}" if not exc.location else str(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("policykb: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
