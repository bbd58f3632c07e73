"""`policykb generate`: a synthetic knowledge base of the bundled layout, for benchmarks and scale tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..synthetic.generate import FIRST_YEAR, MAX_JOBS, generate
from .common import add_format_option, command, layout_of
from .render import emit


def register(sub) -> None:
    p = command(sub, "generate", cmd_generate,
                "write a synthetic knowledge base (SAMPLE zones, measures and ledgers) for benchmarks",
                "Copy the knowledge base (the bundled one, or --kb DIR) into the new folder OUT and add N invented "
                "innovation-promotion pilot zones spread over the Fujian cities, some inside FTZ areas, invented "
                "measures in the catalogue batches of attachment 1, and each zone's yearly ledger of about 110 rows: "
                "as CSV under OUT/ledgers/ and as evidence under OUT/kb/evidence/, exactly as `policykb import` "
                "writes it. Everything invented is sample data (labels 合成样例·, pkb:sampleData true, IRIs under "
                "https://w3id.org/policykb/sample/synthetic/). The same --seed gives the same bytes.")
    p.add_argument("out", metavar="OUT", help="a new (or empty) folder to write the knowledge base into")
    p.add_argument("--zones", type=int, required=True, metavar="N", help="how many synthetic zones (1 to 10,000)")
    p.add_argument("--seed", type=int, default=1, metavar="S", help="seed of the random choices (default: 1)")
    p.add_argument("--year", type=int, default=FIRST_YEAR, metavar="Y",
                   help=f"the evaluation year of the ledgers (default: {FIRST_YEAR})")
    p.add_argument("--jobs", type=int, default=min(os.cpu_count() or 1, MAX_JOBS), metavar="J",
                   help="worker processes writing ledgers (default: one per core); the output is the same for any number")
    add_format_option(p)


def cmd_generate(args) -> int:
    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty() and (done == total or done % 50 == 0):
            sys.stderr.write(f"\rgenerating [{'#' * (30 * done // total):.<30}] {done}/{total} zones")
            sys.stderr.write("\n" if done == total else "")
            sys.stderr.flush()

    result = generate(layout_of(args), Path(args.out), zones=args.zones, seed=args.seed, year=args.year,
                      jobs=args.jobs, progress=progress)
    rows = [{"what": "zones", "count": result.zones},
            {"what": "zones inside FTZ areas", "count": result.zones_inside_ftz},
            {"what": "measures", "count": result.measures},
            {"what": "ledgers", "count": result.ledgers},
            {"what": "ledger rows", "count": result.rows}]
    emit(rows, ["what", "count"], args.format)
    print(f"wrote {result.out}: SAMPLE data, seed {args.seed}, year {args.year}; "
          f"score it with policykb score --kb {result.out} --scheme fujian-2021 --year {args.year}", file=sys.stderr)
    return 0
