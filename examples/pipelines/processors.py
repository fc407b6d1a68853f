"""Processors for buffered_csv.toml, referenced as "processors:as_rows"."""


def as_rows(records):
    """Turn integer payloads into CSV rows."""
    for record in records:
        record.payload = {"value": record.payload}
    return records
