"""The two kinds of table `policykb import` reads — evidence ledgers (台账) and statistics tables (统计表) — told
apart by their header row, each converted by its own module.

A header row whose columns are mostly those of a statistics table (地区, 年度, 税收（万元）, …) makes the
file a statistics table; otherwise it is an evidence ledger (开发区, 年度, 类型, …). The import, the
digest check of `policykb validate` and the tests all read a file through here, so they always agree on
what it is.
"""

from __future__ import annotations

from pathlib import Path

from . import statistics
from .convert import Converted, convert
from .read import Ledger, read
from .vocabulary import StatisticsVocabulary, Vocabulary

WORDS = {"ledger": "evidence item", "statistics": "observation"}  # what a row of each kind becomes
DIMENSIONS = {"ledger": Vocabulary.dimensions, "statistics": StatisticsVocabulary.dimensions}  # one per zone and year


def read_table(path: Path, vocabulary: Vocabulary, shown: str | None = None) -> Ledger:
    """Read a ledger or a statistics table, whichever its header row says it is (Ledger.table)."""
    return read(path, (vocabulary, vocabulary.statistics), shown)


def words_of(ledger: Ledger, vocabulary: Vocabulary):
    """The vocabulary of the kind of table `ledger` is."""
    return vocabulary.statistics if ledger.table == "statistics" else vocabulary


def convert_table(ledger: Ledger, vocabulary: Vocabulary, *, ledger_name: str, defaults: dict | None = None,
                  sha256: str | None = None) -> Converted:
    """Evidence items of a ledger, or observations of a statistics table (a statistics table reads only the year
    of `defaults`: it has no kind)."""
    if ledger.table == "statistics":
        return statistics.convert(ledger, vocabulary.statistics, ledger_name=ledger_name, defaults=defaults,
                                  sha256=sha256)
    return convert(ledger, vocabulary, ledger_name=ledger_name, defaults=defaults, sha256=sha256)
