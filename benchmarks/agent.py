"""Agent timing: the openai backend's concurrency, and the expert backend's time per step.

1. **openai throughput.** A loopback OpenAI-compatible server (in its own process) answers every request after a
   fixed latency (default 100 ms). Each episode makes two requests (a zoom tool call, then the
   answer). The same episodes run sequentially (concurrency 1, one episode at a time) and then
   as one batch with concurrency C; the ratio of the two wall times should approach C, since
   the client's own work (image encoding, tool execution) is small next to the latency.
2. **expert per image, by step.** The expert backend on the embedded portrait: face detection,
   alignment, zooms, the emotion classifier and the loop itself (prompting, parsing, records).
   The reference beside it is the bare perception pipeline (detect → align → classify, called
   directly); the ratio is the agent's overhead for producing a traced, tool-driven answer.

    python benchmarks/agent.py [--episodes 32] [--latency 0.1] [--concurrency 8] [--repeats 10]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import statistics
import threading
import time
from collections import defaultdict
from typing import Any

import numpy as np

from facscope.agent import Agent, AgentInput, create_backend
from facscope.testing.openai_server import FakeOpenAIServer
from facscope.vlm.toolcalls import format_tool_call as tool_call

ANSWER = 'Corners up.\n<answer>{"aus": [6, 12], "emotion": "happiness"}</answer>'


def _reply(body: dict, index: int) -> str:
    last = body["messages"][-1]
    content = last["content"]
    text = content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)
    return ANSWER if "tool_response" in text else tool_call("zoom", box=[0, 0, 48, 48])


def _serve(queue: Any, latency: float) -> None:
    """Run the loopback server in its own process, so it does not share the client's GIL."""
    server = FakeOpenAIServer(handler=_reply, latency=latency).start()
    queue.put(server.base_url)
    threading.Event().wait()  # until terminated


def openai_throughput(episodes: int, latency: float, concurrency: int) -> None:
    rng = np.random.default_rng(0)
    items = [
        AgentInput(image=rng.integers(0, 256, (96, 96, 3), dtype=np.uint8), name=str(i))
        for i in range(episodes)
    ]
    queue: Any = mp.Queue()
    proc = mp.Process(target=_serve, args=(queue, latency), daemon=True)
    proc.start()
    try:
        url = queue.get(timeout=30)
        seq = create_backend("openai", base_url=url, concurrency=1)
        agent = Agent(seq)
        agent.run_batch(items[:1])  # warm-up
        t0 = time.perf_counter()
        eps_seq = [agent.run(it.image, name=it.name) for it in items]
        t_seq = time.perf_counter() - t0
        conc = create_backend("openai", base_url=url, concurrency=concurrency)
        t0 = time.perf_counter()
        eps_conc = Agent(conc).run_batch(items)
        t_conc = time.perf_counter() - t0
        conc.close()
    finally:
        proc.terminate()
        proc.join()
    ok = sum(e.answer.status == "ok" for e in eps_seq + eps_conc)
    requests = 2 * episodes
    ideal_seq = requests * latency
    ideal_conc = 2 * -(-episodes // concurrency) * latency  # two lockstep rounds of waves
    print(
        f"openai backend vs loopback server in another process ({latency * 1000:.0f} ms latency, "
        f"{episodes} episodes, {requests} requests per run; {ok}/{2 * episodes} answers ok)"
    )
    print(
        f"  sequential      : {t_seq:7.2f} s  {requests / t_seq:7.1f} req/s  (latency floor {ideal_seq:.2f} s)"
    )
    print(
        f"  concurrency {concurrency:<3d} : {t_conc:7.2f} s  {requests / t_conc:7.1f} req/s  "
        f"(latency floor {ideal_conc:.2f} s)"
    )
    print(f"  speed-up        : {t_seq / t_conc:7.2f}x  (ideal {concurrency}x)")


def expert_steps(repeats: int) -> None:
    from facscope.embedded import default_image
    from facscope.face import align_face, detect_faces
    from facscope.face.emotion import classify_emotion

    image = default_image()
    agent = Agent(create_backend("expert"))
    agent.run(image)  # warm-up: detector and classifier weights load once
    steps: dict[str, list[float]] = defaultdict(list)
    totals, refs = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        faces = detect_faces(image)
        aligned = align_face(image, faces[0])
        classify_emotion(None, aligned=aligned)
        refs.append(time.perf_counter() - t0)

        ep = agent.run(image)
        totals.append(ep.seconds)
        per: dict[str, float] = defaultdict(float)
        for r in ep.records:
            per[r.name] += r.seconds
        per["classifier"] = sum(t.info.get("classify_seconds", 0.0) for t in ep.turns)
        per["loop (prompts, parsing, records)"] = ep.seconds - ep.tool_seconds - per["classifier"]
        for k, v in per.items():
            steps[k].append(v)
    total = statistics.median(totals)
    print(f"\nexpert backend on the embedded portrait (512×512), median of {repeats} runs")
    for name, values in steps.items():
        ms = statistics.median(values) * 1000
        print(f"  {name:34s} {ms:8.1f} ms  {ms / (total * 1000):6.1%}")
    print(f"  {'total per image':34s} {total * 1000:8.1f} ms")
    ref = statistics.median(refs)
    print(f"  reference: detect + align + classify called directly: {ref * 1000:.1f} ms")
    print(f"  agent / reference: {total / ref:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--episodes", type=int, default=32)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    openai_throughput(args.episodes, args.latency, args.concurrency)
    expert_steps(args.repeats)


if __name__ == "__main__":
    main()
