"""The application side of the network: what an app does to get a task run.

    args.py           task arguments from options (or a file), checked before anything is sent
    fee.py            a fee as the command line writes it (wei, gwei, ETH)
    signer.py         whose key signs: a keystore, or the devnet app account on a devnet
    endpoints.py      where the chain, the contracts and the relay are (a devnet folder, overrides)
    chain.py          TaskManager as the creator sees it: create, cancel, read, its events
    task_view.py      getTask and the task's chain events as plain values (pure)
    progress.py       which phase a task is in and how long each took (pure)
    watcher.py        follows a task on chain until it ends
    receipt.py        the checks of what was delivered, and the receipt that records them (pure)
    status_report.py  a task's status for people and scripts (pure)
    delivery.py       downloads the results from the relay and checks them against the chain

Errors are in errors.py.
"""
