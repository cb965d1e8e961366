"""GPU consumers: run Stable Diffusion and LLM jobs from `inference.jobs`, p-hash the results."""
