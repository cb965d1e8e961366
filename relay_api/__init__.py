"""The relay: task arguments and result blobs out of Postgres and object storage, over HTTP."""
