"""The submitter's records through the real Avro codec: journal round trip, outcome, dead letter."""

from __future__ import annotations

from chain_bridge.submit_records import (
    Status,
    journal_record,
    outcome_record,
    request_from_record,
    state_from_journal,
)
from chain_bridge.submit_state import Attempt, Fees, InFlight, SignerState
from schemas.catalog import CHAIN_TX_JOURNAL
from schemas.codec import Codec
from schemas.dead_letter import dead_letter_record

SIGNER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
codec = Codec()


def test_a_signers_state_survives_the_journal_byte_for_byte() -> None:
    attempts = (
        Attempt("0xaa", b"\x02\x01raw", Fees(3 * 10**9, 10**9), 1_700_000_000_123),
        Attempt("0xbb", b"\x02\x02raw", Fees(4 * 10**9, 2 * 10**9), 1_700_000_030_456),
    )
    state = SignerState(
        SIGNER,
        31337,
        next_nonce=12,
        in_flight=(InFlight("req-1", 11, "0x" + "11" * 20, b"\x01\x02", 5, 60_000, attempts),),
        recent=("req-0",),
    )
    data = codec.encode("SignerJournal", journal_record(state, now_ms=1_700_000_031_000))
    assert state_from_journal(codec.decode(data, expect="SignerJournal")[1]) == state


def test_the_journal_topic_names_the_journal_record() -> None:
    assert CHAIN_TX_JOURNAL.values == ("SignerJournal",)


def test_an_outcome_fits_the_tx_outcome_schema() -> None:
    record = outcome_record(
        "req-1",
        SIGNER,
        Status.REVERTED,
        1_700_000_000_000,
        error_name="UnknownTask",
        error_args_json='{"taskId": 5}',
    )
    _, back = codec.decode(codec.encode("TxOutcome", record), expect="TxOutcome")
    assert (back["status"], back["error_name"], back["tx_hash"]) == (
        "REVERTED",
        "UnknownTask",
        None,
    )


def test_a_request_deadline_becomes_milliseconds() -> None:
    record = {
        "request_id": "r",
        "signer": SIGNER,
        "contract": "DevnetBeacon",
        "function": "beat",
        "args_json": "[]",
        "value_wei": "0",
        "not_after": 1_700_000_000_250,
        "requested_at": 1_700_000_000_000,
        "origin": "test",
    }
    _, back = codec.decode(codec.encode("TxRequest", record), expect="TxRequest")
    assert request_from_record(back).not_after_ms == 1_700_000_000_250


def test_a_dead_letter_keeps_the_original_bytes() -> None:
    record = dead_letter_record(
        topic="chain.tx-requests",
        partition=2,
        offset=41,
        key=SIGNER.encode(),
        value=b"junk",
        consumer="hydrogen.submit",
        error_type="DecodeError",
        reason="not an Avro single-object message",
        now_ms=1,
    )
    _, back = codec.decode(codec.encode("DeadLetter", record), expect="DeadLetter")
    assert (back["value"], back["source_offset"]) == (b"junk", 41)
