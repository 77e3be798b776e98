#!/usr/bin/env python3
"""Ratio tables from Google Benchmark JSON (medians of repetitions, with their spread).

usage: ratios.py [--svg chart.svg] run1.json [run2.json ...]
Files that are missing, empty (a filter that matched nothing) or not JSON are skipped with a note.
Spread is the coefficient of variation over the repetitions (stddev / mean), when there were any.
"""
import json
import re
import sys


def load(paths):
    """run_name -> {"median": ns, "cv": fraction or None, "counters": {...}} over all files."""
    rows = {}
    for path in paths:
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            print(f"(skipped {path}: {e.__class__.__name__})", file=sys.stderr)
            continue
        for b in data.get("benchmarks", []):
            name = b.get("run_name", b["name"])
            kind = b.get("aggregate_name") if b.get("run_type") == "aggregate" else "single"
            row = rows.setdefault(name, {"median": None, "cv": None, "counters": {}})
            scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
            if kind in ("median", "single"):
                row["median"] = b["real_time"] * scale
                row["counters"] = {k: v for k, v in b.items() if isinstance(v, (int, float))}
            elif kind == "cv":
                row["cv"] = b["real_time"]
    return {k: v for k, v in rows.items() if v["median"] is not None}


def spread(row):
    return "" if row["cv"] is None else f" ±{100 * row['cv']:.0f}%"


def us(row):
    return f"{row['median'] / 1e3:.1f}{spread(row)}"


