"""Pure task and node state machines: no faust, no I/O, no clock, no randomness.

Time, ids and nonces come in as arguments; this package imports only `schemas` and the stdlib.

    protocol     the contracts' enums (TaskStatus, AbortReason, Fault, NodeStatus, TaskType)
    events       typed views of chain records; `parse(record_name, record)`
    inputs       the other inputs: InferenceResult, TxOutcome, Tick; `derive_nonce`
    transitions  TRANSITIONS, the one (task status, event kind) -> status table
    task         the task read model: evolve / replay, retraction by refolding
    node         the node read model, and `node_facts` for what task events say about nodes
    commands     RunInference, RequestTx and their deterministic ids
    saga         our nodes' part of commit-reveal: decide / evolve / step
    deadline     the deadline keeper: decide / evolve / step
    errors       DomainError and its kinds
"""
