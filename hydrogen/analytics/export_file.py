"""Rows into a Parquet or CSV file with pyarrow, a batch at a time.

Both formats get the same typed columns (`columns.Column`). CSV has no lists, so a list
column is written there as a JSON array of strings (`["0x11…", "0x22…"]`, wei amounts as
digit strings); Parquet keeps real lists. In CSV an empty field is NULL and `""` is empty
text. Timestamps are UTC.

The file appears only once it is whole: rows go to a hidden file beside it, renamed over it
at the end, so an export that fails leaves no half file behind and the old one untouched.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from hydrogen.analytics.columns import WEI_DIGITS, Column, Kind, arrow_schema
from hydrogen.analytics.errors import ExportError

Format = Literal["parquet", "csv"]
FORMATS: tuple[Format, ...] = ("parquet", "csv")
BATCH_ROWS = 10_000
_WEI_LIMIT = 10**WEI_DIGITS


def file_schema(columns: tuple[Column, ...], fmt: Format) -> pa.Schema:
    """The schema of the written file: CSV has text where Parquet has lists."""
    if fmt == "parquet":
        return arrow_schema(columns)
    return pa.schema(
        [pa.field(c.name, pa.string() if c.kind.is_list else c.kind.arrow) for c in columns]
    )


def record_batch(
    rows: Sequence[Mapping[str, Any]], columns: tuple[Column, ...], fmt: Format
) -> pa.RecordBatch:
    """`rows` (dicts keyed by column name; a missing key is NULL) as one typed batch."""
    schema = file_schema(columns, fmt)
    arrays = []
    for column, field in zip(columns, schema, strict=True):
        values = []
        for row in rows:
            try:
                values.append(_value(column, row.get(column.name), fmt))
            except ExportError as exc:
                raise ExportError(f"{exc} (row {_row_id(row)})") from exc
        arrays.append(pa.array(values, type=field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _row_id(row: Mapping[str, Any]) -> str:
    """The columns that say which row this is, for an error message."""
    keys = ("chain_id", "task_id", "node", "event_id", "step")
    return " ".join(f"{k}={row[k]}" for k in keys if row.get(k) is not None) or "without ids"


def _value(column: Column, value: Any, fmt: Format) -> Any:
    if value is None:
        return None
    if column.kind is Kind.WEI:
        return _wei(column, value)
    if column.kind is Kind.WEI_LIST:
        amounts = [_wei(column, v) for v in value]
        return json.dumps([str(a) for a in amounts]) if fmt == "csv" else amounts
    if column.kind is Kind.TEXT_LIST:
        return json.dumps([str(v) for v in value]) if fmt == "csv" else list(value)
    return value


def _wei(column: Column, value: Any) -> Decimal:
    amount = int(value)
    if not -_WEI_LIMIT < amount < _WEI_LIMIT:
        raise ExportError(
            f"column {column.name}: {amount} wei has more than {WEI_DIGITS} digits, more than "
            f"its decimal({WEI_DIGITS}, 0) column holds"
        )
    return Decimal(amount)


def write_rows(
    rows: Iterable[Mapping[str, Any]],
    columns: tuple[Column, ...],
    fmt: Format,
    path: Path,
    batch_rows: int = BATCH_ROWS,
) -> int:
    """Write `rows` to `path` as `fmt`; the number of rows written."""
    partial = path.with_name(f".{path.name}.partial")
    schema = file_schema(columns, fmt)
    written = 0
    try:
        with _writer(fmt, partial, schema) as writer:
            for chunk in _chunks(rows, batch_rows):
                writer.write_batch(record_batch(chunk, columns, fmt))
                written += len(chunk)
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return written


def _writer(fmt: Format, path: Path, schema: pa.Schema) -> Any:
    if fmt == "parquet":
        return pq.ParquetWriter(str(path), schema)
    return pa_csv.CSVWriter(str(path), schema)


def _chunks(rows: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    chunk: list[Mapping[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
