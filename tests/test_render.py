"""Output formats: tables fitted to the terminal (CJK characters two columns wide), TSV and Markdown for
pasting into spreadsheets and papers, --wide for the whole width — on every command that takes --format."""

from __future__ import annotations

import argparse
import unicodedata

import pytest
from policykb.cli import build_parser
from policykb.cli.render import fit, table, to_markdown, to_tsv

C01 = "样例举措C01：国际贸易“单一窗口”改革第1项"  # 40 terminal columns: 16 CJK characters, 8 narrow ones


def _columns(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def test_a_table_wider_than_the_terminal_wraps_its_widest_column():
    # natural widths 4 + 40 + 1 and two gaps of 2 = 49 > 30: the narrow columns keep theirs (4, 1) and the label
    # gets the rest, 30 - 4 - 1 - 4 = 21 columns: 样例举措C01：国际贸易 is exactly 21 wide, the rest 19
    text = table([{"code": "C01", "label": C01, "n": 2}], ["code", "label", "n"], width=30)
    assert text.splitlines() == [
        "code  label                  n",
        "----  ---------------------  -",
        "C01   样例举措C01：国际贸易  2",
        "      “单一窗口”改革第1项",
    ]


def test_a_table_breaks_text_after_slashes_and_hyphens_rather_than_inside_words():
    text = table([{"ledger": "kb/ledgers/sample/sample-2021-fz-b.csv", "row": 6}], ["ledger", "row"], width=20)
    assert text.splitlines() == [
        "ledger           row",
        "---------------  ---",
        "kb/ledgers/        6",
        "sample/sample-",
        "2021-fz-b.csv",
    ]


def test_a_table_that_fits_is_not_changed():
    rows = [{"code": "C01", "label": C01, "n": 2}]
    assert table(rows, ["code", "label", "n"], width=49) == table(rows, ["code", "label", "n"])
    assert max(_columns(line) for line in table(rows, ["code", "label", "n"]).splitlines()) == 49


@pytest.mark.parametrize("natural, width, expected", [
    ([3, 20, 100, 5, 40], 80, [3, 20, 22, 5, 22]),  # 72 to share: 3 + 5 + 20 fit, 44 left for two wide columns
    ([10, 10], 30, [10, 10]),                       # fits as it is
    ([30, 30, 30], 20, [6, 5, 5]),                  # 16 to share: 5 each and the one left over to the first
    ([30] * 6, 20, [4] * 6),                        # too many columns: each keeps 4, the table is wider
])
def test_fit_shares_the_width_among_the_widest_columns(natural, width, expected):
    assert fit(natural, width) == expected


def test_fit_never_breaks_a_column_name():
    assert fit([30, 30, 30], 20, [9, 3, 3]) == [9, 4, 4]  # "catalogue" keeps 9, the others their least 4: 21


def test_tsv_has_a_header_and_no_tab_or_line_break_inside_a_cell():
    rows = [{"code": "C01", "note": "two\tparts\nand lines", "n": 2}, {"code": "C02", "note": None, "n": 0.5}]
    assert to_tsv(rows, ["code", "note", "n"]) == "code\tnote\tn\nC01\ttwo parts and lines\t2\nC02\t\t0.5\n"


def test_markdown_aligns_numbers_right_and_escapes_what_would_break_the_table():
    rows = [{"code": "a|b", "label": "x\ny <b>", "n": 2}, {"code": "C02", "label": C01, "n": None}]
    assert to_markdown(rows, ["code", "label", "n"]) == (
        "| code | label | n |\n"
        "| --- | --- | ---: |\n"
        "| a\\|b | x<br>y &lt;b> | 2 |\n"
        f"| C02 | {C01} |  |\n")


# --- every listing command ----------------------------------------------------------------------

def _format_options() -> list[tuple[str, argparse.Action, set[str]]]:
    parser = build_parser()
    found = []
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        nested = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
        parsers = [(f"{name} {n}", p) for a in nested for n, p in a.choices.items()] or [(name, sub)]
        for shown, p in parsers:
            options = {o for a in p._actions for o in a.option_strings}
            fmt = next((a for a in p._actions if "--format" in a.option_strings), None)
            if fmt is not None:
                found.append((shown, fmt, options))
    return found


def test_every_command_that_lists_rows_offers_tsv_md_and_wide():
    listing = [(name, fmt, options) for name, fmt, options in _format_options() if "csv" in fmt.choices]
    assert {name for name, _, _ in listing} >= {"info", "validate", "query", "measures", "coverage", "gaps", "diffusion",
                                                "centrality", "score", "test", "import", "not-replicated", "duties"}
    for name, fmt, options in listing:
        assert set(fmt.choices) == {"table", "csv", "tsv", "md", "json"}, name
        assert "--wide" in options, name


def test_the_terminal_width_comes_from_columns_and_wide_undoes_it(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "90")  # 11 columns: their names and the gaps between them take 81
    fitted = cli("query", "catalogue-documents")
    assert fitted.code == 0, fitted.err
    assert max(_columns(line) for line in fitted.out.splitlines()) == 90
    assert fitted.out.splitlines()[0].split() == ["seq", "section", "number", "title", "issuer", "year", "items",
                                                   "derived", "batch", "page", "catalogue"]
    starts = [line[:3].strip() for line in fitted.out.splitlines()[2:] if line[:3].strip()]
    assert starts == [str(seq) for seq in range(1, 17)]  # each row's first line starts with its number, in order
    wide = cli("query", "catalogue-documents", "--wide")
    assert max(_columns(line) for line in wide.out.splitlines()) > 250
    assert len(wide.out.splitlines()) == 18  # header, rule and 16 rows, one line each
    monkeypatch.delenv("COLUMNS")
    assert cli("query", "catalogue-documents").out == wide.out  # not a terminal: full width


def test_query_rows_as_markdown_for_a_paper(cli):
    result = cli("query", "replication-by-city", "-p", "year=2021", "--format", "md")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[:4] == [
        "| cityName | zones | replications | measures | inCatalogue | city |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
        "| 厦门市 | 3 | 36 | 22 | 22 | place:xiamen |",  # as counted in tests/data/queries.yaml
        "| 福州市 | 4 | 39 | 16 | 15 | place:fuzhou |",
    ]
    assert len(lines) == 12


def test_query_rows_as_tsv_keep_full_iris(cli):
    result = cli("query", "zones-in-city", "-p", "city=place:pingtan", "--format", "tsv")
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == "zone\tlabel\tcountyName\tkind\tsample"
    assert "https://w3id.org/policykb/zone/fj-ftz-pingtan\t中国（福建）自由贸易试验区平潭片区\t\t自贸片区\tno" in result.out


def test_graph_command_as_markdown_shows_percentages(cli):
    result = cli("coverage", "--year", "2021", "--zone", "fz-b", "--format", "md")
    assert result.code == 0, result.err
    assert result.out.splitlines()[1] == "| --- | --- | ---: | ---: | --- | ---: | --- | ---: |"
    assert "| sample:zone-fz-b | 样例·福州乙开发区 |" in result.out and "%" in result.out


def test_validate_lists_problems_as_tsv(cli):
    result = cli("validate", "--format", "tsv")
    assert result.code == 0, result.err
    assert result.out == "severity\tfile\tline\tfocus\tfocus_label\tpath\tvalue\tmessage\tshape\n"


def test_the_command_table_names_what_each_module_registers():
    from policykb.cli import COMMANDS, command_modules

    for module in command_modules():
        sub = argparse.ArgumentParser().add_subparsers()
        module.register(sub)
        assert set(sub.choices) == set(COMMANDS[module.__name__.rsplit(".", 1)[1]]), module.__name__


def test_a_command_imports_only_its_own_module():
    # `policykb score` starts without the report, endpoint and graph stacks (a fresh interpreter: this one
    # has imported them already)
    import subprocess
    import sys

    code = ("import sys; from policykb.cli import build_parser; p = build_parser(['score']); "
            "print(sorted(m for m in ('matplotlib', 'uvicorn', 'networkx', 'openpyxl') if m in sys.modules)); "
            "print(sorted(p._subparsers._group_actions[0].choices))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["[]", "['explain', 'rules', 'score', 'test']"]
