"""Our p-hash agreement rule and the contract's, on hashes of real images."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image
from web3 import Web3

from hydrogen import contracts
from hydrogen.devnet.accounts import Role, devnet_account
from schemas.phash import phash, results_agree

SD = 0  # TaskType.SD
THRESHOLDS = [0, 1, 2, 4, 6, 10, 20, 32, 64, 255]


def image(seed: int) -> NDArray[np.uint8]:
    coarse = np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((256, 256), Image.Resampling.BICUBIC))


def jpeg_copy(pixels: NDArray[np.uint8], quality: int) -> Image.Image:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


@pytest.fixture(scope="module")
def harness(w3: Web3) -> object:
    art = contracts.build()["ResultCompareHarness"]
    deployed = contracts.deploy(w3, devnet_account(Role.DEPLOYER), art)
    return w3.eth.contract(address=deployed.address, abi=art.abi)


@pytest.fixture(scope="module")
def result_pairs() -> list[tuple[bytes, bytes]]:
    """Pairs of SD results of 1 to 6 images: the same images re-encoded (near), other images
    (far), and a mix, so that every threshold sees both answers."""
    rng = random.Random(7)
    pairs = []
    for trial in range(12):
        n = rng.randint(1, 6)
        seeds = [100 * trial + i for i in range(n)]
        originals = [phash(image(s)) for s in seeds]
        near = [phash(jpeg_copy(image(s), quality=rng.choice([20, 40, 60]))) for s in seeds]
        far = [phash(image(s + 50)) for s in seeds]
        mixed = [rng.choice(pair) for pair in zip(near, far, strict=True)]
        for other in (near, far, mixed):
            pairs.append((b"".join(originals), b"".join(other)))
    return pairs


def test_python_and_solidity_agree_on_real_phash_results(
    harness: object, result_pairs: list[tuple[bytes, bytes]]
) -> None:
    answers = set()
    for a, b in result_pairs:
        for threshold in THRESHOLDS:
            expected = results_agree(a, b, threshold)
            on_chain = harness.functions.agree(SD, threshold, a, b).call()
            assert on_chain == expected, (a.hex(), b.hex(), threshold)
            answers.add(expected)
    assert answers == {True, False}
