"""GPU consumers: run Stable Diffusion and LLM jobs from `inference.jobs`, p-hash the results.

consumer.py     the Kafka loop: pause while a job runs, publish, then commit
job_runner.py   one job: fetch args, check argsHash, parse, run, p-hash, stage
engine.py       task arguments to images or a response, with warm models
pipelines/      diffusers and transformers, deterministically (quirks in sd_family.py)
model_store.py  model names to local paths: model dirs, the HF cache, URLs (download.py)
warm_cache.py   loaded models kept warm, least recently used first out, bounded by bytes
tiny_models/    tiny random models for tests and the demo (`hydrogen models make-tiny`)
relay.py        the relay client as the consumer's ports (ports.py)
errors.py       the error codes a node reports instead of a result
settings.py, bootstrap.py   the entry point's settings and its one wiring function
"""
