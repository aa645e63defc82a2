"""Sweep a lone Conv3d weight gradient under bf16 on this CPU: which configurations give a NaN,
inf or huge weight gradient where fp32 and a float64 reference agree.

Each case is one `torch.ops.aten.convolution_backward` call (weight gradient only) on the same
random input and output gradient in float64, fp32 and bf16. Reported per case: the bf16 and fp32
relative errors against float64 (||g - g64|| / ||g64||), whether bf16 is finite, its largest
magnitude, whether three bf16 runs agree bit for bit (a kernel that reads uninitialised memory
usually does not; with --poison the heap is filled with NaN first), and the backend PyTorch
picks (`torch._C._select_conv_backend`: Mkldnn = oneDNN, Slow3d = ATen's vol2col + gemm).

Process-wide settings (threads, oneDNN's ISA cap, oneDNN on or off) differ between runs, so
the driver starts one subprocess per setting; ONEDNN_VERBOSE=1 in a child names the oneDNN
implementation that ran (`--verbose`).

    PYTHONPATH=. python bench/bf16_conv_sweep.py            # the whole sweep, ~1-2 min
    PYTHONPATH=. python bench/bf16_conv_sweep.py --verbose  # plus the oneDNN kernels that ran
    PYTHONPATH=. python bench/bf16_conv_sweep.py --all      # every run, not only the bad ones
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import torch
import torch.nn.functional as F

# (name, batch, c_in, c_out, frames, side, kernel, stride, padding): the quickstart's shapes
# as resnet3d_small's convolutions see them (stem, stage convs, shortcuts) and smaller ones.
BASE = ("k3p1", 8, 16, 16, 2, 8, (3, 3, 3), (1, 1, 1), (1, 1, 1))


def cases() -> list[tuple]:
    out = []
    for t in (1, 2, 3, 4):  # frames x kernel/padding x layout: the grid the report asks for
        for kname, k, s, p in (("k3p1", (3, 3, 3), (1, 1, 1), (1, 1, 1)),
                               ("k3p0", (3, 3, 3), (1, 1, 1), (0, 1, 1)),
                               ("k1p0", (1, 1, 1), (1, 1, 1), (0, 0, 0)),
                               ("k3s2", (3, 3, 3), (2, 2, 2), (1, 1, 1)),
                               ("stem", (3, 5, 5), (1, 2, 2), (1, 2, 2))):
            if kname == "k3p0" and t < 3:
                continue
            cin = 3 if kname == "stem" else 16
            out.append((kname, 8, cin, 16, t, 16 if kname == "stem" else 8, k, s, p))
    for n, cin, cout, side in ((1, 16, 16, 8), (64, 16, 16, 8), (8, 64, 128, 2),
                               (8, 128, 128, 1), (128, 3, 16, 16), (64, 32, 64, 4)):
        out.append(("k3p1", n, cin, cout, 2, side, (3, 3, 3), (1, 1, 1), (1, 1, 1)))
    return out


def _poison(nbytes: int = 256 << 20) -> None:
    """Fill (then free) heap memory with NaN, so a kernel reading uninitialised memory reads NaN."""
    junk = [torch.full((nbytes // 4 // 16,), float("nan")) for _ in range(16)]
    del junk


def run_case(case, cl: bool, values: str, poison: bool) -> dict:
    name, n, cin, cout, t, side, k, s, p = case
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, cin, t, side, side, generator=gen, dtype=torch.float64)
    w = torch.randn(cout, cin, *k, generator=gen, dtype=torch.float64) * (cin * k[0] * k[1] * k[2]) ** -0.5
    if values == "ints":  # small integers: exact in bf16, so only the kernel can differ
        x, w = x.mul(2).round(), w.mul(4).round()
    y_shape = F.conv3d(x, w, stride=s, padding=p).shape
    g = torch.randn(y_shape, generator=gen, dtype=torch.float64)
    if values == "ints":
        g = g.mul(2).round()
    if values == "bf16-exact":  # inputs rounded to bf16 first, so every dtype sees the same values
        x, w, g = (v.to(torch.bfloat16).double() for v in (x, w, g))

    def grad(dtype):
        xx, ww, gg = (v.to(dtype) for v in (x, w, g))
        if cl:
            xx, ww, gg = (v.contiguous(memory_format=torch.channels_last_3d) for v in (xx, ww, gg))
        if poison:
            _poison()
        return torch.ops.aten.convolution_backward(
            gg, xx, ww, None, list(s), list(p), [1, 1, 1], False, [0, 0, 0], 1,
            [False, True, False])[1].double()

    ref = grad(torch.float64)
    g32 = grad(torch.float32)
    runs = [grad(torch.bfloat16) for _ in range(3)]
    g16 = runs[0]
    xb = x.to(torch.bfloat16)
    wb = w.to(torch.bfloat16)
    if cl:
        xb, wb = (v.contiguous(memory_format=torch.channels_last_3d) for v in (xb, wb))
    backend = str(torch._C._select_conv_backend(xb, wb, None, list(s), list(p), [1, 1, 1], False,
                                                [0, 0, 0], 1)).split(".")[-1]
    norm = float(ref.norm())
    return {"case": name, "n": n, "cin": cin, "cout": cout, "t": t, "side": side, "cl": cl,
            "values": values, "poison": poison, "backend_bf16": backend,
            "rel_fp32": float((g32 - ref).norm()) / norm,
            "rel_bf16": float((g16 - ref).norm()) / norm if g16.isfinite().all() else float("inf"),
            "finite": bool(g16.isfinite().all()), "max_bf16": float(g16.abs().max()),
            "repeatable": all(torch.equal(g16, r) for r in runs[1:])}


def child(args) -> None:
    torch.set_num_threads(args.threads)
    if args.mkldnn_off:
        torch.backends.mkldnn.enabled = False
    rows = []
    for case in cases():
        for cl in (False, True):
            rows.append(run_case(case, cl, "randn", False))
    base = BASE
    for values in ("ints", "bf16-exact"):
        rows.append(run_case(base, True, values, False))
    rows.append(run_case(base, True, "randn", True))
    for r in rows:
        r.update(threads=args.threads, mkldnn_off=args.mkldnn_off,
                 isa=os.environ.get("ONEDNN_MAX_CPU_ISA", "default"))
        print("ROW " + json.dumps(r), flush=True)


SETTINGS = [  # (threads, ONEDNN_MAX_CPU_ISA or None, torch.backends.mkldnn.enabled = False)
    (1, None, False), (2, None, False), (1, "AVX2", False), (1, "SSE41", False), (1, None, True)]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mkldnn-off", action="store_true")
    ap.add_argument("--all", action="store_true", help="one row per run, not only the bad ones")
    ap.add_argument("--verbose", action="store_true",
                    help="also list the oneDNN convolution implementations that ran")
    args = ap.parse_args(argv)
    if args.child:
        return child(args)
    print(f"torch {torch.__version__}, oneDNN bf16 supported here: "
          f"{torch.ops.mkldnn._is_mkldnn_bf16_supported()}, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}", flush=True)
    rows, impls = [], set()
    for threads, isa, off in SETTINGS:
        env = dict(os.environ)
        env.pop("ONEDNN_MAX_CPU_ISA", None)
        if isa:
            env["ONEDNN_MAX_CPU_ISA"] = isa
        if args.verbose:
            env["ONEDNN_VERBOSE"] = "1"
        cmd = [sys.executable, __file__, "--child", "--threads", str(threads)]
        if off:
            cmd.append("--mkldnn-off")
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        for line in proc.stdout.splitlines():
            if line.startswith("ROW "):
                rows.append(json.loads(line[4:]))
            elif line.startswith("onednn_verbose") and ",convolution," in line:
                f = line.split(",")
                impls.add((isa or "default", f[6], f[7], f[8].split()[0]))
    bad = [r for r in rows if not r["finite"] or r["max_bf16"] > 1e6 or r["rel_bf16"] > 0.1]
    print(f"\n{len(rows)} cases over {len(SETTINGS)} settings; bad (non-finite, >1e6 or rel "
          f"error >0.1): {len(bad)}; not bit-repeatable: "
          f"{sum(not r['repeatable'] for r in rows)}; bf16 backends: "
          f"{sorted({r['backend_bf16'] for r in rows})}")
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        key = (r["case"], r["n"], f"{r['cin']}→{r['cout']}", r["t"], r["side"], r["values"],
               r["poison"])
        groups.setdefault(key, []).append(r)
    print("\nOver layouts (contiguous, channels_last_3d) and settings (threads 1/2, oneDNN ISA "
          "caps, oneDNN off):\n")
    print("| case | n | cin→cout | t | side | values | poison | runs | rel fp32 (max) | "
          "rel bf16 (max) | max abs bf16 | finite | repeatable |")
    print("|" + "---|" * 13)
    for key, rs in groups.items():
        print("| " + " | ".join(str(v) for v in key) + f" | {len(rs)} | "
              f"{max(r['rel_fp32'] for r in rs):.1e} | {max(r['rel_bf16'] for r in rs):.1e} | "
              f"{max(r['max_bf16'] for r in rs):.3g} | {all(r['finite'] for r in rs)} | "
              f"{all(r['repeatable'] for r in rs)} |")
    if not args.all:
        rows = bad
        if not bad:
            print("\nNo bad case.")
    if rows:
        print("\n| case | n | cin→cout | t | side | layout | values | poison | threads | isa | "
              "mkldnn | backend | rel fp32 | rel bf16 | max bf16 | repeatable |")
        print("|" + "---|" * 16)
    for r in rows:
        print(f"| {r['case']} | {r['n']} | {r['cin']}→{r['cout']} | {r['t']} | {r['side']} | "
              f"{'cl' if r['cl'] else 'contig'} | {r['values']} | {r['poison']} | "
              f"{r['threads']} | {r['isa']} | {'off' if r['mkldnn_off'] else 'on'} | "
              f"{r['backend_bf16']} | {r['rel_fp32']:.1e} | {r['rel_bf16']:.1e} | "
              f"{r['max_bf16']:.3g} | {r['repeatable']} |")
    if args.verbose:
        print("\noneDNN convolution implementations that ran (isa cap, impl, prop, src):")
        for i in sorted(impls):
            print("  ", *i)
        if not any(":bf16:" in i[3] for i in impls):
            print("   (no bf16 convolution ran in oneDNN)")


if __name__ == "__main__":
    main()
