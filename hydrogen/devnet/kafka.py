"""Apache Kafka 4.x as one KRaft node (broker and controller), from Maven Central jars."""

from __future__ import annotations

import base64
import logging
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

from confluent_kafka.admin import AdminClient

from hydrogen.devnet.layout import HOST, Layout
from hydrogen.devnet.service import DevnetError, Health, ProcessService
from hydrogen.topics import ensure_topics
from schemas.catalog import TOPICS

log = logging.getLogger(__name__)

KAFKA_DIR = Path(__file__).resolve().parent / "kafka"
POM = KAFKA_DIR / "pom.xml"
KAFKA_VERSION = re.search(r"<kafka.version>([^<]+)<", POM.read_text()).group(1)  # type: ignore[union-attr]
VERSION_LINE = re.compile(rb"Kafka version: (\S+)")


def cache_dir() -> Path:
    base = os.environ.get("HYDROGEN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "hydrogen"
    )
    return Path(base)


def kafka_libs() -> Path:
    """The folder of broker jars, resolved with Maven on first use and cached after."""
    libs = cache_dir() / f"kafka-{KAFKA_VERSION}" / "libs"
    if libs.is_dir() and any(libs.glob("kafka_2.13-*.jar")):
        return libs
    if shutil.which("mvn") is None:
        raise DevnetError(
            "Maven (mvn) is needed once to fetch Kafka's jars; run scripts/bootstrap.sh"
        )
    log.warning("fetching Apache Kafka %s jars from Maven Central (once)", KAFKA_VERSION)
    libs.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=libs.parent) as tmp:
        proc = subprocess.run(
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(POM),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={tmp}/libs",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise DevnetError(
                f"mvn could not resolve Kafka {KAFKA_VERSION}:\n{proc.stdout}{proc.stderr}"
            )
        os.replace(Path(tmp) / "libs", libs)  # atomic: a half-fetched folder is never used
    return libs


class KafkaBroker(ProcessService):
    name = "kafka"

    def __init__(self, layout: Layout, port: int, controller_port: int) -> None:
        super().__init__(layout)
        self.port = port
        self.controller_port = controller_port
        self.dir = layout.data("kafka")

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def _properties(self) -> Path:
        return self.dir / "server.properties"

    def _write_properties(self) -> None:
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"{HOST}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{HOST}:{self.port},CONTROLLER://{HOST}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.dir / "data"),
            # One node: every internal topic has one replica.
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "5",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # Tests join groups constantly; the default 3 s delay makes each join slow.
            "group.initial.rebalance.delay.ms": "0",
            # Topics come from the catalog only (a wrong partition count breaks faust tables).
            "auto.create.topics.enable": "false",
            "num.network.threads": "2",
            "num.io.threads": "4",
        }
        self.dir.mkdir(parents=True, exist_ok=True)
        self._properties.write_text("".join(f"{k}={v}\n" for k, v in props.items()))

    def before_first_start(self) -> None:
        self._write_properties()
        if (self.dir / "data" / "meta.properties").exists():
            return
        cluster_id = _kafka_cluster_id()
        proc = subprocess.run(
            [
                "java",
                "-cp",
                f"{kafka_libs()}/*",
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={cluster_id}",  # one form that works when the id starts with "-"
                "-c",
                str(self._properties),
                "--standalone",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise DevnetError(f"formatting Kafka storage failed:\n{proc.stdout}{proc.stderr}")

    def argv(self) -> Sequence[str]:
        return [
            "java",
            "-Xms256m",
            "-Xmx512m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={KAFKA_DIR / 'log4j2.yaml'}",
            "-cp",
            f"{kafka_libs()}/*",
            "kafka.Kafka",
            str(self._properties),
        ]

    def version(self) -> str | None:
        """The version the running broker announced in its log (not the one we asked for)."""
        try:
            text = self.layout.log(self.name).read_bytes()
        except FileNotFoundError:
            return None
        found = VERSION_LINE.findall(text)
        return found[-1].decode() if found else None

    def admin(self) -> AdminClient:
        # log_level 0: refused connections while the broker starts are expected, not news.
        return AdminClient(
            {"bootstrap.servers": self.address, "socket.timeout.ms": 2000, "log_level": 0}
        )

    def health(self) -> Health:
        try:
            metadata = self.admin().list_topics(timeout=2)
        except Exception as exc:  # the admin client raises KafkaException subclasses
            return Health(False, f"not reachable: {exc}")
        if not metadata.brokers:
            return Health(False, "no broker in metadata")
        return Health(True, f"Apache Kafka {self.version() or '?'}, KRaft, 1 node")

    def prepare(self) -> None:
        ensure_topics(self.admin(), TOPICS)


def _kafka_cluster_id() -> str:
    """A random KRaft cluster id: 16 random bytes, url-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
