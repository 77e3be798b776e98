#!/usr/bin/env python3
"""Prints gradient/primal ratios and per-op costs from Google Benchmark JSON files (medians)."""
import json
import re
import sys


def medians(paths):
    rows = {}
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        for b in data["benchmarks"]:
            if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
                continue
            name = b.get("run_name", b["name"])
            rows[name] = b
    return rows


def main():
    rows = medians(sys.argv[1:])
    print("| kernel | n | primal ns | gradient ns | gradient/primal | ns per taped op | tape bytes per op |")
    print("|---|---|---|---|---|---|---|")
    for name, b in sorted(rows.items()):
        m = re.match(r"(BM_\w+)<Var>/(\d+)$", name)
        if not m:
            continue
        primal = rows.get(f"{m.group(1)}<double>/{m.group(2)}")
        if not primal:
            continue
        ratio = b["real_time"] / primal["real_time"]
        print(f"| {m.group(1)[3:]} | {m.group(2)} | {primal['real_time']:.0f} | {b['real_time']:.0f} | "
              f"{ratio:.2f} | {b['ns_per_op'] * 1e9:.2f} | {b.get('tape_bytes_per_op', 0):.1f} |")
    print()
    print("| tensor benchmark | median | counter |")
    print("|---|---|---|")
    for name, b in sorted(rows.items()):
        if "Chain" in name:
            print(f"| {name} | {b['real_time']:.0f} ns | {b['ns_per_op'] * 1e9:.1f} ns per op |")
        elif "Matmul" in name:
            print(f"| {name} | {b['real_time']:.0f} ns | {b['FLOPS'] / 1e9:.1f} GFLOP/s |")
    paired_table(rows, "BM_SeedStep_Tape/", "BM_SeedStep_Reference/", "seed step: neurons K, batch m", "tape",
                 "closed form")
    paired_table(rows, "BM_StepLayers/", "BM_StepRawOps/", "README model step, batch", "layers", "raw ops")


def paired_table(rows, prefix, partner, label, ours, theirs):
    """One row per benchmark named prefix + args, next to partner + args."""
    pairs = [(n, b, rows.get(partner + n[len(prefix):])) for n, b in sorted(rows.items()) if n.startswith(prefix)]
    pairs = [p for p in pairs if p[2]]
    if not pairs:
        return
    print()
    print(f"| {label} | {ours} us | {theirs} us | {ours} / {theirs} |")
    print("|---|---|---|---|")
    for name, b, other in pairs:
        args = ", ".join(name.split("/")[1:])
        print(f"| {args} | {b['real_time']:.1f} | {other['real_time']:.1f} | {b['real_time'] / other['real_time']:.2f} |")

if __name__ == "__main__":
    main()
