#!/usr/bin/python3
"""Runs GradBench evals against C++ tools and tabulates the results (scripts/gradbench.sh).

GradBench's orchestrator (a Rust program) connects an eval's standard streams to a tool's; this is
that connection, for tools laid out as GradBench's C++ tools are (<tool dir>/bin/<eval>, run as
`<eval> INPUT.json FUNCTION`, cpp.py's protocol), and for tools that speak the protocol themselves
(GradBench's Python tools, given as NAME=cmd:COMMAND). The eval (GradBench's own Python, run from the
checkout) sends start/define/evaluate/analysis messages; this driver answers them by running the
tool's program, and records the eval's own validation of every output (pass/fail is GradBench's
decision, never this script's).

  gradbench_driver.py --gradbench DIR --work DIR --eval lse --tool tapegrad=BIN_DIR \
      [--tool manual=BIN_DIR ...] [--tool pytorch=cmd:"python3 .../run.py"] [--json OUT.json] [-- EVAL ARGS...]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

# Debian 12 ships pydantic 1.10; GradBench's evals call pydantic 2's model_validate. This shim is
# put on the eval's path as sitecustomize, so GradBench's files stay as they are.
PYDANTIC_SHIM = '''
import pydantic
if not hasattr(pydantic.BaseModel, "model_validate"):
    pydantic.BaseModel.model_validate = classmethod(lambda cls, obj: cls.parse_obj(obj))
'''


def run_tool(bin_dir, module, function, input):
    program = os.path.join(bin_dir, module)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as tmp:
        json.dump(input, tmp)
        tmp.flush()
        try:
            proc = subprocess.run([program, tmp.name, function], text=True, capture_output=True)
        except OSError as e:  # missing, not executable (being rebuilt): this evaluation fails, the rest run
            return {"success": False, "error": f"{program} could not run: {e}"}
    if proc.returncode != 0:
        return {"success": False, "error": f"{program} {function} exited {proc.returncode}: {proc.stderr}"}
    lines = proc.stdout.splitlines()
    return {"success": True, "output": json.loads(lines[0]), "timings": [json.loads(l) for l in lines[1:]]}


class ProcessTool:
    """A tool that speaks GradBench's protocol itself on its standard streams (GradBench's Python
    tools: `python3 .../tools/pytorch/run.py`): each message forwarded, its one-line answer read."""

    def __init__(self, command, env):
        self.proc = subprocess.Popen(command, shell=True, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)

    def ask(self, message):
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            return {"id": message["id"], "success": False, "error": f"the tool exited {self.proc.wait()}"}
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def run_eval(gradbench, work, eval_name, tool, location, eval_args):
    """Runs one eval against one tool (a folder of C++ programs, or "cmd:" and a command for a tool
    that speaks the protocol itself); returns a list of evaluations (function, description,
    success, valid, error, evaluate nanoseconds)."""
    shim_dir = os.path.join(work, "shim")
    os.makedirs(shim_dir, exist_ok=True)
    with open(os.path.join(shim_dir, "sitecustomize.py"), "w") as f:
        f.write(PYDANTIC_SHIM)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([shim_dir, os.path.join(gradbench, "python", "gradbench")])
    process = ProcessTool(location[len("cmd:"):], env) if location.startswith("cmd:") else None
    # The evals' golden implementation runs as tools/manual/bin/<eval>, relative to the working
    # directory: `work` holds that layout (scripts/gradbench.sh builds it there).
    proc = subprocess.Popen(
        [sys.executable, "-m", f"gradbench.evals.{eval_name}.run", *eval_args],
        cwd=work, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    results, pending = [], {}
    for line in proc.stdout:
        message = json.loads(line)
        kind, response = message["kind"], {"id": message["id"]}
        if process and kind in ("start", "define", "evaluate"):
            response = process.ask(message)
            response.setdefault("success", kind != "evaluate" or "output" in response)
        elif kind == "start":
            response["tool"] = tool
        elif kind == "define":
            exists = os.access(os.path.join(location, message["module"]), os.X_OK)
            response["success"] = exists
            if not exists:
                response["error"] = f"{tool} has no program for {message['module']}"
        elif kind == "evaluate":
            response |= run_tool(location, message["module"], message["function"], message["input"])
        if kind == "evaluate":
            entry = {"function": message["function"], "description": message.get("description", ""),
                     "success": response["success"], "valid": None, "error": response.get("error"),
                     "nanoseconds": [t["nanoseconds"] for t in response.get("timings", [])
                                     if t["name"] == "evaluate"]}
            results.append(entry)
            pending[message["id"]] = entry
        elif kind == "analysis":
            entry = pending.get(message["of"])
            if entry is not None:
                entry["valid"] = message["valid"]
                entry["error"] = message.get("error")
        elif kind == "end":
            break
        try:
            proc.stdin.write(json.dumps(response) + "\n")
            proc.stdin.flush()
        except BrokenPipeError:  # the eval died (killed, crashed): its exit status is reported below
            break
    try:
        proc.stdin.close()
    except BrokenPipeError:
        pass
    status = proc.wait()
    if process:
        process.close()
    if status != 0:
        results.append({"function": "(eval)", "description": f"exited {status}", "success": False,
                        "valid": False, "error": "the eval failed", "nanoseconds": []})
    return results


# Each eval's primal function; the others are its derivatives.
PRIMALS = ("primal", "objective", "square", "cost")


def median(values):
    values = sorted(values)
    n = len(values)
    return None if n == 0 else (values[n // 2] if n % 2 else 0.5 * (values[n // 2 - 1] + values[n // 2]))


def workload_medians(results):
    """{workload: {function: median evaluate nanoseconds}} of one tool's successful evaluations."""
    times = {}
    for r in results:
        if r["success"] and r["nanoseconds"]:
            times.setdefault(r["description"], {})[r["function"]] = median(r["nanoseconds"])
    return times


