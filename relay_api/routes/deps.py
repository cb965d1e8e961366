"""Dependencies the routes share: the services, parsed path parameters, and callers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from eth_utils.address import to_checksum_address
from fastapi import Depends, Header, Path, Request

from relay_api.auth import Caller
from relay_api.errors import BadRequest, Unauthenticated
from relay_api.request_body import read_body
from relay_api.services import Services
from relay_api.settings import RelaySettings

UINT256_MAX = 2**256 - 1
SMALL_BODY_BYTES = 64 * 1024


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _task_id(
    task_id: Annotated[
        str,
        Path(
            pattern=r"^(0|[1-9][0-9]{0,77})$",
            description="The task's id on chain: a decimal uint256 without leading zeros.",
            examples=["1"],
        ),
    ],
) -> str:
    if int(task_id) > UINT256_MAX:
        raise BadRequest(f"task id {task_id} is larger than a uint256")
    return task_id


TaskId = Annotated[str, Depends(_task_id)]


def _node(
    node: Annotated[
        str,
        Path(
            pattern=r"^0x[0-9a-fA-F]{40}$",
            description="The staging node's address.",
            examples=["0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"],
        ),
    ],
) -> str:
    return str(to_checksum_address(node))


NodeAddress = Annotated[str, Depends(_node)]
ImageIndex = Annotated[int, Path(ge=0, le=255, description="The image's index, from 0.")]


@dataclass(frozen=True)
class Signed:
    caller: Caller
    body: bytes

    @property
    def address(self) -> str:
        assert self.caller.address is not None
        return self.caller.address


AddressHeader = Annotated[
    str | None,
    Header(
        alias="X-Hydrogen-Address",
        description="The signing account (see schemas/request_signing.py).",
    ),
]
TimestampHeader = Annotated[
    str | None, Header(alias="X-Hydrogen-Timestamp", description="Unix seconds, signed.")
]
SignatureHeader = Annotated[
    str | None,
    Header(
        alias="X-Hydrogen-Signature",
        description="EIP-191 signature of method, path, timestamp and body sha256.",
    ),
]
AuthorizationHeader = Annotated[
    str | None,
    Header(alias="Authorization", description="Managed mode: 'Bearer hk_...' (an API key)."),
]


def signed(
    limit: Callable[[RelaySettings], int], what: str = "body"
) -> Callable[..., Awaitable[Signed]]:
    """A dependency: the body (within `limit`), then the caller's signature over it."""

    async def dependency(
        request: Request,
        services: ServicesDep,
        _address: AddressHeader = None,
        _timestamp: TimestampHeader = None,
        _signature: SignatureHeader = None,
    ) -> Signed:
        body = await read_body(request, limit(services.settings), what)
        return Signed(await services.signatures.verify(request, body), body)

    return dependency


SignedSmall = Annotated[Signed, Depends(signed(lambda _: SMALL_BODY_BYTES))]


async def _caller(
    request: Request,
    services: ServicesDep,
    authorization: AuthorizationHeader = None,
    _address: AddressHeader = None,
    _timestamp: TimestampHeader = None,
    _signature: SignatureHeader = None,
) -> Caller:
    """A signed chain account, or an API key (managed mode)."""
    if authorization is not None:
        return await services.api_keys.verify(request)
    body = await read_body(request, SMALL_BODY_BYTES)
    return await services.signatures.verify(request, body)


SignedOrKey = Annotated[Caller, Depends(_caller)]


async def _api_key(
    request: Request, services: ServicesDep, authorization: AuthorizationHeader = None
) -> Caller:
    if authorization is None:
        raise Unauthenticated("managed mode needs 'Authorization: Bearer hk_...' (an API key)")
    return await services.api_keys.verify(request)


ApiKeyCaller = Annotated[Caller, Depends(_api_key)]
