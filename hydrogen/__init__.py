"""The composition root: the `hydrogen` CLI and the local devnet of real services."""
