"""The relay (relay_api) as a devnet process: uvicorn on 127.0.0.1, configured through
HYDROGEN_RELAY_* variables pointing at the devnet's own services."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import httpx

from hydrogen.devnet.accounts import Role, devnet_account
from hydrogen.devnet.layout import HOST, Layout
from hydrogen.devnet.objectstore import BUCKET, FilesystemStore, SeaweedS3
from hydrogen.devnet.service import Health, ProcessService


class RelayProcess(ProcessService):
    name = "relay"

    def __init__(
        self,
        layout: Layout,
        port: int,
        pg_dsn: str,
        kafka_bootstrap: str,
        rpc_url: str,
        objectstore: FilesystemStore | SeaweedS3,
    ) -> None:
        super().__init__(layout)
        self.port = port
        self.pg_dsn = pg_dsn
        self.kafka_bootstrap = kafka_bootstrap
        self.rpc_url = rpc_url
        self.objectstore = objectstore

    @property
    def address(self) -> str:
        return f"http://{HOST}:{self.port}"

    def argv(self) -> Sequence[str]:
        return [sys.executable, "-m", "relay_api"]

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "HYDROGEN_RELAY_HOST": HOST,
            "HYDROGEN_RELAY_PORT": str(self.port),
            "HYDROGEN_RELAY_PUBLIC_URL": self.address,
            "HYDROGEN_RELAY_PG_DSN": self.pg_dsn,
            "HYDROGEN_RELAY_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "HYDROGEN_RELAY_RPC_URL": self.rpc_url,
            "HYDROGEN_RELAY_DEPLOYMENT_FILE": str(self.layout.deployment_file),
            "HYDROGEN_RELAY_RELAY_ADDRESS": devnet_account(Role.RELAY).address,
        }
        if isinstance(self.objectstore, SeaweedS3):
            creds = self.objectstore.credentials()
            env |= {
                "HYDROGEN_RELAY_STORE": "s3",
                "HYDROGEN_RELAY_S3_ENDPOINT": self.objectstore.address,
                "HYDROGEN_RELAY_S3_BUCKET": BUCKET,
                "HYDROGEN_RELAY_S3_ACCESS_KEY": creds.access_key,
                "HYDROGEN_RELAY_S3_SECRET_KEY": creds.secret_key,
            }
        else:
            env |= {
                "HYDROGEN_RELAY_STORE": "filesystem",
                "HYDROGEN_RELAY_BLOB_DIR": str(self.objectstore.dir),
            }
        return env

    def health(self) -> Health:
        try:
            response = httpx.get(f"{self.address}/healthz", timeout=2)
        except httpx.HTTPError as exc:
            return Health(False, f"not reachable: {exc}")
        if response.status_code != 200:
            return Health(False, f"/healthz answered {response.status_code}")
        return Health(True, f"relay API, docs at {self.address}/docs")
