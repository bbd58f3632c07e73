"""Charts for the province's view: the ranking as bars with the reward and rectify lines, and coverage as
a zones × catalogue batches heat map. matplotlib (Agg, no display) with Noto Sans SC for every label."""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from .fonts import FAMILY, cjk_font
from .form import number
from .ranking import Ranking

COLOURS = {"reward": "#2e7d32", "rectify": "#e65100", "none": "#78909c"}
FORMATS = (".png", ".svg")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    path = str(cjk_font())
    if path not in {f.fname for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(path)
    plt.rcParams["font.family"] = [FAMILY]
    plt.rcParams["axes.unicode_minus"] = False
    plt.rcParams["svg.fonttype"] = "path"  # an SVG that shows Chinese without the font installed
    plt.rcParams["svg.hashsalt"] = "policykb"  # stable ids: the same chart, the same SVG
    return plt


def _save(figure, suffix: str) -> bytes:
    buffer = BytesIO()
    metadata = {"Software": None} if suffix == ".png" else {"Date": None}
    figure.savefig(buffer, format=suffix.lstrip("."), dpi=110, bbox_inches="tight", metadata=metadata)
    return buffer.getvalue()


def chart_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        from ..errors import UsageError

        raise UsageError(f"cannot draw a chart as {path.name}", hint="name the chart file .png or .svg")
    return suffix


def ranking_chart(data: Ranking, suffix: str = ".png") -> bytes:
    """Horizontal bars by place, coloured by outcome, the outcome lines drawn across, the zones apart below."""
    plt = _pyplot()
    rows = data.ranked
    height = max(3.0, 0.32 * len(rows) + 1.8 + 0.25 * len(data.apart))
    figure, axes = plt.subplots(figsize=(9, height))
    names = [f"{z.rank}. {z.label}" for z in rows]
    values = [float(z.total or 0) for z in rows]
    axes.barh(range(len(rows)), values, color=[COLOURS.get(z.outcome, COLOURS["none"]) for z in rows])
    axes.set_yticks(range(len(rows)), names)
    axes.invert_yaxis()
    for y, value in enumerate(values):
        axes.text(value + 0.5, y, f"{value:g}", va="center", fontsize=8)
    for line in data.lines:
        y = line.after - 0.5
        colour = COLOURS.get(line.outcome, "#333333")
        axes.axhline(y, color=colour, linestyle="--", linewidth=1.2)
        top = line is data.lines[0]  # the reward line: its zones are above it; the rectify line: below
        label = f"▲ {line.name}（以上{line.after}名）" if top else f"▼ {line.name}（以下{len(rows) - line.after}名）"
        axes.text(max(values or [1]) * 1.02, y - 0.12 if top else y + 0.12, label, color=colour, fontsize=8,
                  ha="right", va="bottom" if top else "top")
    axes.set_xlabel("总分")
    title = f"{data.scheme_name} {data.year} 排名"
    axes.set_title(title + ("（样例数据）" if data.sample else ""), fontsize=11)
    if data.apart:
        text = "不参与排名：" + "；".join(
            f"{a.label}（{number(a.total)}分，{'备注：自贸试验区范围内' if a.why == 'excluded' else '无当年数据'}）"
            for a in data.apart)
        figure.text(0.01, 0.005, text, fontsize=8, wrap=True, va="bottom")
        figure.subplots_adjust(bottom=0.08 + 0.02 * len(data.apart))
    out = _save(figure, suffix)
    plt.close(figure)
    return out


@dataclass(frozen=True)
class CoverageGrid:
    """Zones (rows) × catalogue batches (columns): measures replicated, and the named measures of each batch."""

    year: int | None
    zones: tuple[str, ...]  # labels
    batches: tuple[str, ...]  # document numbers
    replicated: tuple[tuple[int, ...], ...]
    named: tuple[int, ...]


def coverage_chart(grid: CoverageGrid, suffix: str = ".png") -> bytes:
    """A heat map of the share of each batch's named measures a zone replicated, the count written in each cell."""
    plt = _pyplot()
    import numpy as np

    shares = np.array([[r / n if n else 0.0 for r, n in zip(row, grid.named)] for row in grid.replicated] or [[0.0]])
    figure, axes = plt.subplots(figsize=(2.5 + 0.62 * len(grid.batches), 1.6 + 0.34 * len(grid.zones)))
    image = axes.imshow(shares, cmap="Greens", vmin=0, vmax=1, aspect="auto")
    axes.set_xticks(range(len(grid.batches)), grid.batches, rotation=60, ha="right", fontsize=7)
    axes.set_yticks(range(len(grid.zones)), grid.zones, fontsize=8)
    for i, row in enumerate(grid.replicated):
        for j, count in enumerate(row):
            if grid.named[j]:
                axes.text(j, i, f"{count}/{grid.named[j]}", ha="center", va="center", fontsize=6,
                          color="white" if shares[i][j] > 0.6 else "black")
    figure.colorbar(image, ax=axes, label="已复制 / 目录中已命名的举措")
    when = f"{grid.year}年及以前" if grid.year else "全部年份"
    axes.set_title(f"各开发区复制推广附件1目录举措情况（{when}）", fontsize=11)
    out = _save(figure, suffix)
    plt.close(figure)
    return out
