"""A separate process for the lake tests: `python -m tests.lake_worker append|read SETTINGS_JSON ...`.

append TABLE FIRST_BATCH BATCHES ROWS: commit BATCHES batches of ROWS rows (ids batch*ROWS + i), each in two
INSERTs of one transaction, so that a reader could see half a batch if it saw uncommitted rows.
read TABLE ROWS STOP_FILE: read the table until STOP_FILE exists, then once more; report every error and every
batch seen with a row count other than ROWS.
Both print one JSON line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow as pa

from warehouse.lake import LakeSettings, open_lake, write_with_retry


def batch_halves(batch: int, rows: int) -> tuple[pa.Table, pa.Table]:
    """The two halves of one batch's rows as Arrow tables."""
    ids = [batch * rows + i for i in range(rows)]
    table = pa.table({"id": pa.array(ids, pa.int64()), "batch": pa.array([batch] * rows, pa.int64())})
    half = rows // 2
    return table.slice(0, half), table.slice(half)


def append_batches(settings: LakeSettings, table: str, first_batch: int, batches: int, rows: int) -> dict:
    """Commit the batches one transaction each (run again while the catalog is busy); return how many."""
    connection = open_lake(settings)
    for batch in range(first_batch, first_batch + batches):
        head, tail = batch_halves(batch, rows)

        def insert_halves(connection, head=head, tail=tail) -> None:
            connection.execute(f"INSERT INTO {table} SELECT * FROM head")
            connection.execute(f"INSERT INTO {table} SELECT * FROM tail")

        write_with_retry(connection, insert_halves)
    connection.close()
    return {"committed": batches}


def read_until_stopped(settings: LakeSettings, table: str, rows: int, stop_file: Path) -> dict:
    """Count rows per batch again and again until the stop file appears, then once more."""
    connection = open_lake(settings, read_only=True)
    reads, errors, partial, last = 0, [], [], {}
    while True:
        stopping = stop_file.exists()
        try:
            counts = connection.execute(f"SELECT batch, count(*) FROM {table} GROUP BY batch").fetchall()
        except Exception as error:  # any error at all is what the test looks for
            errors.append(str(error))
        else:
            reads += 1
            last = dict(counts)
            partial.extend([batch, count] for batch, count in counts if count != rows)
        if stopping:
            break
    connection.close()
    return {"reads": reads, "errors": errors, "partial": partial, "batches": sorted(last)}


def main(argv: list[str]) -> None:
    """Run one command and print its JSON report."""
    command, settings = argv[0], LakeSettings(**json.loads(argv[1]))
    if command == "append":
        table, first, batches, rows = argv[2], int(argv[3]), int(argv[4]), int(argv[5])
        report = append_batches(settings, table, first, batches, rows)
    elif command == "read":
        report = read_until_stopped(settings, argv[2], int(argv[3]), Path(argv[4]))
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
