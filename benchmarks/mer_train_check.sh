#!/usr/bin/env bash
# `facscope mer train` end to end on the GPU (a path check, not a benchmark): on a 72-clip
# synthetic DFME-layout set, fold 0 of 5, R3D-18 at 16×112×112, batch 16, 8 workers, bf16:
#   a   accelerate launch, uninterrupted
#   b   plain CLI stopped after 7 optimiser steps, then run again (resumes from its checkpoint)
#   d   plain CLI, uninterrupted: b vs d shows what resuming changes on this device
#   c   STSTNet on apex flow (the flow path on the device)
# then prints each run's per-epoch seconds and clips/s (history.json) and runtime (metrics.json).
# Called by gpu_session.sh (part mer_train; PY and PYTHONPATH set there). On a CPU, as a dry run:
#   FRAMES=4 SIZE=32 NW=2 MP=no DEV=--cpu PY=python bash benchmarks/mer_train_check.sh
set -u
PY=${PY:-python3}; W=${W:-runs/mer-train-check}; MP=${MP:-bf16}
mkdir -p "$W"
V=(--model r3d_18 --frames "${FRAMES:-16}" --size "${SIZE:-112}" --batch-size 16
   --num-workers "${NW:-8}" --epochs 5 --mixed-precision "$MP")
COMMON=(--data dfme --root "$W/synth" --protocol kfold --k 5 --folds 0 --cache-dir "$W/cache"
        --quiet ${DEV:-})
MER=($PY -m facscope.cli.main mer train "${COMMON[@]}")
step() { local t=$SECONDS; echo "== $1"; shift; "$@" 2>&1 | tr '\r' '\n' | grep -v "au-notation" | tail -2
         echo "   $((SECONDS - t)) s"; }
step "synth" $PY -m facscope.cli.main synth "$W/synth" --layout dfme --subjects 12 \
  --clips-per-subject 6 --amplitude 2.5 --frame-size 320x240 --seed 0
step "a: accelerate launch" $PY -m accelerate.commands.accelerate_cli launch --num_processes 1 --num_machines 1 --dynamo_backend no \
  --mixed_precision "$MP" -m facscope.cli mer train "${COMMON[@]}" "${V[@]}" --output-dir "$W/a"
step "b: stopped after 7 steps" "${MER[@]}" "${V[@]}" --output-dir "$W/b" --max-steps 7
step "b: resumed" "${MER[@]}" "${V[@]}" --output-dir "$W/b"
step "d: plain, uninterrupted" "${MER[@]}" "${V[@]}" --output-dir "$W/d"
step "c: ststnet" "${MER[@]}" --model ststnet --epochs 30 --output-dir "$W/c"
$PY - "$W" <<'PYEOF'
import csv, json, sys
from pathlib import Path
w = Path(sys.argv[1])
def probs(run):
    with open(w / run / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    return rows, [c for c in rows[0] if c.startswith("p_")]
for x, y in (("b", "d"), ("a", "d")):
    try:
        (rx, cols), (ry, _) = probs(x), probs(y)
    except (OSError, IndexError) as e:
        print(f"{x} vs {y}: {e}"); continue
    diff = max(abs(float(p[c]) - float(q[c])) for p, q in zip(rx, ry) for c in cols)
    same = sum(p["pred"] == q["pred"] for p, q in zip(rx, ry))
    print(f"{x} vs {y}: {same}/{len(rx)} same labels, max |prob diff| {diff:.3g}")
for run in "abdc":
    try:
        hist = json.loads((w / run / "fold_00" / "history.json").read_text())
        rt = json.loads((w / run / "metrics.json").read_text())["runtime"]
    except (OSError, KeyError) as e:
        print(f"{run}: {e}"); continue
    rest = sorted(h["clips_per_s"] for h in hist[1:]) or [float("nan")]
    print(f"{run}: {rt}; first epoch {hist[0]['seconds']:.2f} s ({hist[0]['clips_per_s']:.0f} "
          f"clips/s), later epochs median {rest[len(rest) // 2]:.0f} clips/s")
PYEOF
