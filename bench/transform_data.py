"""transform-data throughput: the spec's customer mapping over a generated CSV.

Run as `python -m bench.transform_data ROWS`; prints one JSON line with the wall time, rows
per second and the peak memory of this process."""

from __future__ import annotations

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
    out = ["company_name,contact_email,phone_number,street_address,city,credit_limit"]
    for i in range(rows):
        limit = "n/a" if i % 50 == 49 else f"{(i * 37) % 100000}.{i % 100:02d}"
        out.append(f"Company {i},buyer{i}@example.com,+60 3 {i:07d},{i} Jalan Ampang,"
                   f"Kuala Lumpur,{limit}")
    return "\n".join(out) + "\n"


def main(rows: int) -> dict:
    from transforms.transform_data import transform_data

    data = csv_text(rows)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    result = transform_data("csv", "bigledger_customer", MAPPING, data, max_rows=rows,
                            max_errors=rows)
    seconds = time.perf_counter() - t0
    return {"rows": rows, "seconds": seconds, "rows_per_second": rows / seconds,
            "transformed": result.summary["transformed"], "failed": result.summary["failed"],
            "baseline_mb": baseline,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)))
