"""Draw bench/bench_scale.py's figures: time and peak memory against the number of models (matplotlib, SVG).

    python tools/plot_scale.py [bench/results/scale.json] [docs/img/scale.svg]
    python tools/plot_scale.py [bench/results/scale.json] --table    # the figures as Markdown tables

The first two panels: the median wall time of each command (solid) and its median CPU time, user + system
(dashed), against the model count, the commands over every model apart from those after a one-model change;
the third: each command's peak RSS of its largest process (solid) and the sampled peak PSS of its whole process
tree (dashed), with issue 26's 1 GiB line. The footer
names the model shape, the runs per point, the machine's cores and the load averages the runs started at.
The SVG is byte-stable for the same JSON (no date, a fixed id salt), so a redraw changes Git only when the
figures do. `make plot-scale` measures, then draws.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
COMMANDS = ("render", "render, one changed", "cmp generate", "validate", "diff, one changed")
LABELS = {
    "render (empty tree)": "render into the empty tree",
    "render": "render, all models (no render cache)",
    "render, one changed": "render, one model changed",
    "cmp generate": "cmp generate, whole environment",
    "validate": "validate, every environment",
    "diff, one changed": "diff, one model changed",
}
ONE_MODEL = ("render, one changed", "diff, one changed")  # their own panel: seconds, not minutes
TARGET_MIB = 1024


def series(points: list[dict[str, Any]], command: str, measure: str) -> tuple[list[int], list[float]]:
    """(model counts, values) of one command's measure, over the points that measured it."""
    measured = [
        (p["models"], p["commands"][command][measure]) for p in points if measure in p["commands"].get(command, {})
    ]
    return [m for m, _ in measured], [v for _, v in measured]


def footer(result: dict[str, Any]) -> str:
    points = result["points"]
    loads = [s["load"] for p in points for s in p["commands"].values()]
    runs = ", ".join(f"{p['models']:,}: {p['runs']}" for p in points)
    skipped = "; ".join(
        f"{p['models']:,} models: {', '.join(p['skipped'])} not measured" for p in points if p["skipped"]
    )
    machine = result["machine"]
    text = (
        f"{result['shape']} models x {result['environments']} environments; medians of the runs per point ({runs});"
        f" {machine['cpus']} cores shared, load average {min(loads):.1f}-{max(loads):.1f} at the runs' start,"
        f" Python {machine['python']}; {result['started'][:10]}"
    )
    return text + (f"\n{skipped}" if skipped else "")


def draw(result: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "mlgitops-scale"  # stable element ids: the same JSON gives the same bytes
    plt.rcParams["svg.fonttype"] = "none"  # text stays text (smaller, searchable)
    points = result["points"]
    fig, (whole, one, memory) = plt.subplots(1, 3, figsize=(15, 4.8), layout="constrained")
    colors = dict(zip(COMMANDS, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    for command in COMMANDS:
        models, wall = series(points, command, "wall")
        if not models:
            continue
        color, label = colors[command], LABELS[command]
        times = one if command in ONE_MODEL else whole
        times.plot(models, wall, "o-", color=color, label=label)
        times.plot(*series(points, command, "cpu"), "s--", color=color, markersize=3, linewidth=1)
        memory.plot(*series(points, command, "peak_mib"), "o-", color=color, label=label)
        memory.plot(*series(points, command, "tree_pss_mib"), "s--", color=color, markersize=3, linewidth=1)
    whole.set(ylabel="seconds", title="every model: wall (solid), CPU (dashed)")
    one.set(ylabel="seconds", title="one model changed: wall (solid), CPU (dashed)")
    memory.axhline(TARGET_MIB, color="grey", linestyle=":", linewidth=1)
    memory.annotate("1 GiB", (0.01, TARGET_MIB), xycoords=("axes fraction", "data"), va="bottom", color="grey")
    memory.set(ylabel="MiB", title="peak memory: largest process (solid), its tree (dashed)")
    for axes in (whole, one, memory):
        axes.set_xlabel("models (x 3 environments)")
        axes.set_xlim(left=0)
        axes.set_ylim(bottom=0)
        axes.grid(True, alpha=0.3)
        axes.xaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    whole.legend(fontsize="small", loc="upper left")
    one.legend(fontsize="small", loc="upper left")
    fig.text(0.0, -0.01, footer(result), fontsize="x-small", va="top", wrap=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".svg":
        fig.savefig(out, format="svg", metadata={"Date": None}, bbox_inches="tight")
    else:  # a PNG (or another raster) to look at; the docs carry the SVG
        fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)


def markdown_tables(result: dict[str, Any]) -> str:
    """The medians per command and model count (time, then memory), then each command's linearity."""
    points = result["points"]
    header = " | ".join(f"{p['models']:,} models" for p in points)
    rows: list[str] = []
    for title, cell in (
        ("time: CPU (wall), load average", lambda s: f"{s['cpu']:.2f} s ({s['wall']:.2f} s), {s['load']:.1f}"),
        ("peak MiB: largest process (tree)", lambda s: f"{s['peak_mib']:.0f} ({s.get('tree_pss_mib', 0):.0f})"),
    ):
        rows += [f"| {title} | {header} |", "|---|" + "---|" * len(points)]
        for command in ("render (empty tree)", *COMMANDS):
            cells = [cell(p["commands"][command]) if command in p["commands"] else "not measured" for p in points]
            rows.append(f"| {LABELS.get(command, command)} | " + " | ".join(cells) + " |")
        rows.append("")
    rows += [
        "| command | CPU s per 1000 models | + fixed | R² | largest deviation | per model at "
        + ", ".join(f"{p['models']:,}" for p in points)
        + " | peak MiB per 1000 models | R² |",
        "|---|" + "---|" * 7,
    ]
    for command, by_measure in result.get("linearity", {}).items():
        cpu, peak = by_measure["cpu"], by_measure["peak_mib"]
        ratios = " / ".join(f"{r:.2f}" for r in cpu["per_model_relative"].values())
        rows.append(
            f"| {LABELS.get(command, command)} | {cpu['slope_per_1000']:.2f} | {cpu['intercept']:.2f} s"
            f" | {cpu['r2']:.4f} | {cpu['max_deviation']:.1%} | {ratios}"
            f" | {peak['slope_per_1000']:.0f} | {peak['r2']:.4f} |"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="?", default=REPO / "bench" / "results" / "scale.json")
    parser.add_argument("out", type=Path, nargs="?", default=REPO / "docs" / "img" / "scale.svg")
    parser.add_argument("--table", action="store_true", help="print the figures as Markdown tables instead")
    args = parser.parse_args()
    try:
        result = json.loads(args.results.read_text())
    except (OSError, ValueError) as exc:
        print(f"{args.results}: {exc}", file=sys.stderr)
        return 1
    if not result.get("points"):
        print(f"{args.results}: no measured points", file=sys.stderr)
        return 1
    if args.table:
        print(markdown_tables(result))
        return 0
    draw(result, args.out)
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
