"""Tiny Stable Diffusion models shaped like the real families, random but reproducible.

Shapes follow diffusers' own pipeline tests (`get_dummy_components`): a UNet with two blocks of
32 and 64 channels, a VAE that halves the image (so a 64x64 image is a 32x32 latent), CLIP
text encoders of width 32. Every model is built right after `torch.manual_seed`, so the same
code writes the same weights on every machine.
"""

from __future__ import annotations

import torch
from diffusers import (
    AutoencoderKL,
    ControlNetModel,
    PNDMScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLImg2ImgPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

from inference.tiny_models.tokenizer import clip_tokenizer

TEXT_WIDTH = 32
TIME_EMBED = 8  # SDXL's additional time ids are embedded this wide, 6 of them (5 for a refiner)
_VOCAB_ROOM = 1000  # above the tokenizer's size, so that textual-inversion tokens fit
CROSS_ATTENTION_GAIN = 8.0
"""A random UNet barely listens to the text; scaling its cross-attention output up makes the
prompt (and a textual inversion, a LoRA on attention) move the image's p-hash, not a pixel."""


def text_config(eos_token_id: int, bos_token_id: int) -> CLIPTextConfig:
    return CLIPTextConfig(
        bos_token_id=bos_token_id,
        eos_token_id=eos_token_id,
        pad_token_id=eos_token_id,
        hidden_size=TEXT_WIDTH,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=_VOCAB_ROOM,
        projection_dim=TEXT_WIDTH,
        hidden_act="gelu",
        max_position_embeddings=77,
    )


def vae(seed: int = 0) -> AutoencoderKL:
    torch.manual_seed(seed)
    return AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        sample_size=64,
    )


def _sd_scheduler() -> PNDMScheduler:
    # SD 1.5's scheduler config; a task replaces the scheduler but keeps these betas.
    return PNDMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        num_train_timesteps=1000, set_alpha_to_one=False, skip_prk_steps=True, steps_offset=1,
    )  # fmt: skip


def _listening(unet: UNet2DConditionModel) -> UNet2DConditionModel:
    with torch.no_grad():
        for name, module in unet.named_modules():
            if name.endswith("attn2.to_out.0"):
                module.weight.mul_(CROSS_ATTENTION_GAIN)
    return unet


def sd15_unet(seed: int = 0) -> UNet2DConditionModel:
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=2,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=TEXT_WIDTH,
    )
    return _listening(unet)


def sd15_pipeline() -> StableDiffusionPipeline:
    tokenizer = clip_tokenizer()
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(text_config(tokenizer.eos_token_id, tokenizer.bos_token_id))
    return StableDiffusionPipeline(
        unet=sd15_unet(),
        vae=vae(),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=_sd_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
        image_encoder=None,
    )


def sdxl_unet(seed: int = 0, *, refiner: bool = False) -> UNet2DConditionModel:
    torch.manual_seed(seed)
    # The base sees both text encoders (32 + 32 wide); a refiner only the second one, and
    # embeds 5 time ids (an aesthetic score instead of the target size) instead of 6.
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=2,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=TIME_EMBED,
        transformer_layers_per_block=(1, 2),
        projection_class_embeddings_input_dim=(5 if refiner else 6) * TIME_EMBED + TEXT_WIDTH,
        cross_attention_dim=TEXT_WIDTH if refiner else 2 * TEXT_WIDTH,
        norm_num_groups=32,
    )
    return _listening(unet)


def _sdxl_text_encoders() -> tuple[CLIPTextModel, CLIPTextModelWithProjection]:
    tokenizer = clip_tokenizer()
    config = text_config(tokenizer.eos_token_id, tokenizer.bos_token_id)
    torch.manual_seed(0)
    first = CLIPTextModel(config)
    torch.manual_seed(1)
    second = CLIPTextModelWithProjection(config)
    return first, second


def sdxl_pipeline() -> StableDiffusionXLPipeline:
    first, second = _sdxl_text_encoders()
    return StableDiffusionXLPipeline(
        unet=sdxl_unet(),
        vae=vae(),
        text_encoder=first,
        text_encoder_2=second,
        tokenizer=clip_tokenizer(),
        tokenizer_2=clip_tokenizer(),
        scheduler=_sd_scheduler(),
        force_zeros_for_empty_prompt=True,
    )


def sdxl_refiner() -> StableDiffusionXLImg2ImgPipeline:
    _, second = _sdxl_text_encoders()
    return StableDiffusionXLImg2ImgPipeline(
        unet=sdxl_unet(seed=2, refiner=True),
        vae=vae(),
        text_encoder=None,
        tokenizer=None,
        text_encoder_2=second,
        tokenizer_2=clip_tokenizer(),
        scheduler=_sd_scheduler(),
        requires_aesthetics_score=True,
        force_zeros_for_empty_prompt=False,
    )


def controlnet(unet: UNet2DConditionModel, seed: int = 3) -> ControlNetModel:
    """A ControlNet for `unet` whose zero convolutions are not zero: a fresh one changes
    nothing, and a test must see it act."""
    model = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(16, 32))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        zero_convs = [*model.controlnet_down_blocks, model.controlnet_mid_block]
        for conv in zero_convs:
            for param in conv.parameters():
                param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
        for param in model.controlnet_cond_embedding.conv_out.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
    return model