def scalar_table(rows):
    ops = {"Lse": 2, "StochVol": 13, "Sum": 1, "Product": 1}
    found = [(m.group(1), int(m.group(2)), r) for n, r in rows.items()
             if (m := re.match(r"BM_(\w+)<Var>/(\d+)$", n))]
    if not found:
        return
    print("\n### Scalar kernels: gradient / primal, ns per op, peers (same run)\n")
    print("| kernel | n | primal us | ours us | ours / primal | ours ns/op | Adept us | ours / Adept "
          "| CoDiPack us | ours / CoDiPack | tape B/op |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for kernel, n, ours in sorted(found):
        primal = rows.get(f"BM_{kernel}<double>/{n}")
        cells = [kernel, str(n), us(primal) if primal else "", us(ours),
                 f"{ours['median'] / primal['median']:.2f}" if primal else "",
                 f"{ours['median'] / (ops[kernel] * n):.2f}"]
        for peer in ("Adept", "CoDiPack"):
            other = rows.get(f"BM_{kernel}<{peer}>/{n}")
            cells += [us(other), f"{ours['median'] / other['median']:.2f}"] if other else ["", ""]
        cells.append(f"{ours['counters'].get('tape_bytes_per_op', 0):.1f}")
        print("| " + " | ".join(cells) + " |")


def second_order_table(rows):
    """Issue 21: jvp and hvp next to the gradient (scalar kernels), and the MLP's H v next to libtorch's."""
    found = [(m.group(1), int(m.group(2)), r) for n, r in rows.items()
             if (m := re.match(r"BM_(\w+)<hvp>/(\d+)$", n))]
    if found:
        print("\n### Second order, scalar kernels: hvp / gradient, jvp / primal (same run)\n")
        print("| kernel | n | primal us | gradient us | jvp us | hvp us | hvp / gradient | jvp / primal | jvp / gradient |")
        print("|---|---|---|---|---|---|---|---|---|")
        for kernel, n, hvp in sorted(found):
            primal, grad, jvp = (rows.get(f"BM_{kernel}<{t}>/{n}") for t in ("double", "Var", "jvp"))
            if not (primal and grad and jvp):
                continue
            print(f"| {kernel} | {n} | {us(primal)} | {us(grad)} | {us(jvp)} | {us(hvp)} | "
                  f"{hvp['median'] / grad['median']:.2f} | {jvp['median'] / primal['median']:.2f} | "
                  f"{jvp['median'] / grad['median']:.2f} |")
    mlp = {k: rows.get(f"BM_MlpSecond/{k}/128") for k in ("tape/grad", "tape/hvp", "torch/grad", "torch/hvp")}
    if mlp["tape/grad"] and mlp["tape/hvp"]:
        print("\n### Second order, the trainer's MLP (784-512-256-10, float64, batch 128), us\n")
        print("| tape grad | tape hvp | hvp / grad | torch grad | torch hvp | torch hvp / grad | ours / torch hvp |")
        print("|---|---|---|---|---|---|---|")
        cells = [us(mlp["tape/grad"]), us(mlp["tape/hvp"]), f"{mlp['tape/hvp']['median'] / mlp['tape/grad']['median']:.2f}"]
        if mlp["torch/grad"] and mlp["torch/hvp"]:
            cells += [us(mlp["torch/grad"]), us(mlp["torch/hvp"]),
                      f"{mlp['torch/hvp']['median'] / mlp['torch/grad']['median']:.2f}",
                      f"{mlp['tape/hvp']['median'] / mlp['torch/hvp']['median']:.2f}"]
        else:
            cells += ["", "", "", ""]
        print("| " + " | ".join(cells) + " |")


def paired_table(rows, prefix, partner, label, ours, theirs):
    """One row per benchmark named prefix + args, next to partner + args."""
    pairs = [(n, r, rows.get(partner + n[len(prefix):])) for n, r in sorted(rows.items()) if n.startswith(prefix)]
    pairs = [p for p in pairs if p[2]]
    if not pairs:
        return
    heap = all("allocs_per_step" in p[1]["counters"] and "allocs_per_step" in p[2]["counters"] for p in pairs)
    print(f"\n### {label}\n")
    print(f"| args | {ours} us | {theirs} us | {ours} / {theirs} |"
          + (f" heap calls per step: {ours}, {theirs} |" if heap else ""))
    print("|---|---|---|---|" + ("---|" if heap else ""))
    for name, r, other in pairs:
        args = ", ".join(name[len(prefix):].split("/"))
        calls = f" {r['counters']['allocs_per_step']:.0f}, {other['counters']['allocs_per_step']:.0f} |" if heap else ""
        print(f"| {args} | {us(r)} | {us(other)} | {r['median'] / other['median']:.2f} |" + calls)


def tensor_table(rows):
    found = [(n, r) for n, r in sorted(rows.items()) if "Chain" in n or "Matmul" in n]
    if not found:
        return
    print("\n### Tensor ops\n")
    print("| benchmark | median | counter |")
    print("|---|---|---|")
    for name, r in found:
        c = r["counters"]
        if "Chain" in name:
            print(f"| {name} | {r['median']:.0f} ns{spread(r)} | {c.get('ns_per_op', 0) * 1e9:.1f} ns per op |")
        else:
            print(f"| {name} | {r['median']:.0f} ns{spread(r)} | {c.get('FLOPS', 0) / 1e9:.1f} GFLOP/s |")


def mlp_rows(rows):
    """(spec, threads) -> {impl: row} for MLP/<impl>/<spec>/t<threads>."""
    table = {}
    for name, r in rows.items():
        m = re.match(r"MLP/(\w+)/(w\d+/d\d+/b\d+/\w+)/t(\d+)$", name)
        if m:
            table.setdefault((m.group(2), int(m.group(3))), {})[m.group(1)] = r
    return table


def spec_key(key):
    spec, threads = key
    w, d, b, variant = spec.split("/")
    return (threads, variant, int(w[1:]), int(d[1:]), int(b[1:]))


def mlp_table(rows):
    table = mlp_rows(rows)
    if not table:
        return
    print("\n### MLP training step (float32): tape vs hand-derived twin vs libtorch (same run)\n")
    print("| threads | model | batch | tape us | twin us | torch us | tape / twin | tape / torch "
          "| tape GFLOP/s | BLAS-only GFLOP/s | tape / BLAS | heap calls per step: tape, torch |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for key in sorted(table, key=spec_key):
        impls = table[key]
        tape = impls.get("tape")
        if not tape:
            continue
        twin, torch = impls.get("twin"), impls.get("torch")
        blas = table.get((key[0].replace("bn_dropout", "plain"), key[1]), {}).get("blas")  # same products
        w, d, b, variant = key[0].split("/")
        gflops = tape["counters"].get("FLOPS", 0) / 1e9
        blas_gflops = blas["counters"].get("FLOPS", 0) / 1e9 if blas else 0
        cells = [str(key[1]), f"784-{w[1:]}x{int(d[1:]) - 1}-10 {variant}", b[1:], us(tape),
                 us(twin) if twin else "", us(torch) if torch else "",
                 f"{tape['median'] / twin['median']:.2f}" if twin else "",
                 f"{tape['median'] / torch['median']:.2f}" if torch else "",
                 f"{gflops:.0f}", f"{blas_gflops:.0f}" if blas else "",
                 f"{gflops / blas_gflops:.2f}" if blas else "",
                 f"{tape['counters'].get('allocs_per_step', float('nan')):.0f}, "
                 + (f"{torch['counters'].get('allocs_per_step', float('nan')):.0f}" if torch else "-")]
        print("| " + " | ".join(cells) + " |")


def epoch_table(rows):
    found = sorted((m.group(1), int(m.group(2)), r, rows.get(f"Epoch/{m.group(1)}/torch/t{m.group(2)}/iterations:1"))
                   for n, r in rows.items() if (m := re.match(r"Epoch/(\w+)/tape/t(\d+)/iterations:1$", n)))
    if not found:
        return
    print("\n### Fashion-MNIST epoch, the trainer's default recipes (same minibatches)\n")
    print("| model | threads | tape s | torch s | tape / torch | heap calls per epoch: tape, torch |")
    print("|---|---|---|---|---|---|")
    for model, threads, tape, torch in found:
        calls = f"{tape['counters'].get('allocs_per_step', float('nan')):.0f}, " + (
            f"{torch['counters'].get('allocs_per_step', float('nan')):.0f}" if torch else "-")
        print(f"| {model} | {threads} | {tape['median'] / 1e9:.2f}{spread(tape)} | "
              + (f"{torch['median'] / 1e9:.2f}{spread(torch)} | {tape['median'] / torch['median']:.2f}" if torch
                 else " | ") + f" | {calls} |")


def svg_chart(rows, path):
    """Bars of tape / twin and tape / torch for every MLP configuration on one thread."""
    table = mlp_rows(rows)
    bars = []
    for key in sorted(table, key=spec_key):
        impls = table[key]
        if "tape" not in impls:
            continue
        for peer, color in (("twin", "#4c72b0"), ("torch", "#dd8452")):
            if peer in impls:
                bars.append((f"{key[0]} t{key[1]}", peer, impls["tape"]["median"] / impls[peer]["median"], color))
    if not bars:
        return
    height, left, bar = 22 * len(bars) + 60, 260, 16
    top = max(2.0, max(b[2] for b in bars))
    scale = 500 / top
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + 560}" height="{height}" '
           'font-family="sans-serif" font-size="11">',
           '<text x="10" y="18" font-size="14">MLP step time, tapegrad tape / peer (below 1: tape faster)</text>']
    x1 = left + scale
    out.append(f'<line x1="{x1:.0f}" y1="28" x2="{x1:.0f}" y2="{height - 10}" stroke="#333" stroke-dasharray="4"/>')
    for i, (label, peer, ratio, color) in enumerate(bars):
        y = 34 + 22 * i
        out.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{label} vs {peer}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{ratio * scale:.1f}" height="{bar}" fill="{color}"/>')
        out.append(f'<text x="{left + ratio * scale + 4:.1f}" y="{y + 12}">{ratio:.2f}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main(argv):
    svg = None
    if len(argv) > 1 and argv[0] == "--svg":
        svg, argv = argv[1], argv[2:]
    rows = load(argv)
    if not rows:
        print("no benchmark results (did the filter match anything?)")
        return 0
    scalar_table(rows)
    tensor_table(rows)
    paired_table(rows, "BM_SeedStep_Tape/", "BM_SeedStep_Reference/", "Seed networks: tape vs closed form "
                 "(neurons, batch)", "tape", "closed form")
    paired_table(rows, "BM_StepLayers/", "BM_StepRawOps/", "README model step: layers vs raw ops (batch)", "layers",
                 "raw ops")
    mlp_table(rows)
    paired_table(rows, "BM_Conv/tape/", "BM_Conv/torch/", "Conv2d 3x3 forward and backward (batch, in, size, out)",
                 "tape", "torch")
    paired_table(rows, "BM_CnnStep/tape/", "BM_CnnStep/twin/", "CNN step: tape vs hand-derived twin (batch)", "tape",
                 "twin")
    paired_table(rows, "BM_Lstm/tape", "BM_Lstm/torch", "LSTM, 2 layers, hidden 256, sequence 50, batch 32", "tape",
                 "torch")
    epoch_table(rows)
    second_order_table(rows)
    if svg:
        svg_chart(rows, svg)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
