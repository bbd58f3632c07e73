"""Write the ledger files of tests/data/ledgers/ (the tests read the files; this script only remakes them).

    python tests/data/ledgers/make.py

Each file is a ledger as an office might save it, for zones and measures of the bundled SAMPLE data;
cases.yaml beside it says what `policykb import` must answer. Most files need only openpyxl; two need
tools an office has and the tests do not: password.xlsx is encrypted with msoffcrypto-tool
(`pip install msoffcrypto-tool`), old-format.xlsx is an Excel 97–2003 workbook written by LibreOffice
(`soffice --headless --convert-to xls`) and given the .xlsx name, and formula-with-value.xlsx is
formula-no-value.xlsx opened and saved by LibreOffice, which stores the formula's value.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
ZONE = "样例·福州乙开发区"
HEADER = ["开发区", "年度", "类型", "举措", "事项名称", "层级", "数量", "金额（元）", "日期"]


def csv_text(rows: list[list[str]]) -> str:
    return "".join(",".join(row) + "\r\n" for row in rows)


def write_csv(name: str, rows: list[list[str]], encoding: str = "utf-8") -> None:
    (HERE / name).write_bytes(csv_text(rows).encode(encoding))


def csv_files() -> None:
    write_csv("unquoted-thousands.csv", [["开发区", "年度", "类型", "事项名称", "金额（元）"],
                                         [ZONE, "2022", "财政支持", "产业平台专项资金", "1,500,000"]])
    write_csv("decimal-comma.csv", [["开发区", "年度", "类型", "事项名称", "金额（元）"],
                                    [ZONE, "2022", "财政支持", "产业平台专项资金", '"1,5"']])
    write_csv("quoted-thousands.csv", [["开发区", "年度", "类型", "事项名称", "金额（元）"],
                                       [ZONE, "2022", "财政支持", "产业平台专项资金", '"1,500,000"']])
    gbk = [HEADER, [ZONE, "2022", "复制推广", "C01", "", "", "", "", "2022-03-01"],
           [ZONE, "2022", "体制机制", "", "市级复制推广工作领导小组", "市级", "", "", "2022-02-01"]]
    write_csv("gbk.csv", gbk, "gbk")
    write_csv("big5-english-headers.csv", [["zone", "year", "kind", "measure", "note"],
                                           ["fz-b", "2022", "replication", "C01", "已於三月實施"]], "cp950")
    write_csv("big5-traditional-headers.csv", [["開發區", "年度", "類型", "舉措"],
                                               ["福州乙開發區", "2022", "複製推廣", "C01"]], "cp950")
    write_csv("line-separator.csv", [["开发区", "年度", "类型", "事项名称", "层级"],
                                     [ZONE, "2022", "体制机制", "市级复制推广\u2028工作领导小组", "市级"],
                                     [ZONE, "2022", "体制机制", "县级复制推广工作领导小组", "县级"]])
    write_csv("title-total-note.csv", [["2022年样例·福州乙开发区复制推广台账"], [],
                                       ["序号", "开发区", "年度", "类型", "事项名称", "金额（元）"],
                                       ["1", ZONE, "2022", "财政支持", "产业平台专项资金第1笔", "1500000"],
                                       ["2", ZONE, "2022", "财政支持", "产业平台专项资金第2笔", "800000"],
                                       ["合计", "", "", "", "", "2300000"],
                                       ["注：金额单位为元。"]])
    write_csv("header-only.csv", [HEADER])
    write_csv("blank-rows.csv", [HEADER, [""] * len(HEADER), [""] * len(HEADER)])
    write_csv("unknown-header.csv", [["开发区", "年度", "类别", "举措"], [ZONE, "2022", "复制推广", "C01"]])
    write_csv("fiscal-without-amount.csv", [["开发区", "年度", "类型", "事项名称"],
                                            [ZONE, "2022", "财政支持", "产业平台专项资金"]])
    write_csv("platform-count.csv", [["开发区", "年度", "类型", "事项名称", "数量"],
                                     [ZONE, "2022", "自建平台", "样例产业平台1号", "2"]])
    write_csv("dates.csv", [["开发区", "年度", "类型", "季度", "事项名称", "日期"],
                            ["zj-a", "2021", "季度推进情况", "1", "样例：第一季度推进情况", "2021/3/28"],
                            ["zj-a", "2021", "季度推进情况", "2", "样例：第二季度推进情况", "2021-06-28T09:30:00"],
                            ["zj-a", "2021", "季度推进情况", "3", "样例：第三季度推进情况", "2021年9月29日"]])
    write_csv("three-bad-cells.csv", [["开发区", "年度", "类型", "举措", "事项名称", "金额（元）", "日期"],
                                      [ZONE, "2022", "复制推广", "C01", "", "", "2022-03-01"],
                                      [ZONE, "2022", "财政支持", "", "专项资金", "二百万", ""],
                                      [ZONE, "2022", "复制推广", "C99", "", "", "2022-04-01"],
                                      [ZONE, "2022", "复制推广", "C02", "", "", "2022-02-30"]])


def workbook_files(scratch: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "台账"
    sheet.append(["开发区", "年度", "类型", "事项名称", "金额（元）"])
    sheet.append([ZONE, 2022, "财政支持", "产业平台专项资金", "=1000000*2"])
    book.save(HERE / "formula-no-value.xlsx")

    # notes on the first sheet, the ledger on the second (not named 台账), a title row, a zone cell
    # merged over three rows, a real date-time cell, a 合计 row
    book = Workbook()
    notes = book.active
    notes.title = "填表说明"
    notes.append(["填表说明：每行填写一项佐证，金额以元为单位。"])
    notes.append(["类型请从下拉列表中选择。"])
    sheet = book.create_sheet("Sheet2")
    sheet.append(["2022年样例·福州乙开发区复制推广台账"])
    sheet.merge_cells("A1:G1")
    sheet.append(["开发区", "年度", "类型", "举措", "事项名称", "日期", "层级"])
    sheet.append([ZONE, 2022, "复制推广", "C01", None, datetime(2022, 6, 1, 9, 30)])
    sheet.append([None, 2022, "复制推广", "C02", None, datetime(2022, 6, 2)])
    sheet.append([None, 2022, "体制机制", None, "市级复制推广工作领导小组", datetime(2022, 2, 1), "市级"])
    sheet.merge_cells("A3:A5")
    sheet["F3"].number_format = "yyyy-mm-dd hh:mm"
    sheet["F4"].number_format = 'yyyy"年"m"月"d"日"'
    sheet["F5"].number_format = "yyyy/m/d"
    sheet.append(["合计", None, None, None, "3项"])
    book.save(HERE / "layout.xlsx")

    # a sheet that claims the whole grid, A1:XFD1048576, and holds two rows
    book = Workbook()
    sheet = book.active
    sheet.title = "台账"
    sheet.append(["开发区", "年度", "类型", "举措"])
    sheet.append([ZONE, 2022, "复制推广", "C01"])
    plain = scratch / "plain.xlsx"
    book.save(plain)
    _rewrite_part(plain, HERE / "dimension.xlsx", "xl/worksheets/sheet1.xml",
                  lambda xml: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:XFD1048576"', xml))

    soffice = shutil.which("soffice")
    if soffice:
        subprocess.run([soffice, "--headless", "--convert-to", "xlsx", "--outdir", str(scratch),
                        str(HERE / "formula-no-value.xlsx")], check=True, capture_output=True)
        shutil.copy(scratch / "formula-no-value.xlsx", HERE / "formula-with-value.xlsx")
        subprocess.run([soffice, "--headless", "--convert-to", "xls", "--outdir", str(scratch), str(plain)],
                       check=True, capture_output=True)
        shutil.copy(scratch / "plain.xls", HERE / "old-format.xlsx")
    try:
        import msoffcrypto
        from msoffcrypto.format.ooxml import OOXMLFile
    except ImportError:
        msoffcrypto = None
    if msoffcrypto is not None:
        with open(plain, "rb") as source, open(HERE / "password.xlsx", "wb") as out:
            OOXMLFile(source).encrypt("样例密码", out)


def _rewrite_part(source: Path, target: Path, part: str, change) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == part:
                data = change(data.decode("utf-8")).encode("utf-8")
            zout.writestr(info, data)
    target.write_bytes(buffer.getvalue())


if __name__ == "__main__":
    csv_files()
    with tempfile.TemporaryDirectory() as scratch:
        workbook_files(Path(scratch))
    print("wrote", ", ".join(sorted(p.name for p in HERE.iterdir() if p.suffix in (".csv", ".xlsx"))))
