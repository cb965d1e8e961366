"""`python -m relay_api`: serve the relay with settings from HYDROGEN_RELAY_* (what
`hydrogen relay serve` does, without loading the rest of the CLI)."""

from relay_api.serve import serve
from relay_api.settings import RelaySettings

if __name__ == "__main__":
    serve(RelaySettings())
