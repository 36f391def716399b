"""transform-data throughput: the spec's customer mapping over a generated CSV.

Run as `python -m bench.transform_data ROWS`; prints one JSON line with the wall time, rows
per second and the peak memory of this process (peak_mb; baseline_mb is the resident size
with the CSV text in memory before the transform, transform_rss_mb the largest seen during
it). The time covers what the endpoint does for
a caller: transform_data_json (the function POST /v1/integrations/transform-data answers
with) from the CSV text to the last byte of the answer's JSON."""

from __future__ import annotations

import hashlib
import json
import resource
import sys
import time

MAPPING = {
    "name": "company_name", "email": "contact_email", "phone": "phone_number",
    "address.street": "street_address", "address.city": "city",
    "creditLimit": {"field": "credit_limit", "transform": "parseFloat", "default": 0},
}


def csv_text(rows: int) -> str:
    """A customer file like the spec's, every 50th row with a bad credit limit."""
    blocks = ["company_name,contact_email,phone_number,street_address,city,credit_limit\n"]
    for start in range(0, rows, 10_000):  # joined a block at a time: the peak stays the file's
        out = []
        for i in range(start, min(rows, start + 10_000)):
            limit = "n/a" if i % 50 == 49 else f"{(i * 37) % 100000}.{i % 100:02d}"
            out.append(f"Company {i},buyer{i}@example.com,+60 3 {i:07d},{i} Jalan Ampang,"
                       f"Kuala Lumpur,{limit}\n")
        blocks.append("".join(out))
    return "".join(blocks)


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def main(rows: int) -> dict:
    from transforms.transform_data import transform_data_json

    data = csv_text(rows)
    baseline = _rss_mb()  # the interpreter, the libraries and the CSV text itself
    t0 = time.perf_counter()
    size = 0
    digest = hashlib.sha256()
    last = b""
    during = baseline
    for index, part in enumerate(transform_data_json("csv", "bigledger_customer", MAPPING, data,
                                                     max_rows=rows, max_errors=rows)):
        size += len(part)
        digest.update(part)
        last = part
        if index % 16 == 0:
            during = max(during, _rss_mb())
    seconds = time.perf_counter() - t0
    summary = json.loads(last[last.rindex(b'"summary":') + 10:-1])
    return {"rows": rows, "seconds": seconds, "rows_per_second": rows / seconds,
            "transformed": summary["transformed"], "failed": summary["failed"],
            "answer_mb": size / 2**20, "answer_sha256": digest.hexdigest()[:16],
            "baseline_mb": baseline, "transform_rss_mb": max(during, _rss_mb()),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)))
