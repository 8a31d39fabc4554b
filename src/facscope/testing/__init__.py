"""Test support that other test suites reuse: tiny offline VLMs, a loopback OpenAI-compatible
server. Nothing here is imported by facscope itself."""
