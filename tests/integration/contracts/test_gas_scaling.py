"""Node selection costs the same gas whatever the number of registered nodes."""

from __future__ import annotations

from chain_helpers import Chain

from hydrogen.gas_report import create_task_gas


def test_create_task_gas_does_not_grow_with_the_network(chain: Chain) -> None:
    # The full 10 vs 1,000 comparison is `hydrogen contracts gas-report`; 300 keeps CI fast.
    w3 = chain.w3
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    small = create_task_gas(chain, 10)
    w3.provider.make_request("evm_revert", [snap])
    large = create_task_gas(chain, 300)
    mean_small, mean_large = sum(small) / len(small), sum(large) / len(large)
    assert abs(mean_large - mean_small) / mean_small < 0.10
    assert max(large) / min(small) < 1.25  # the first task of each run pays its warm-up