def derivative_ratios(times, primals=None):
    """Per workload with a primal: its slowest derivative's median time over the primal's, the
    tool's own primal or, given `primals` (another tool's workload medians), that tool's."""
    ratios = []
    for workload, t in times.items():
        source = t if primals is None else primals.get(workload, {})
        primal = next((source[f] for f in PRIMALS if f in source), None)
        derivatives = [v for f, v in t.items() if f not in PRIMALS]
        if primal and derivatives:
            ratios.append(max(derivatives) / primal)
    return ratios


def spread(ratios):
    """A ratio column's cell: the median (min-max), or "-"."""
    return f"{median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})" if ratios else "-"


def validated(results):
    """"pass" when every evaluation succeeded and validated, else how many did."""
    evaluated = [r for r in results if r["function"] != "(eval)"]
    passes = sum(r["success"] and r["valid"] is not False for r in evaluated)
    return "pass" if evaluated and passes == len(results) else f"FAIL ({passes} of {len(results)} pass)"


def summarize(eval_name, by_tool):
    """Per tool: pass/fail, derivative / primal per workload (median run times) over its own primal
    and over manual's (GradBench's C++ primal, evals/*.hpp, which every C++ peer times as its
    primal, and ours when built against the checkout: then the two columns time one function in
    two processes), and its derivative's time over ours, as a table."""
    print(f"\n## {eval_name}\n")
    print("| tool | validated | workloads | derivative / own primal, median (min-max) "
          "| derivative / GradBench's C++ primal | time / tapegrad's |")
    print("|---|---|---|---|---|---|")
    medians = {tool: workload_medians(results) for tool, results in by_tool.items()}
    ours = medians.get("tapegrad", {})
    shared = medians.get("manual")
    for tool, results in by_tool.items():
        ratios = derivative_ratios(medians[tool])
        versus = [v / ours[workload][f] for workload, t in medians[tool].items() for f, v in t.items()
                  if f in ours.get(workload, {}) and f not in PRIMALS]
        ratio = spread(ratios)
        if not ratios and medians[tool]:  # no primal (particle, saddle): each function's median time
            ratio = "no primal; " + ", ".join(f"{f} {v / 1e6:.1f} ms" for t in medians[tool].values()
                                              for f, v in t.items())
        over_shared = spread(derivative_ratios(medians[tool], shared)) if shared else "-"
        vs = (f"{median(versus):.2f}" if versus and tool != "tapegrad" else "-")
        print(f"| {tool} | {validated(results)} | {len(medians[tool])} | {ratio} | {over_shared} | {vs} |")
        for r in results:
            if not r["success"] or r["valid"] is False:
                print(f"|  | {r['function']} {r['description']}: {(r['error'] or '')[:200]!r} | | | | |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gradbench", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--eval", required=True)
    parser.add_argument("--tool", action="append", required=True, help="NAME=BIN_DIR or NAME=cmd:COMMAND")
    parser.add_argument("--json")
    parser.add_argument("eval_args", nargs="*")
    args = parser.parse_args()
    by_tool = {}
    for spec in args.tool:  # paths made absolute: the eval runs in the work directory
        name, location = spec.split("=", 1)
        if not location.startswith("cmd:"):
            location = os.path.abspath(location)
        by_tool[name] = run_eval(os.path.abspath(args.gradbench), os.path.abspath(args.work), args.eval, name,
                                 location, args.eval_args)
    summarize(args.eval, by_tool)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"eval": args.eval, "tools": by_tool}, f, indent=1)
    failed = any(not r["success"] or r["valid"] is False for r in by_tool.get("tapegrad", []))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
