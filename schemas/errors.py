"""Errors of the shared contracts, each naming the value that was wrong.

SchemaError            a schema file or the set of versions is malformed
EncodeError            a record does not fit its schema (names the field)
DecodeError            bytes that are not a record we can read
  UnknownSchemaError   framed by a writer schema this build does not know
"""


class SchemaError(ValueError):
    """A schema file, or the versions of one record, are malformed."""


class EncodeError(ValueError):
    """A record does not fit its schema."""


class DecodeError(ValueError):
    """Bytes that cannot be read as a record."""


class UnknownSchemaError(DecodeError):
    """The writer schema's fingerprint is not one of the versions we know."""
