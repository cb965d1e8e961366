"""Byte-level BPE tokenizers built from a vocabulary we write ourselves, so no hub is needed.

Every byte has a token (byte-level BPE maps each byte to a printable character first), so any
text tokenizes; a handful of merges make common letter pairs single tokens, enough for a prompt
to be more than a sequence of bytes.
"""

from __future__ import annotations

from functools import cache

from transformers import CLIPTokenizer, GPT2Tokenizer

CLIP_BOS = "<|startoftext|>"
CLIP_EOS = "<|endoftext|>"
GPT2_EOS = "<|endoftext|>"

_MERGES = (("t", "h"), ("i", "n"), ("a", "n"), ("e", "r"), ("o", "n"), ("r", "e"))


@cache
def byte_characters() -> tuple[str, ...]:
    """GPT-2's printable stand-in for each byte 0..255 (`bytes_to_unicode`), in byte order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    printable += range(ord("®"), ord("ÿ") + 1)
    stand_in = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in stand_in:
            stand_in[b] = chr(256 + extra)
            extra += 1
    return tuple(stand_in[b] for b in range(256))


def clip_tokenizer() -> CLIPTokenizer:
    """A CLIP tokenizer: the bytes, each also as a word end (`</w>`), a few merges, BOS/EOS."""
    chars = byte_characters()
    tokens = [*chars, *(c + "</w>" for c in chars)]
    merges: list[tuple[str, str]] = []
    for a, b in _MERGES:
        merges += [(a, b), (a, b + "</w>")]
        tokens += [a + b, a + b + "</w>"]
    tokens += [CLIP_BOS, CLIP_EOS]
    vocab = {token: i for i, token in enumerate(tokens)}
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)


def gpt2_tokenizer(chat_template: str) -> GPT2Tokenizer:
    """A GPT-2 tokenizer: the bytes, a few merges (also after a space, `Ġ`), one EOS."""
    chars = byte_characters()
    space = chars[ord(" ")]
    merges = [*_MERGES, *((space, a) for a, _ in _MERGES)]
    tokens = [*chars, *(a + b for a, b in _MERGES), *(space + a for a, _ in _MERGES), GPT2_EOS]
    vocab = {token: i for i, token in enumerate(dict.fromkeys(tokens))}
    tokenizer = GPT2Tokenizer(vocab=vocab, merges=merges, model_max_length=256)
    tokenizer.chat_template = chat_template
    return tokenizer
