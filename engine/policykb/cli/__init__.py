"""The `policykb` command line: one sub-command module per group, errors on stderr, exit 0/1/2."""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from ..errors import PolicyKBError
from .render import full_width

# The module of each group of sub-commands and the commands it registers; the order is the order of --help.
# A command imports only its own module, so that `policykb score` does not pay for matplotlib, uvicorn or
# networkx at start-up (tests/test_render.py checks this table against what the modules register).
COMMANDS: dict[str, tuple[str, ...]] = {
    "kbcmds": ("info", "validate"),
    "ledgercmds": ("import", "template"),
    "scorecmds": ("score", "explain", "test", "rules"),
    "publishcmds": ("publish", "diff"),
    "querycmds": ("query",),
    "graphcmds": ("measures", "coverage", "gaps", "diffusion", "centrality"),
    "reportcmds": ("duties", "not-replicated"),
    "documentcmds": ("report",),
    "docscmds": ("docs",),
    "servecmds": ("serve",),
    "gencmds": ("generate",),
}


def command_modules(argv: list[str] | None = None) -> list:
    """The modules to register: the one defining the command in argv, or all of them (no command, --help,
    a mistyped command: argparse then lists or suggests every command)."""
    first = next((a for a in argv if not a.startswith("-")), None) if argv else None
    names = [name for name, commands in COMMANDS.items() if first in commands] or list(COMMANDS)
    return [importlib.import_module(f"{__name__}.{name}") for name in names]


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policykb",
        description="A rules-engine policy knowledge base: FTZ reform measures, the zones that replicate "
                    "them, and the rubrics that score them, with an audit trace for every point.",
        epilog="Exit status: 0 success, 1 a problem in the input (reported on stderr), 2 a usage error.",
    )
    parser.add_argument("--version", action="version", version=f"policykb {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    sub.required = True
    for module in command_modules(argv):
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
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
