"""`policykb import` (ledgers into evidence, statistics tables into observations) and `policykb template`
(a blank ledger or statistics table)."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import UsageError
from ..ledgers.importer import import_ledgers
from ..ledgers.tables import WORDS
from ..ledgers.template import write_statistics_template, write_template
from ..ledgers.vocabulary import Vocabulary
from .common import add_format_option, command, load_kb
from .render import emit


def register(sub) -> None:
    p = command(sub, "import", cmd_import,
                "import evidence ledgers (台账) and statistics tables (统计表), CSV or XLSX, into the knowledge base",
                "Turn ledgers into RDF evidence under kb/evidence/<ledger>.ttl, and statistics tables (one row per area "
                "and year, one column per figure with its unit: 地区, 年度, 税收（亿元）, …; told apart by their header "
                "row) into Data Cube observations under kb/evidence/<table>.ttl, every figure converted exactly to the "
                "unit the ontology records it in. All of it as one change: every file is "
                "read and checked first, every problem (file, row, the header as typed, what to write instead) is "
                "reported at once and nothing changes; only when all are good is every file written, all or none. "
                "Importing a ledger of the same file name again replaces its earlier import. An office keeps one "
                "ledger per zone and year: a ledger for a zone and year that another ledger already holds needs "
                "--replace or --add; a statistics table for an area and year that another table already gives needs "
                "--replace.")
    p.add_argument("ledgers", nargs="+", metavar="LEDGER",
                   help="ledger or statistics table files (.xlsx, or .csv in UTF-8 or GBK)")
    p.add_argument("--year", type=int, help="year for rows whose ledger or table has no year column (e.g. the Zhejiang "
                                            "replication table)")
    p.add_argument("--kind", help="kind for rows whose ledger has no kind column, e.g. replication")
    p.add_argument("--dry-run", action="store_true", help="check the ledgers and report, but write nothing")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--replace", action="store_true",
                       help="let this ledger (or table) take the place of the ledger (table) the knowledge base holds "
                            "for the same zone and year (or of another file of the same name): that evidence (those "
                            "figures) is removed")
    which.add_argument("--add", action="store_true",
                       help="keep this ledger beside another ledger of the same zone and year, on purpose: the rows "
                            "of both count (not for statistics tables: an area has one figure a year)")
    add_format_option(p)
    p = command(sub, "template", cmd_template,
                "write a blank ledger or statistics table template (.xlsx with drop-down lists and a sheet of codes, or .csv)")
    p.add_argument("out", metavar="FILE", help="where to write, e.g. 台账-2022.xlsx or 统计表-2022.xlsx")
    p.add_argument("--statistics", action="store_true",
                   help="a statistics table (统计表: 地区, 年度 and one column per figure, headed with its unit) instead "
                        "of an evidence ledger")


def cmd_import(args) -> int:
    kb = load_kb(args)
    if kb.layout.installed and not args.dry_run:
        raise UsageError("the bundled knowledge base is part of the installed package and is not changed by imports",
                         hint="copy kb/, ontology/, rules/ and queries/ into a folder and give it with --kb DIR")
    results = import_ledgers(kb, [Path(p) for p in args.ledgers], year=args.year, kind=args.kind,
                             write=not args.dry_run, replace=args.replace, add=args.add)
    for result in results:
        for note in result.notes:
            print(f"{result.source}: {note}", file=sys.stderr)
    rows = [{"ledger": r.source, "items": r.items, "zones": ", ".join(r.zones), "years": ", ".join(map(str, r.years)),
             "written": "(dry run)" if args.dry_run else kb.layout.relative(r.target)} for r in results]
    emit(rows, ["ledger", "items", "zones", "years", "written"], args.format)
    verb = "checked" if args.dry_run else "imported"
    kinds = [table for table in WORDS if any(r.table == table for r in results)] or ["ledger"]
    said = [f"{sum(r.items for r in results if r.table == table)} {WORDS[table]}(s) from "
            f"{sum(1 for r in results if r.table == table)} {_FILES[table]}(s)" for table in kinds]
    print(f"{verb} {' and '.join(said)}", file=sys.stderr)
    return 0


_FILES = {"ledger": "ledger", "statistics": "statistics table"}


def cmd_template(args) -> int:
    kb = load_kb(args)
    out = Path(args.out)
    vocabulary = Vocabulary(kb)
    if args.statistics:
        write_statistics_template(out, vocabulary.statistics)
    else:
        write_template(out, vocabulary)
    print(f"wrote {out}", file=sys.stderr)
    return 0
