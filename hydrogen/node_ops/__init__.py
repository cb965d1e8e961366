"""Node operators' commands (`hydrogen node …`): join, top up, pause, resume and quit a node
through the submitter, and show what the chain and the read model know of it.

    inputs      the operator's values checked, each refusal naming the value (pure)
    request     a registry call as a TxRequest, and its request id (pure)
    outcome     a TxOutcome as result lines and an exit status (pure)
    node_view   the registry's and the read model's view of a node, side by side (pure)
    endpoints   Kafka, RPC, deployment and Postgres from options or the devnet folder
    registry    reads of the NodeRegistry (minStake, tier floors, getNode, balances)
    tx_channel  publish on chain.tx-requests, find the answer on chain.tx-outcomes
    send        one request: publish (or find an earlier answer), then wait
    projection  the `nodes` row from Postgres, when it answers
    errors      NodeOpsError and its kinds
"""
