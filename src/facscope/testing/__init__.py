"""Test doubles: scripted generation for a real tiny VLM, a scripted backend, and a loopback
OpenAI-compatible server. Production code never imports this package; the tiny offline models
themselves are :mod:`facscope.vlm.tiny`.
"""
