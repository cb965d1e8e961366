from __future__ import annotations

import pytest
from eth_utils import to_checksum_address

from chain_bridge.event_records import (
    EventSpec,
    avro_type,
    event_specs,
    record_args,
    route,
    snake,
)
from hydrogen import contracts
from hydrogen.schema_sync import stale_records, sync
from schemas.codec import Codec

ADDR = "0x" + "ab" * 20


@pytest.fixture(scope="module")
def abis() -> dict:
    artifacts = contracts.build()
    return {name: artifacts[name].abi for name in ("NodeRegistry", "TaskManager")}


@pytest.mark.parametrize(
    ("abi_type", "avro"),
    [
        ("address", "string"),
        ("bool", "boolean"),
        ("uint8", "long"),
        ("uint32", "long"),
        ("uint64", "long"),
        ("int64", "long"),
        ("uint256", "string"),
        ("bytes32", "bytes"),
        ("bytes", "bytes"),
        ("string", "string"),
        ("address[3]", {"type": "array", "items": "string"}),
        ("uint256[]", {"type": "array", "items": "string"}),
    ],
)
def test_abi_types_map_to_avro_types_that_hold_every_value(abi_type: str, avro: object) -> None:
    assert avro_type({"name": "x", "type": abi_type}, "R") == avro


def test_a_uint64_past_a_long_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'deadline' = 9223372036854775808"):
        record_args([{"name": "deadline", "type": "uint64"}], {"deadline": 2**63})


def test_an_abi_type_without_an_avro_type_is_named() -> None:
    with pytest.raises(ValueError, match="'fixed128x18'"):
        avro_type({"name": "x", "type": "fixed128x18"}, "R")


def test_names_become_snake_case() -> None:
    assert [snake(n) for n in ("taskId", "argsHash", "from", "minVram")] == [
        "task_id",
        "args_hash",
        "from",
        "min_vram",
    ]


def test_events_of_one_name_in_two_contracts_get_distinct_records(abis: dict) -> None:
    records = [s.record for s in event_specs(abis)]
    assert len(records) == len(set(records))
    assert {"TaskManagerCredited", "NodeRegistryCredited", "TaskCreated"} <= set(records)


def test_the_checked_in_schemas_match_the_contracts(abis: dict) -> None:
    assert stale_records(abis) == {}


def test_a_changed_event_gets_a_new_version_and_the_old_one_stays(abis: dict, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sync(abis, tmp_path)
    changed = {
        name: [
            {**e, "inputs": [*e["inputs"], {"name": "extra", "type": "uint8", "indexed": False}]}
            if e.get("name") == "TaskQueued"
            else e
            for e in abi
        ]
        for name, abi in abis.items()
    }
    assert stale_records(changed, tmp_path) == {"TaskQueued": 2}
    assert [p.name for p in sync(changed, tmp_path)] == ["TaskQueued.v2.avsc"]
    assert (tmp_path / "TaskQueued.v1.avsc").exists()


def test_a_decoded_event_becomes_a_record_the_codec_accepts(abis: dict) -> None:
    spec = next(s for s in event_specs(abis) if s.record == "TaskCreated")
    args = {
        "taskId": 7,
        "creator": ADDR,
        "taskType": 0,
        "argsHash": b"\x01" * 32,
        "modelIds": ["sd15"],
        "minVram": 8,
        "vramTier": 0,
        "fee": 10**24,
        "timeouts": (1, 2, 3, 4),
    }
    envelope = {
        "event_id": "31337:0xaa:0",
        "chain_id": 31337,
        "contract": ADDR,
        "block_number": 5,
        "block_hash": "0xbb",
        "block_time": 1_700_000_000_000,
        "tx_hash": "0xaa",
        "log_index": 0,
    }
    record = {**envelope, **record_args(spec.abi["inputs"], args)}
    assert record["fee"] == str(10**24)
    assert record["creator"] == to_checksum_address(ADDR)
    assert record["timeouts"] == {"queue": 1, "commit": 2, "disclose": 3, "upload": 4}
    name, back = Codec().decode(Codec().encode("TaskCreated", record))
    assert name == "TaskCreated"
    assert back["fee"] == str(10**24)
    assert back["timeouts"] == {"queue": 1, "commit": 2, "disclose": 3, "upload": 4}


def test_events_are_routed_by_task_node_or_contract(abis: dict) -> None:
    specs = {s.record: s for s in event_specs(abis)}
    task = route(specs["TaskStarted"], ADDR, {"taskId": 12})
    node = route(specs["NodeJoined"], ADDR, {"node": ADDR.lower()})
    config = route(specs["ThresholdSet"], ADDR.lower(), {"taskType": 0})
    assert (task[0].name, task[1]) == ("chain.task-events", "12")
    assert (node[0].name, node[1]) == ("chain.node-events", to_checksum_address(ADDR))
    assert (config[0].name, config[1]) == ("chain.contract-events", to_checksum_address(ADDR))


def test_an_abi_without_a_protocol_contract_is_refused() -> None:
    with pytest.raises(ValueError, match="no ABI for NodeRegistry"):
        event_specs({"TaskManager": []})


def test_a_spec_schema_starts_with_the_envelope(abis: dict) -> None:
    spec: EventSpec = event_specs(abis)[0]
    names = [f["name"] for f in spec.schema()["fields"]]
    assert names[:8] == [
        "event_id",
        "chain_id",
        "contract",
        "block_number",
        "block_hash",
        "block_time",
        "tx_hash",
        "log_index",
    ]
