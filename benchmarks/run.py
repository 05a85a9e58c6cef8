"""Gradient timings in one run: fluxpy next to hand-written NumPy and whichever peers are installed (HIPS
autograd, PyTorch eager, JAX eager and jit), then second derivatives, first-call latency and peak memory,
each against its target.

Run ``python -m benchmarks`` (or ``python benchmarks/run.py``); ``--quick`` for a smoke run, ``--only TEXT``
for the rows whose name contains TEXT, ``--markdown PATH`` to write the tables to a file as well,
``--single-thread`` to run every library on one thread (steadier on a busy machine). Every
column's gradients are checked against the hand-written ones before anything is timed; each cell is the
median of batched calls after warm-up (benchmarks/timing.py).
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import cases, first_call, memory, report, second_order  # noqa: E402
from benchmarks.report import at_most, header, ratio, row  # noqa: E402
from benchmarks.timing import (  # noqa: E402
    DEFAULT_BUDGET,
    QUICK_BUDGET,
    fmt,
    fmt_bytes,
    median_time,
    single_thread,
)

FIRST_CALL = "first call of a 30-line function (transform + gradient)"


class Output:
    """Prints each line as it comes and keeps them for ``--markdown``."""

    def __init__(self):
        self.lines = []

    def __call__(self, text=""):
        print(text, flush=True)
        self.lines.append(text)


def main_table(out, only, budget):
    """The main table; returns ``{case name: {column: seconds}}``."""
    table = cases.build(only)
    if not table:
        return {}
    for case in table:
        cases.check(case)
    columns = [c for c in cases.COLUMNS if any(c in case.columns for case in table)]
    ratios = ("fluxpy / hand-written", "torch / fluxpy", "autograd / fluxpy")
    out(header(["gradient of", *columns, *ratios, "target"]))
    timings = {}
    for case in table:
        times = {c: median_time(fn, budget) for c, fn in case.columns.items()}
        timings[case.name] = times
        cells = [fmt(times[c]) if c in times else "—" for c in columns]
        pairs = (("fluxpy", "hand-written"), ("torch", "fluxpy"), ("autograd", "fluxpy"))
        cells += [ratio(times[a] / times[b]) if a in times and b in times else "—" for a, b in pairs]
        out(row([case.name, *cells, report.target_cell(case.kind, times)]))
    out()
    out(
        f"Targets: array workloads (MLPs, RNN, CNN) at most {report.ARRAY_TARGET}x hand-written; "
        f"overhead-bound ones (polynomial, sum of squares, scalar loop) at least {report.TORCH_TARGET:.0f}x "
        f"faster than PyTorch eager and {report.AUTOGRAD_TARGET:.0f}x faster than HIPS autograd."
    )
    return timings


def second_order_table(out, only, budget, timings):
    """First against second order; reuses the main table's polynomial timings when it has them."""
    rows = [r for r in second_order.rows() if not only or only.lower() in r[0].lower()]
    if not rows:
        return
    second_order.check()
    out()
    out(header(["second order (fluxpy)", "first order", "second order", "ratio", "target ≤ 4x"]))
    for name, first_fn, second_fn, main in rows:
        if main and all(m in timings for m in main):
            t1, t2 = (timings[m]["fluxpy"] for m in main)
        else:
            t1, t2 = median_time(first_fn, budget), median_time(second_fn, budget)
        out(row([name, fmt(t1), fmt(t2), ratio(t2 / t1), at_most(t2 / t1, second_order.TARGET)]))


def first_call_line(out, only, budget):
    if only and only.lower() not in FIRST_CALL:
        return
    first_call.check()
    t, cached = first_call.measure(max(budget, 0.1))
    out()
    out(
        f"{FIRST_CALL[0].upper()}{FIRST_CALL[1:]}: {fmt(t)} "
        "(median of fresh transforms of benchmarks/portfolio.py; "
        f"a cached call takes {fmt(cached)}); target < {first_call.TARGET * 1e3:.0f} ms: "
        f"{at_most(t, first_call.TARGET)}."
    )


def memory_line(out, only):
    if only and only.lower() not in memory.NAME.lower():
        return
    hand, ours = memory.measure()
    out()
    out(
        f"{memory.NAME[0].upper()}{memory.NAME[1:]}: "
        f"hand-written {fmt_bytes(hand)}, fluxpy {fmt_bytes(ours)}, "
        f"{ratio(ours / hand)}; target ≤ {memory.TARGET}x: {at_most(ours / hand, memory.TARGET)}."
    )


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short budget per cell (a smoke test)")
    parser.add_argument("--only", metavar="TEXT", help="only the rows whose name contains TEXT")
    parser.add_argument("--markdown", metavar="PATH", help="write the tables to PATH too")
    parser.add_argument(
        "--single-thread", action="store_true", help="limit NumPy's BLAS, PyTorch and XLA to one thread each"
    )
    args = parser.parse_args(argv)
    if args.single_thread:
        single_thread()
    budget = QUICK_BUDGET if args.quick else DEFAULT_BUDGET
    out = Output()
    out(report.machine(report.peer_descriptions([c for c in cases.COLUMNS if cases.column_module(c)])))
    threads = "; BLAS, PyTorch and XLA limited to one thread" if args.single_thread else ""
    out(f"Each cell: the median of {budget:g} s of batched calls after 2 warm-up calls{threads}.")
    out()
    timings = main_table(out, args.only, budget)
    second_order_table(out, args.only, budget, timings)
    first_call_line(out, args.only, budget)
    memory_line(out, args.only)
    if len(out.lines) == 3:
        out(f"Nothing matches --only {args.only!r}.")
    if args.markdown:
        Path(args.markdown).write_text("\n".join(out.lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
