"""bench.transform_data, as `make bench` runs it: one JSON line with rows, seconds,
rows_per_second and peak_mb, from the same function the endpoint answers with."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.transform_data import MAPPING, csv_text
from transforms.transform_data import dumps, transform_data

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_prints_the_line_make_bench_reads() -> None:
    out = subprocess.run([sys.executable, "-m", "bench.transform_data", "5000"], cwd=ROOT,
                         capture_output=True, text=True, check=True, timeout=120)
    line = json.loads(out.stdout.strip().splitlines()[-1])
    assert line["rows"] == 5000 and line["seconds"] > 0
    assert line["rows_per_second"] == line["rows"] / line["seconds"]
    assert line["transformed"] == 4900 and line["failed"] == 100  # every 50th limit is "n/a"
    assert line["peak_mb"] >= line["baseline_mb"] > 0


def test_the_benchmark_answer_is_the_records_answer() -> None:
    from transforms.transform_data import transform_data_json

    data = csv_text(3000)
    fast = b"".join(transform_data_json("csv", "bigledger_customer", MAPPING, data,
                                        max_errors=3000))  # fmt: skip
    assert fast == dumps(transform_data("csv", "bigledger_customer", MAPPING, data,
                                        max_errors=3000).to_dict()).encode()  # fmt: skip
