"""Small offline stand-ins for what cannot be downloaded here: tiny randomly initialised Qwen VLMs
with an offline tokenizer, scripted generation, and a loopback OpenAI-compatible server.

The test suites use all of it; `mellm train` and `rl train` also build their ``tiny:`` models
(random models trained from scratch, for CPU runs and synthetic experiments) with
:mod:`facscope.testing.tiny_vlm`.
"""
