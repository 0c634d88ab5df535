#!/usr/bin/env python3
"""Reads Google Benchmark JSON from ci/bench and prints the medians that matter and the ratios
against peers measured in the same run (our CRC32C digest path / raw ISA-L crc32_iscsi)."""
import json
import pathlib
import sys


def medians(path):
    data = json.loads(path.read_text())
    out = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name") == "median":
            out[b["run_name"]] = b
    return out, data.get("context", {})


def rate(b):
    return b.get("bytes_per_second", 0.0) / 1e9


def main(folder):
    folder = pathlib.Path(folder)
    digest, ctx = medians(folder / "bench_digest.json")
    print(f"\nmachine: {ctx.get('num_cpus')} cpus, {ctx.get('mhz_per_cpu')} MHz, "
          f"load avg {ctx.get('load_avg')}")
    print("\nCRC32C, our digest path vs raw ISA-L crc32_iscsi (same run, medians):")
    print(f"  {'size':>8}  {'ours GB/s':>10}  {'raw GB/s':>10}  {'ratio':>6}")
    for size in (48, 8192, 262144):
        ours = digest.get(f"BM_Crc32c_Ours/{size}")
        raw = digest.get(f"BM_Crc32c_RawIsal/{size}")
        if ours and raw:
            print(f"  {size:>8}  {rate(ours):>10.2f}  {rate(raw):>10.2f}  {rate(ours) / rate(raw):>6.2f}")
    pdu, _ = medians(folder / "bench_pdu.json")
    print("\nPDU codec and framer (medians):")
    for name, b in sorted(pdu.items()):
        extra = f"  {rate(b):6.2f} GB/s" if "bytes_per_second" in b else ""
        print(f"  {name:<48} {b['cpu_time']:>10.1f} {b['time_unit']}{extra}")
    text, _ = medians(folder / "bench_text.json")
    print("\nText keys and negotiation (medians):")
    for name, b in sorted(text.items()):
        extra = f"  {b['items_per_second'] / 1e6:6.2f} M keys/s" if "items_per_second" in b else ""
        print(f"  {name:<48} {b['cpu_time']:>10.1f} {b['time_unit']}{extra}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/reports/bench")
