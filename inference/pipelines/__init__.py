"""Running a task's models with diffusers and transformers, deterministically.

determinism.py    torch settings, the dtype a task runs in, the seeded generator
sd_family.py      every per-model quirk, in one table
loaders.py        models from local paths (what the model store found), and their sizes
schedulers.py     the three schedulers Crynux offers
sd_adapters.py    LoRA and textual inversion on a warm pipeline
control_image.py  a ControlNet's image: data URL, preprocessor (canny.py)
text_to_image.py  an SD task: base, ControlNet, VAE, refiner; images as uint8 arrays
chat.py           an LLM task: chat template, generation config, seed
"""
