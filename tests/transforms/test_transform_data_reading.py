"""Reading a CSV in chunks: a plain file (no quote, CR or NUL) split with str.split gives the
frames pandas' parser gives, whatever the chunk size; every check still runs on the whole
file before the first row is mapped."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from bigledger.errors import DataMappingError, ValidationFailed
from transforms import tabular_sources
from transforms.tabular_sources import open_source, read_source
from transforms.transform_data import transform_data_json

CELLS = ["a", "b c", " lead", "trail ", "", "  ", "\t", "é", "\u00a0", "\x1c", "1,5", "x;y",
         "p|q", "日本", "0", "NaN", "null", "-"]


def _plain_csv(rng: random.Random) -> tuple[str, str]:
    sep = rng.choice([",", ";", "\t", "|"])
    width = rng.randint(2, 5)
    lines = [sep.join(f"c{j}{rng.choice(['', ' ', 'é'])}" for j in range(width))]
    for _ in range(rng.randint(1, 30)):
        lines.append(sep.join(rng.choice(CELLS).replace(sep, "") for _ in range(width)))
        if rng.random() < 0.1:
            lines.append("")
    return "\n".join(lines) + rng.choice(["", "\n", "\n\n"]), sep


def _pandas(text: str, sep: str) -> pd.DataFrame:
    frame = tabular_sources._read_csv(text, sep)
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def test_a_plain_csv_is_split_as_pandas_parses_it() -> None:
    rng = random.Random(6)
    for _ in range(300):
        text, sep = _plain_csv(rng)
        expected = _pandas(text, sep)
        source = open_source("csv", text, delimiter=sep)
        for size in (1, 3, 1000):
            chunks = list(source.chunks(size))
            assert all(len(c) <= size for c in chunks)
            got = pd.concat(chunks)
            assert list(got.columns) == list(expected.columns)
            assert got.to_numpy().tolist() == expected.to_numpy().tolist(), repr(text)
            assert list(got.index) == list(range(1, len(expected) + 1))
            assert all(type(v) is str for v in got.to_numpy().ravel())


def test_quoted_files_go_through_pandas_in_chunks() -> None:
    text = 'name,note\n"Acme, Inc.","said ""hi""\nthen left"\nBeta,\r\nGamma,"x"\n'
    frame = read_source("csv", text)
    chunks = pd.concat(list(open_source("csv", text).chunks(1)))
    assert chunks.to_numpy().tolist() == frame.to_numpy().tolist() == [
        ["Acme, Inc.", 'said "hi"\nthen left'], ["Beta", ""], ["Gamma", "x"]]


@pytest.mark.parametrize("text", [
    "a,b,c\n1,2,3\n4,5\n6,7,8\n9,10,11,12\n",  # plain: counted with numpy
    'a,b,c\n"1",2,3\n4,5\n6,7,8\n9,10,11,12\n',  # quoted: counted with the csv module
])
def test_ragged_rows_are_named_either_way(text) -> None:
    with pytest.raises(ValidationFailed) as caught:
        open_source("csv", text)
    assert [d["line"] for d in caught.value.details["lines"]] == [3, 5]


def test_the_whole_file_is_checked_before_the_mapping() -> None:
    # An unclosed quote at the end: pandas refuses it, the csv module would not; the error
    # is the file's, as when the file was read whole, not the (also broken) mapping's.
    mapping = {"name": "no_such_column"}
    with pytest.raises(ValidationFailed, match="not a readable CSV"):
        transform_data_json("csv", "bigledger_customer", mapping, 'name,x\nA,"open\n')
    with pytest.raises(ValidationFailed, match="ragged"):
        transform_data_json("csv", "bigledger_customer", mapping, "name,x\nA\n")
    with pytest.raises(ValidationFailed, match="too many rows"):
        transform_data_json("csv", "bigledger_customer", mapping, "name\nA\nB\nC\n",
                            max_rows=2)  # fmt: skip
    with pytest.raises(DataMappingError, match="no_such_column"):
        transform_data_json("csv", "bigledger_customer", mapping, "name,x\nA,1\n")


def test_rows_pandas_skips_count_as_pandas_counts_them() -> None:
    # Spaces alone on a line of a one-column file: the csv module counts a record, pandas
    # skips it; the row limit counts what pandas reads, as before.
    text = "name\nA\n   \nB\n"
    assert len(read_source("csv", text, max_rows=2)) == 2
    with pytest.raises(ValidationFailed, match="too many rows"):
        read_source("csv", text + "C\n", max_rows=2)
