#!/usr/bin/python3
"""Gathers the runs scripts/gradbench.sh left in a folder (<eval>.json, one per eval) into
summary.json and an SVG chart, summary.svg: per eval, each tool's derivative / primal (the median
over the eval's workloads, with its min-max as a whisker) on a log scale; a tool that failed
validation is drawn hollow.

  gradbench_chart.py build/release/gradbench
"""
import glob
import json
import math
import os
import sys

from gradbench_driver import derivative_ratios, median, validated, workload_medians

COLOURS = {"tapegrad": "#d62728", "manual": "#7f7f7f", "codipack": "#1f77b4", "adept": "#2ca02c",
           "cppad": "#9467bd", "adol-c": "#ff7f0e"}


def gather(folder):
    summary = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        if os.path.basename(path) == "summary.json":
            continue
        with open(path) as f:
            run = json.load(f)
        tools = {}
        shared = workload_medians(run["tools"]["manual"]) if "manual" in run["tools"] else None
        for tool, results in run["tools"].items():
            ratios = derivative_ratios(workload_medians(results))
            if ratios:
                tools[tool] = {"validated": validated(results), "median": median(ratios), "min": min(ratios),
                               "max": max(ratios), "workloads": len(ratios)}
                over_shared = derivative_ratios(workload_medians(results), shared) if shared else []
                if over_shared:  # over GradBench's C++ primal, as manual times it
                    tools[tool]["median_over_cpp_primal"] = median(over_shared)
        if tools:
            summary[run["eval"]] = tools
    return summary


def svg(summary):
    bar, gap, left, top, height = 14, 18, 60, 30, 260
    lo, hi = 0.1, 1000.0  # the log axis, derivative / primal

    def y(v):
        v = min(max(v, lo), hi)
        return top + height * (1 - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)))

    width = left + sum(len(t) * bar + gap for t in summary.values()) + 150
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top + height + 60}" '
           'font-family="sans-serif" font-size="11">',
           f'<text x="{left}" y="16">GradBench: derivative / primal, median over workloads (log scale; '
           'min-max whiskers; hollow = failed validation)</text>']
    for k in range(-1, 4):
        v = 10.0 ** k
        out.append(f'<line x1="{left}" x2="{width - 150}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
    x = left + gap / 2
    for eval_name, tools in summary.items():
        start = x
        for tool, r in tools.items():
            colour = COLOURS.get(tool, "#17becf")
            fill = colour if r["validated"] == "pass" else "none"
            out.append(f'<rect x="{x:.1f}" y="{y(r["median"]):.1f}" width="{bar - 2}" '
                       f'height="{top + height - y(r["median"]):.1f}" fill="{fill}" stroke="{colour}">'
                       f'<title>{eval_name} {tool}: {r["median"]:.2f} ({r["min"]:.2f}-{r["max"]:.2f})</title></rect>')
            mid = x + (bar - 2) / 2
            out.append(f'<line x1="{mid:.1f}" x2="{mid:.1f}" y1="{y(r["min"]):.1f}" y2="{y(r["max"]):.1f}" '
                       'stroke="#000"/>')
            x += bar
        out.append(f'<text x="{(start + x) / 2:.1f}" y="{top + height + 16}" text-anchor="middle">{eval_name}</text>')
        x += gap
    for i, (tool, colour) in enumerate(COLOURS.items()):
        out.append(f'<rect x="{width - 140}" y="{top + 14 * i}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{width - 125}" y="{top + 14 * i + 9}">{tool}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_atomically(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gradbench_chart.py FOLDER (where scripts/gradbench.sh wrote <eval>.json)")
    summary = gather(sys.argv[1])
    write_atomically(os.path.join(sys.argv[1], "summary.json"), json.dumps(summary, indent=1) + "\n")
    write_atomically(os.path.join(sys.argv[1], "summary.svg"), svg(summary))
    print(f"wrote {sys.argv[1]}/summary.json and summary.svg ({len(summary)} evals)")


if __name__ == "__main__":
    main()
