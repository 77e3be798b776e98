#!/usr/bin/env python3
"""Writes fashion_dag.json: the seed network that `tapegrad-train --network` trains on Fashion-MNIST.

A non-layered DAG in the seed note's sense: 784 pixel inputs; 64 ReLU neurons that each see one
14x14 patch of the 28x28 image (nine overlapping patches, stride 7); 32 ReLU neurons that see all
64 patch neurons through DropConnect arrows (keep 0.9); 10 identity outputs fed by the 32, by skip
arrows from the 64 patch neurons and by skip arrows from every second pixel of every second row.
Hidden neurons use batch normalisation in the seed's mode (eq. 16-25). Weights are drawn from a
fixed generator (uniform, fan-in scaled) and rounded to 4 significant digits to keep the file small.
Run: python3 examples/networks/make_fashion_dag.py > examples/networks/fashion_dag.json
"""
import json
import math
import random

rng = random.Random(2026)
side, patch, stride = 28, 14, 7
inputs = list(range(side * side))
patch_ids = [1000 + j for j in range(64)]
mix_ids = [2000 + j for j in range(32)]
output_ids = [3000 + c for c in range(10)]
corners = [(r, c) for r in range(0, side - patch + 1, stride) for c in range(0, side - patch + 1, stride)]


def weight(fan_in, gain):
    bound = gain * math.sqrt(3.0 / fan_in)
    return float(f"{rng.uniform(-bound, bound):.4g}")


neurons = [{"id": i, "type": "input"} for i in inputs]
arrows = []
for j, n in enumerate(patch_ids):
    r0, c0 = corners[j % len(corners)]
    sources = [(r0 + r) * side + c0 + c for r in range(patch) for c in range(patch)]
    neurons.append({"id": n, "activation": "relu", "batch_norm": {"gamma": 1.0, "theta": 0.0}})
    arrows += [{"from": s, "to": n, "w": weight(len(sources), math.sqrt(2))} for s in sources]
for n in mix_ids:
    neurons.append({"id": n, "activation": "relu", "batch_norm": {"gamma": 1.0, "theta": 0.0}})
    arrows += [{"from": s, "to": n, "w": weight(len(patch_ids), math.sqrt(2)), "keep": 0.9} for s in patch_ids]
pixels = [r * side + c for r in range(0, side, 2) for c in range(0, side, 2)]
for n in output_ids:
    sources = mix_ids + patch_ids + pixels
    neurons.append({"id": n, "activation": "identity"})
    arrows += [{"from": s, "to": n, "w": weight(len(sources), 1.0)} for s in sources]

network = {
    "format": "tapegrad-network",
    "version": 1,
    "inputs": inputs,
    "outputs": output_ids,
    "neurons": neurons,
    "arrows": arrows,
    "dropout": {"default_keep": 1.0},
    "batch_norm": {"mode": "seed", "eps": 1e-5, "momentum": 0.1},
}
print(json.dumps(network, separators=(",", ":")))
