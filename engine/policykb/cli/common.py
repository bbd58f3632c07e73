"""Options and helpers shared by the sub-commands: --kb, --format and --wide, loading with progress."""

from __future__ import annotations

import argparse
import sys
from typing import Iterable

from ..kb.layout import Layout
from ..kb.load import KnowledgeBase, load
from .render import FORMATS


def add_kb_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kb", metavar="DIR", default=None,
                        help="knowledge-base directory of the bundled layout (kb/, and optionally ontology/, "
                             "rules/, queries/); default: the bundled knowledge base")
    parser.add_argument("--store", metavar="STORE", default=None,
                        help="where the store derived from the Turtle files lives: disk (default: Oxigraph in "
                             "the knowledge base's .policykb/ folder), memory, or a SPARQL 1.1 server — the URL "
                             "of an Oxigraph server, fuseki:URL, qlever:URL or sparql:QUERY,UPDATE[,GRAPHS]; "
                             "default: $POLICYKB_STORE, else disk")


def add_format_option(parser: argparse.ArgumentParser, choices=FORMATS, default="table") -> None:
    """--format, and with the row formats --wide: tables fit the terminal unless --wide is given."""
    if choices is FORMATS:
        parser.add_argument("--format", choices=choices, default=default,
                            help=f"output format (default: {default}): an aligned table, CSV, TSV (tab-separated, "
                                 "for spreadsheets), md (a Markdown table, for papers) or JSON")
        parser.add_argument("--wide", action="store_true",
                            help="print the table at full width; by default it wraps long cells to fit the "
                                 "terminal (or COLUMNS characters when that variable is set)")
    else:
        parser.add_argument("--format", choices=choices, default=default,
                            help=f"output format (default: {default})")


def command(sub, name: str, handler, help: str, description: str | None = None) -> argparse.ArgumentParser:
    """Add a sub-command with the --kb option every command takes."""
    parser = sub.add_parser(name, help=help, description=description or help)
    add_kb_option(parser)
    parser.set_defaults(handler=handler)
    return parser


def layout_of(args) -> Layout:
    return Layout.at(getattr(args, "kb", None))


def progress(items: Iterable, label: str) -> Iterable:
    """A progress bar on stderr when it is a terminal; silent otherwise (pipes, CI, tests)."""
    items = list(items)
    if not sys.stderr.isatty() or len(items) < 2:
        yield from items
        return
    total = len(items)
    for done, item in enumerate(items, 1):
        filled = int(30 * done / total)
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
        sys.stderr.flush()
        yield item
    sys.stderr.write("\r" + " " * (len(label) + 45) + "\r")
    sys.stderr.flush()


def load_kb(args) -> KnowledgeBase:
    return load(layout_of(args), store=getattr(args, "store", None), progress=lambda files: progress(files, "loading"))


def add_scheme_options(parser: argparse.ArgumentParser) -> None:
    """--scheme and --year, as every command that scores takes them."""
    parser.add_argument("--scheme", required=True, metavar="SCHEME",
                        help="the scheme: a file rules/SCHEME.yaml, e.g. fujian-2021")
    parser.add_argument("--year", type=int, required=True, metavar="YEAR", help="the evaluation year, e.g. 2021")


def check_year(scheme, year: int) -> None:
    """A year before the scheme applies is a usage error."""
    from ..errors import UsageError

    if scheme.first_year and year < scheme.first_year:
        raise UsageError(f"the scheme {scheme.id} applies from {scheme.first_year}, not {year}",
                         hint=f"give --year {scheme.first_year} or later")


def evaluation_of(args):
    """The knowledge base and the evaluation of --scheme for --year, with progress on a terminal."""
    from ..scoring.evaluate import evaluate
    from ..scoring.schemes import scheme_of

    kb = load_kb(args)
    scheme = scheme_of(kb, args.scheme)
    check_year(scheme, args.year)
    return kb, evaluate(kb, scheme, args.year, progress=lambda zones: progress(zones, "scoring"))


def iso_day(text: str):
    """An argparse type: a day written YYYY-MM-DD."""
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write YYYY-MM-DD, e.g. 2022-03-01") from None
