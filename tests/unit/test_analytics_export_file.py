"""Rows into Parquet and CSV files (pyarrow, local files only)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from hydrogen.analytics.columns import Column, Kind
from hydrogen.analytics.errors import ExportError
from hydrogen.analytics.export_file import file_schema, record_batch, write_rows

COLUMNS = (
    Column("at", Kind.TIMESTAMP),
    Column("n", Kind.INT),
    Column("who", Kind.TEXT),
    Column("fee", Kind.WEI),
    Column("nodes", Kind.TEXT_LIST),
    Column("payouts", Kind.WEI_LIST),
)
AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
ROW = {
    "at": AT,
    "n": 7,
    "who": "0xabc",
    "fee": 3 * 10**15,
    "nodes": ["0xa", "0xb"],
    "payouts": [Decimal(1500), 1501],
}


def test_a_batch_has_the_columns_types() -> None:
    batch = record_batch([ROW, {}], COLUMNS, "parquet")
    assert batch.schema.field("fee").type == pa.decimal128(38, 0)
    assert batch.schema.field("payouts").type == pa.list_(pa.decimal128(38, 0))
    assert batch.to_pylist() == [
        {**ROW, "fee": Decimal(3 * 10**15), "payouts": [Decimal(1500), Decimal(1501)]},
        dict.fromkeys(ROW),  # a missing value is NULL
    ]


def test_csv_writes_lists_as_json_arrays_of_strings() -> None:
    batch = record_batch([ROW], COLUMNS, "csv")
    assert batch.schema.field("nodes").type == pa.string()
    row = batch.to_pylist()[0]
    assert json.loads(row["nodes"]) == ["0xa", "0xb"]
    assert json.loads(row["payouts"]) == ["1500", "1501"]


def test_an_amount_past_38_digits_is_refused_naming_column_and_value() -> None:
    with pytest.raises(ExportError, match=r"column fee: 1(0){38} wei has more than 38 digits"):
        record_batch([{**ROW, "fee": 10**38}], COLUMNS, "parquet")
    assert record_batch([{**ROW, "fee": 10**38 - 1}], COLUMNS, "parquet").num_rows == 1


def test_parquet_round_trip_in_several_batches(tmp_path: Path) -> None:
    out = tmp_path / "rows.parquet"
    rows = [{**ROW, "n": i} for i in range(5)]
    assert write_rows(rows, COLUMNS, "parquet", out, batch_rows=2) == 5
    table = pq.read_table(out)
    assert table.schema == file_schema(COLUMNS, "parquet")
    assert [r["n"] for r in table.to_pylist()] == [0, 1, 2, 3, 4]
    assert table.to_pylist()[0]["at"] == AT


def test_csv_round_trip_keeps_types_and_tells_null_from_empty(tmp_path: Path) -> None:
    out = tmp_path / "rows.csv"
    write_rows([ROW, {**ROW, "who": ""}, {"n": 1}], COLUMNS, "csv", out)
    table = pa_csv.read_csv(
        out,
        convert_options=pa_csv.ConvertOptions(
            column_types=file_schema(COLUMNS, "csv"),
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    first, empty, nulls = table.to_pylist()
    assert (first["at"], first["fee"], first["who"]) == (AT, Decimal(3 * 10**15), "0xabc")
    assert empty["who"] == ""
    assert (nulls["who"], nulls["fee"], nulls["at"]) == (None, None, None)


def test_no_rows_still_writes_the_columns(tmp_path: Path) -> None:
    out = tmp_path / "none.parquet"
    assert write_rows([], COLUMNS, "parquet", out) == 0
    assert pq.read_table(out).schema == file_schema(COLUMNS, "parquet")


def test_a_failed_export_leaves_the_old_file_and_no_partial_one(tmp_path: Path) -> None:
    out = tmp_path / "rows.csv"
    out.write_text("the previous export\n")

    def rows() -> Iterator[dict[str, Any]]:
        yield ROW
        yield ROW
        yield {**ROW, "fee": 10**40}

    with pytest.raises(ExportError, match="column fee"):
        write_rows(rows(), COLUMNS, "csv", out, batch_rows=2)
    assert out.read_text() == "the previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["rows.csv"]


def test_a_file_in_a_missing_folder_is_refused_naming_it(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "rows.parquet"
    with pytest.raises(ExportError, match=f"cannot write {out}"):
        write_rows([ROW], COLUMNS, "parquet", out)
