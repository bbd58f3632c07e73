"""Server-rendered HTML pages: the ranking, a zone's form and trace, a measure and who replicated it.

Each function takes plain data and a `Links` object and returns one HTML document as text: no script,
every link an ordinary href, so the pages work without JavaScript and can be written as a static site
(`policykb report site`) or served by any web server. Every value is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Iterable

from ..scoring.explain import inputs_text, text_trace
from .form import HEADERS, Form, number
from .ranking import Ranking

OUTCOME_WORDS = {"reward": "奖励", "rectify": "限期整改", "none": "—", "excluded": "不参与排名", "no-data": "无当年数据"}

FONT_FACE = """@font-face { font-family: "PolicyKB CJK"; src: local("Noto Sans SC"), local("Noto Sans CJK SC"),
  url("FONT_FILE") format("opentype"); }"""

STYLE = """
body { font-family: "Noto Sans SC", "Noto Sans CJK SC", "PolicyKB CJK", "Microsoft YaHei", "PingFang SC", sans-serif;
  margin: 1.5rem auto;
  max-width: 78rem; padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
nav { margin-bottom: 1rem; font-size: 0.95rem; } nav a { margin-right: 1rem; }
h1 { font-size: 1.45rem; margin: 0.4rem 0; } h2 { font-size: 1.15rem; margin-top: 1.6rem; }
table { border-collapse: collapse; width: 100%; margin: 0.6rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #555; padding: 0.3rem 0.45rem; vertical-align: middle; }
th { background: #d9e1f2; } td.num { text-align: center; white-space: nowrap; }
tr.differs td.mark { background: #ffe699; } tr.cut td { border-top: 3px dashed #2e7d32; }
tr.cut-rectify td { border-top: 3px dashed #e65100; } .line { font-size: 0.8rem; color: #444; }
.sample { color: #c00000; font-style: italic; } .sign { margin-top: 2rem; display: flex; gap: 8rem; }
pre { white-space: pre-wrap; font-size: 0.78rem; background: #f6f6f6; padding: 0.8rem; border: 1px solid #ddd; }
img.chart { max-width: 100%; border: 1px solid #ddd; }
#form td:first-child { min-width: 4.5rem; } #form td:nth-child(2) { min-width: 8rem; }
@media print { nav { display: none; } }
"""

SAMPLE_NOTE = "样例数据：这些开发区及其台账均为虚构，仅用于检验评分规则，不是事实陈述。"


@dataclass(frozen=True)
class Links:
    """Where pages and files are, seen from the page being written: relative links for a static site."""

    depth: int = 0  # 0 for the ranking page (index.html), 1 for zones/… and measures/…

    def _up(self) -> str:
        return "../" * self.depth

    def ranking(self) -> str:
        return f"{self._up()}index.html"

    def zone(self, code: str) -> str:
        return f"{self._up()}zones/{code}.html"

    def measure(self, code: str) -> str:
        return f"{self._up()}measures/{code.lower()}.html"

    def asset(self, name: str) -> str:
        return f"{self._up()}assets/{name}"


def _e(value) -> str:
    return escape("" if value is None else str(value))


def page(title: str, body: str, links: Links, *, sample: bool = False, inline: bool = False) -> str:
    """One HTML document; `inline` puts the stylesheet in the page (a single file, no assets beside it)."""
    style = (f"<style>{stylesheet(None)}</style>" if inline
             else f"<link rel=\"stylesheet\" href=\"{_e(links.asset('style.css'))}\">")
    return ("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_e(title)}</title>\n{style}\n"
            f"</head>\n<body>\n<nav><a href=\"{_e(links.ranking())}\">排名 ranking</a></nav>\n"
            + (f"<p class=\"sample\">{_e(SAMPLE_NOTE)}</p>\n" if sample else "") + body + "\n</body>\n</html>\n")


def stylesheet(font_file: str | None) -> str:
    """The pages' CSS; with `font_file`, a web font beside it that supplies Chinese where the system has none."""
    return (FONT_FACE.replace("FONT_FILE", font_file) if font_file else "") + STYLE


# ---------------------------------------------------------------------------------------------

def ranking_page(data: Ranking, links: Links, chart: str | None = None, *, inline: bool = False) -> str:
    cuts = {line.after: line for line in data.lines}
    rows = []
    for n, z in enumerate(data.ranked):
        line = cuts.get(n)
        cls = "" if line is None or n == 0 else (" class=\"cut\"" if line is data.lines[0] else " class=\"cut-rectify\"")
        rows.append(f"<tr{cls}><td class=\"num\">{z.rank}</td><td><a href=\"{_e(links.zone(z.code))}\">{_e(z.label)}</a></td>"
                    f"<td class=\"num\">{_e(number(z.total))}</td><td class=\"num\">{_e(number(z.self_total))}</td>"
                    f"<td>{_e(z.outcome_name or OUTCOME_WORDS.get(z.outcome, z.outcome))}</td></tr>")
    legend = "".join(f"<li>{_e(line.name)}：{'以上（前' if line is data.lines[0] else '以下（后'}"
                     f"{line.after if line is data.lines[0] else len(data.ranked) - line.after}名）</li>"
                     for line in data.lines)
    apart = "".join(f"<tr><td><a href=\"{_e(links.zone(a.code))}\">{_e(a.label)}</a></td><td class=\"num\">{_e(number(a.total))}</td>"
                    f"<td>{_e(OUTCOME_WORDS.get(a.why, a.why))}</td><td>{_e(a.clause_text)}"
                    + (f" <span class=\"line\">{_e(a.clause)}</span>" if a.clause else "") + "</td></tr>"
                    for a in data.apart)
    body = (f"<h1>{_e(data.scheme_name)} {data.year} 排名</h1>\n"
            + (f"<img class=\"chart\" src=\"{_e(chart)}\" alt=\"{_e(data.scheme_name)} {data.year} 排名图\">\n" if chart else "")
            + f"<ul class=\"line\">{legend}</ul>\n"
            "<table id=\"ranking\"><thead><tr><th>名次</th><th>开发区</th><th>考评分</th><th>自评分</th><th>结果运用</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>\n"
            + (("<h2>不参与排名</h2>\n<table id=\"apart\"><thead><tr><th>开发区</th><th>考评分</th><th>原因</th><th>依据</th></tr></thead>"
                f"<tbody>{apart}</tbody></table>\n") if data.apart else ""))
    return page(f"{data.scheme_name} {data.year} 排名", body, links, sample=data.sample, inline=inline)


def form_table(form: Form) -> str:
    """Attachment 2's table filled in, with the first- and second-level cells spanning their rows."""
    firsts = dict(form.spans("first"))
    seconds = dict(form.spans("second"))
    rows = []
    for n, row in enumerate(form.rows):
        cells = []
        if n in firsts:
            cells.append(f"<td rowspan=\"{firsts[n]}\">{_e(row.first)}</td>")
        if n in seconds:
            cells.append(f"<td rowspan=\"{seconds[n]}\">{_e(row.second)}</td>")
        cells += [f"<td>{_e(row.third)}</td>", f"<td class=\"num\">{_e(number(row.max))}</td>",
                  f"<td class=\"num mark\">{_e(number(row.self_score))}</td>",
                  f"<td class=\"num mark\">{_e(number(row.audited))}</td>", f"<td class=\"mark\">{_e(row.reason)}</td>"]
        marked = ' class="differs"' if row.differs else ""
        rows.append(f"<tr id=\"{_e(row.code)}\"{marked}>{''.join(cells)}</tr>")
    head = "".join(f"<th>{_e(h)}</th>" for h in HEADERS)
    total = (f"<tr><th colspan=\"3\">合计</th><td class=\"num\">{_e(number(form.max_total))}</td>"
             f"<td class=\"num\">{_e(number(form.self_total))}</td><td class=\"num\">{_e(number(form.total))}</td><td></td></tr>")
    return f"<table id=\"form\"><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}{total}</tbody></table>"


def form_html(form: Form, links: Links, measures: Iterable[tuple[str, str]] = (), *, inline: bool = False) -> str:
    """A zone's form and trace as one page; `measures` (code, name) link to the measure pages; `inline`
    makes it a single file (the stylesheet in the page, Chinese in the reader's own fonts)."""
    listed = "".join(f"<li><a href=\"{_e(links.measure(code))}\">{_e(code)}</a> {_e(name)}</li>" for code, name in measures)
    body = (f"<h1>{_e(form.title)}</h1>\n"
            f"<p>开发区名称：<strong>{_e(form.zone)}</strong>　评估年度：{form.year}　"
            f"总评分：<strong id=\"total\">{_e(number(form.total) or '—')}</strong>　自评总分：{_e(number(form.self_total) or '—')}</p>\n"
            + form_table(form) + "\n"
            + (f"<p>{_e(form.note)}</p>\n" if form.note else "")
            + f"<p id=\"standing\">{_e(form.standing)}</p>\n"
            "<div class=\"sign\"><span>评估人：________________</span><span>日期：________________</span></div>\n"
            + (f"<h2>复制推广的举措</h2>\n<ul id=\"measures\">{listed}</ul>\n" if listed else "")
            + "<h2>考评依据（完整记录）</h2>\n"
            f"<pre id=\"trace\">{_e(text_trace({k: v for k, v in form.trace.items() if k != 'inputs'}))}</pre>\n"
            + ("<h2>输入文件摘要（SHA-256）</h2>\n"
               f"<pre id=\"digests\">{_e(chr(10).join(inputs_text(form.trace['inputs'])))}</pre>\n"
               if form.trace.get("inputs") else ""))
    return page(f"{form.zone} {form.year} 评估细则", body, links, sample=form.sample, inline=inline)


@dataclass(frozen=True)
class Replicator:
    code: str
    label: str
    rank: int  # order of adoption (ties share)
    date: str
    where: str  # ledger file and row


@dataclass(frozen=True)
class MeasureView:
    code: str
    name: str
    scope: str | None
    document: str | None
    sample: bool
    replicators: tuple[Replicator, ...]


def measure_page(measure: MeasureView, links: Links, *, inline: bool = False) -> str:
    rows = "".join(f"<tr><td class=\"num\">{r.rank}</td><td><a href=\"{_e(links.zone(r.code))}\">{_e(r.label)}</a></td>"
                   f"<td class=\"num\">{_e(r.date)}</td><td>{_e(r.where)}</td></tr>" for r in measure.replicators)
    body = (f"<h1>{_e(measure.code)} {_e(measure.name)}</h1>\n"
            f"<p>范围：{_e(measure.scope or '—')}　发布文件：{_e(measure.document or '—')}</p>\n"
            f"<h2>复制推广的开发区（{len(measure.replicators)}）</h2>\n"
            "<table id=\"replicators\"><thead><tr><th>顺序</th><th>开发区</th><th>日期</th><th>台账</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")
    return page(f"{measure.code} {measure.name}", body, links, sample=measure.sample, inline=inline)
