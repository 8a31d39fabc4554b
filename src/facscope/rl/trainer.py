"""UC-GRPO on TRL: :class:`UCGRPOConfig` and :class:`UCGRPOTrainer`, a small ``GRPOTrainer`` subclass.

UC-GRPO (the training method of ActFER) keeps GRPO's group-normalised advantages and adds one
change: the advantage of every rollout that zoomed is shifted by ``α·ũ_q``, the calibrated
utility of zooming for its query (:mod:`facscope.rl.credit`). The baselines of the ablation run
through the same trainer: ``UCGRPOConfig.method`` names a small strategy of
:data:`facscope.rl.methods.RL_METHODS` (``ucgrpo``, ``grpo``, ``tool_bonus``, ``acof``,
``adatooler``, ``passive``), each documenting its paper and the one thing it changes — whether
rollouts use tools, whether the zoom credit applies, extra reward terms, a group re-scoring of the
correctness term. :func:`create_trainer` builds the trainer of a method by name.

TRL has no public advantage hook, so this subclass relies on two private methods of TRL 1.16.0
(pinned in the ``llm`` extra; :func:`check_trl_internals` fails loudly if they change):
``_calculate_rewards`` returns the rewards gathered over all processes (groups contiguous) — the
override keeps them with the zoom flags and emotions, and applies group re-scoring there;
``_generate_and_score_completions`` returns the batch with its ``advantages`` — the override adds
the credit to this process's slice, as a (B,) vector or, for ``credit_scope="zoom_tokens"``, a
(B, T) tensor that ``_compute_loss`` accepts. The EMA state is written beside each checkpoint
(``ucgrpo_state.json``) and read back on resume.
"""

from __future__ import annotations

import inspect
import json
import os
import warnings
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from accelerate.utils import gather, gather_object
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
from trl import GRPOConfig, GRPOTrainer

from facscope.errors import ConfigError
from facscope.facs import normalize_emotion
from facscope.rl.credit import (
    CREDIT_SCOPES,
    CreditConfig,
    EmotionEMA,
    GroupCredit,
    batch_credit,
)
from facscope.rl.methods import METHODS, RL_METHODS, RLMethod
from facscope.rl.rewards import RewardWeights, reward_functions

__all__ = [
    "STATE_FILE",
    "TRL_VERSION",
    "UCGRPOConfig",
    "UCGRPOTrainer",
    "check_trl_internals",
    "create_trainer",
    "zoom_token_mask",
]

#: The TRL release whose private methods this trainer overrides.
TRL_VERSION = "1.16.0"
#: Name of the UC-GRPO state file written into every checkpoint folder.
STATE_FILE = "ucgrpo_state.json"

_PRIVATE_API = {
    "_calculate_rewards": ["self", "inputs", "prompts", "completions", "completion_ids_list"],
    "_generate_and_score_completions": ["self", "inputs"],
    "_compute_loss": ["self", "model", "inputs"],
    "_save_checkpoint": ["self", "model", "trial"],
    "_load_optimizer_and_scheduler": ["self", "checkpoint"],
}


def check_trl_internals() -> None:
    """Raise if TRL's private methods that :class:`UCGRPOTrainer` overrides changed signature.

    A different TRL version with the same signatures only warns: the CPU test suite is what
    proves it still works (``tests/rl/test_trainer.py``).
    """
    import trl

    for name, params in _PRIVATE_API.items():
        method = getattr(GRPOTrainer, name, None)
        found = None if method is None else list(inspect.signature(method).parameters)
        if found != params:
            raise ConfigError(
                f"trl {trl.__version__}: GRPOTrainer.{name} has parameters {found}, expected "
                f"{params}; UCGRPOTrainer is written against trl=={TRL_VERSION}: "
                f"pip install 'trl=={TRL_VERSION}'"
            )
    if "advantages.dim() == 1" not in inspect.getsource(GRPOTrainer._compute_loss):
        raise ConfigError(
            f"trl {trl.__version__}: GRPOTrainer._compute_loss no longer accepts per-token "
            f"advantages; pip install 'trl=={TRL_VERSION}'"
        )
    if trl.__version__ != TRL_VERSION:
        warnings.warn(
            f"UCGRPOTrainer is tested with trl=={TRL_VERSION}; found {trl.__version__}",
            stacklevel=3,
        )


def _help(text: str) -> Any:
    return {"help": text}


@dataclass
class UCGRPOConfig(GRPOConfig):
    """:class:`trl.GRPOConfig` plus the switches of UC-GRPO and its baselines.

    Not frozen (TRL's configs are mutable dataclasses); values are checked in ``__post_init__``.
    ``reward_weights`` is filled from ``reward_*`` (and the baseline's extra term) by the
    trainer when it builds the default reward functions and the field is left None.
    """

    method: str = field(default="ucgrpo", metadata=_help(f"one of {METHODS}"))
    reward_format: float = field(default=0.5, metadata=_help("weight of the format term"))
    reward_au: float = field(default=1.0, metadata=_help("weight of the AU-level F1 term"))
    reward_region: float = field(default=0.5, metadata=_help("weight of the region-level term"))
    reward_emotion: float = field(default=1.0, metadata=_help("weight of the emotion term"))
    utility_credit: bool = field(default=True, metadata=_help("ucgrpo: apply the zoom credit"))
    credit_alpha: float = field(default=0.5, metadata=_help("credit scale α"))
    credit_scope: str = field(default="trajectory", metadata=_help(f"one of {CREDIT_SCOPES}"))
    ema_calibration: bool = field(default=True, metadata=_help("calibrate u_q with the EMA"))
    ema_beta: float = field(default=0.9, metadata=_help("EMA decay β"))
    ema_lambda: float = field(default=0.5, metadata=_help("weight λ of u_q in ũ_q"))
    ema_debias: bool = field(default=False, metadata=_help("Adam-style EMA bias correction"))
    tool_bonus_weight: float = field(default=0.5, metadata=_help("tool_bonus: bonus size"))
    tool_benefit_weight: float = field(default=1.0, metadata=_help("adatooler: term weight"))
    correctness_reward: str = field(
        default="emotion_reward",
        metadata=_help("name of the reward function whose value 1.0 means 'right' (acof)"),
    )
    zoom_tool: str = field(default="zoom", metadata=_help("name of the zoom tool"))

    def __post_init__(self) -> None:
        self.rl_method()  # validates the method name
        self.weights()  # validates the reward weights
        self.credit_config()  # validates alpha, beta, lambda, scope
        super().__post_init__()

    def rl_method(self) -> RLMethod:
        """The strategy of ``method`` (:data:`facscope.rl.methods.RL_METHODS`)."""
        return RL_METHODS.create(self.method)

    def weights(self) -> RewardWeights:
        return RewardWeights(
            format=self.reward_format,
            au=self.reward_au,
            region=self.reward_region,
            emotion=self.reward_emotion,
        )

    def credit_config(self) -> CreditConfig:
        """The credit switches; no credit and no EMA for methods without the zoom credit."""
        on = self.rl_method().zoom_credit
        return CreditConfig(
            utility=on and self.utility_credit,
            alpha=self.credit_alpha,
            ema=on and self.ema_calibration,
            beta=self.ema_beta,
            lam=self.ema_lambda,
            debias=self.ema_debias,
            scope=self.credit_scope,
        )

    def default_rewards(self) -> tuple[list[Any], list[float]]:
        """The reward functions and weights of this method."""
        return reward_functions(self.weights(), extra=self.rl_method().extra_rewards(self))


def zoom_token_mask(
    completion_ids: torch.Tensor,
    tokenizer: Any,
    *,
    tool_mask: torch.Tensor | None = None,
    tool_name: str = "zoom",
) -> torch.Tensor:
    """1 on the tokens of the model's own ``<tool_call>…</tool_call>`` blocks calling ``tool_name``.

    ``<tool_call>`` and ``</tool_call>`` must each be one token (true of Qwen tokenizers, where
    they are added tokens). Tokens that ``tool_mask`` marks as tool output are never included.
    """
    from facscope.vlm.toolcalls import parse_tool_calls

    ids = {}
    for tag in ("<tool_call>", "</tool_call>"):
        enc = tokenizer.encode(tag, add_special_tokens=False)
        if len(enc) != 1:
            raise ConfigError(
                f"credit_scope='zoom_tokens' needs {tag!r} to be a single token, but the tokenizer "
                f"splits it into {len(enc)}; use credit_scope='trajectory'"
            )
        ids[tag] = enc[0]
    open_id, close_id = ids["<tool_call>"], ids["</tool_call>"]
    mask = torch.zeros_like(completion_ids, dtype=torch.float32)
    own = torch.ones_like(completion_ids) if tool_mask is None else tool_mask
    for b, row in enumerate(completion_ids.tolist()):
        t = 0
        while t < len(row):
            if row[t] == open_id and own[b, t]:
                end = next((k for k in range(t + 1, len(row)) if row[k] == close_id), None)
                if end is None:
                    break
                body = tokenizer.decode(row[t + 1 : end], skip_special_tokens=False)
                calls = parse_tool_calls(f"<tool_call>{body}</tool_call>")
                if calls and calls[0].name == tool_name:
                    mask[b, t : end + 1] = 1.0
                t = end + 1
            else:
                t += 1
    return mask * own.float()


class UCGRPOTrainer(GRPOTrainer):
    """GRPO with utility-calibrated credit for zooming (UC-GRPO, from ActFER) and its baselines.

    Takes the arguments of :class:`trl.GRPOTrainer`; ``args`` must be a :class:`UCGRPOConfig`.
    What differs between methods is delegated to the strategy of ``args.method``
    (:class:`facscope.rl.methods.RLMethod`). With ``reward_funcs=None`` the AU-grounded rewards
    of :mod:`facscope.rl.rewards` (and the method's extra terms) are used with the config's
    weights. Pass the environment factory (:class:`facscope.rl.env.FaceEnv`) except for a method
    without tools (``method="passive"``).

    Attributes:
        rl_method: the strategy of ``args.method``.
        ema: the per-emotion utility EMA (:class:`facscope.rl.credit.EmotionEMA`).
        last_credit: the :class:`~facscope.rl.credit.GroupCredit` of every group of the last
            training batch (all processes), for inspection.
    """

    _tag_names: ClassVar[list[str]] = ["trl", "grpo", "ucgrpo", "facscope"]
    _name = "UC-GRPO"

    def __init__(
        self,
        model: Any,
        reward_funcs: Any = None,
        args: UCGRPOConfig | None = None,
        **kwargs: Any,
    ) -> None:
        check_trl_internals()
        if not isinstance(args, UCGRPOConfig):
            raise ConfigError(
                f"UCGRPOTrainer needs args=UCGRPOConfig(...); got {type(args).__name__}"
            )
        self.rl_method = args.rl_method()
        if not self.rl_method.tools and kwargs.get("environment_factory") is not None:
            raise ConfigError(
                f"method={args.method!r} trains without tools: do not pass environment_factory"
            )
        if self.rl_method.tools and kwargs.get("environment_factory") is None:
            warnings.warn(
                f"method={args.method!r} without environment_factory: no rollout can zoom, so "
                "there is no zoom credit; pass environment_factory=facscope.rl.env.env_factory()",
                stacklevel=2,
            )
        if reward_funcs is None:
            reward_funcs, weights = args.default_rewards()
            if args.reward_weights is None:
                args.reward_weights = weights
        self.credit = args.credit_config()
        self.ema = EmotionEMA(beta=args.ema_beta, debias=args.ema_debias)
        self.last_credit: list[GroupCredit] = []
        self._uc_batch: dict[str, Any] | None = None
        super().__init__(model=model, reward_funcs=reward_funcs, args=args, **kwargs)
        if self.rl_method.rescores and args.correctness_reward not in self.reward_func_names:
            raise ConfigError(
                f"method={args.method!r} re-scores the reward function {args.correctness_reward!r}, which "
                f"is not among {self.reward_func_names}; set correctness_reward"
            )

    # ------------------------------------------------------------------ rewards

    def _zoom_flags(self, n: int) -> list[bool]:
        if not self.environments:
            return [False] * n
        return [int(getattr(env, "zoom_count", 0)) > 0 for env in self.environments]

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(
            inputs, prompts, completions, completion_ids_list
        )
        device = rewards_per_func.device
        local_zoom = torch.tensor(
            self._zoom_flags(len(prompts)), dtype=torch.float32, device=device
        )
        zoomed = [bool(z) for z in gather(local_zoom).tolist()]
        emotions = gather_object([normalize_emotion(x.get("emotion")) for x in inputs])
        mode = "train" if self.model.training else "eval"
        group = self.num_generations if mode == "train" else self.num_generations_eval
        if self.rl_method.rescores:
            rewards_per_func = self._rescore(rewards_per_func, zoomed, group)
        self._uc_batch = {
            "rewards_per_func": rewards_per_func,
            "zoomed": zoomed,
            "emotions": emotions,
        }
        return rewards_per_func

    def _rescore(
        self, rewards_per_func: torch.Tensor, zoomed: list[bool], group: int
    ) -> torch.Tensor:
        """Apply the method's group rule to the correctness column, group by group."""
        col = self.reward_func_names.index(self.args.correctness_reward)
        values = rewards_per_func[:, col].tolist()
        out = rewards_per_func.clone()
        for start in range(0, len(values), group):
            scores = self.rl_method.rescore(
                values[start : start + group], zoomed[start : start + group]
            )
            if scores is not None:
                out[start : start + group, col] = torch.tensor(
                    scores, dtype=out.dtype, device=out.device
                )
        return out

    # ------------------------------------------------------------------ advantages

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        batch, self._uc_batch = self._uc_batch, None
        if batch is None:
            return output
        rpf = batch["rewards_per_func"]
        weights = self.reward_weights.to(rpf.device).unsqueeze(0)
        totals = (rpf * weights).nansum(dim=1)
        totals[torch.isnan(rpf).all(dim=1)] = torch.nan
        training = self.model.training
        groups = batch_credit(
            totals.tolist(),
            batch["zoomed"],
            batch["emotions"],
            group_size=self.num_generations if training else self.num_generations_eval,
            # evaluation measures (utility, zoom rate) but neither credits nor updates the EMA
            config=self.credit if training else CreditConfig(utility=False, ema=False),
            ema=self.ema if training else EmotionEMA(),
        )
        self._log_credit(groups, "train" if training else "eval")
        if not training:
            return output
        self.last_credit = groups
        if not self.credit.utility:
            return output
        credit = torch.tensor(
            [c for g in groups for c in g.per_rollout], dtype=torch.float32, device=rpf.device
        )
        self._relog_advantages(credit.tolist())
        n = len(inputs)
        local = credit[
            self.accelerator.process_index * n : (self.accelerator.process_index + 1) * n
        ]
        advantages = output["advantages"]
        local = local.to(advantages.device, advantages.dtype)
        if self.credit.scope == "trajectory":
            output["advantages"] = advantages + local
        else:
            mask = zoom_token_mask(
                output["completion_ids"],
                self._tokenizer,
                tool_mask=output.get("tool_mask"),
                tool_name=self.args.zoom_tool,
            ).to(advantages.device, advantages.dtype)
            base = advantages.unsqueeze(1).expand_as(mask)
            output["advantages"] = base + local.unsqueeze(1) * mask
        return output

    def _relog_advantages(self, credit: list[float]) -> None:
        """Add the credit to the advantages TRL already logged for its completions table."""
        logged = self._logs["advantages"]
        if len(logged) < len(credit):
            return
        tail = [logged.pop() for _ in credit][::-1]
        logged.extend(a + c for a, c in zip(tail, credit))

    def _log_credit(self, groups: list[GroupCredit], mode: str) -> None:
        metrics = self._metrics[mode]
        per: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for g in groups:
            per[g.emotion]["zoom_rate"].append(g.zoom_rate)
            if g.utility is not None:
                per[g.emotion]["utility"].append(g.utility)
            per[g.emotion]["credit"].append(g.credit)
        for emotion, stats in sorted(per.items()):
            for key, values in stats.items():
                metrics[f"ucgrpo/{key}/{emotion}"].append(sum(values) / len(values))
        for emotion in sorted(self.ema.values) if mode == "train" else ():
            metrics[f"ucgrpo/ema/{emotion}"].append(self.ema.get(emotion))
        metrics["ucgrpo/zoom_rate"].append(sum(g.zoom_rate for g in groups) / len(groups))
        metrics["ucgrpo/utility_defined"].append(
            sum(g.utility is not None for g in groups) / len(groups)
        )
        metrics["ucgrpo/credit"].append(sum(g.credit for g in groups) / len(groups))

    # ------------------------------------------------------------------ checkpoints

    def ucgrpo_state(self) -> dict[str, Any]:
        """The UC-GRPO state saved in checkpoints (EMA, method, step)."""
        return {
            "method": self.args.method,
            "global_step": self.state.global_step,
            "ema": self.ema.state_dict(),
        }

    def _save_checkpoint(self, model, trial):
        super()._save_checkpoint(model, trial)
        if self.args.should_save:
            from facscope.io import write_json

            folder = f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
            path = os.path.join(self._get_output_dir(trial=trial), folder, STATE_FILE)
            write_json(path, self.ucgrpo_state())

    def _load_optimizer_and_scheduler(self, checkpoint):
        super()._load_optimizer_and_scheduler(checkpoint)
        if checkpoint is None:
            return
        path = os.path.join(checkpoint, STATE_FILE)
        if not os.path.exists(path):
            warnings.warn(
                f"{path} is missing: the utility EMA starts from zero on this resume",
                stacklevel=2,
            )
            return
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
        self.ema.load_state_dict(state["ema"])


def create_trainer(
    method: str, *, model: Any, args: UCGRPOConfig | Mapping[str, Any], **kwargs: Any
) -> UCGRPOTrainer:
    """The trainer of the RL method registered as ``method`` (:data:`RL_METHODS`).

    ``args`` is a :class:`UCGRPOConfig` of that method, or a mapping of its fields (``method``
    is filled in). The other keyword arguments go to :class:`trl.GRPOTrainer`
    (``train_dataset``, ``processing_class``, ``environment_factory`` for methods with tools…).
    An unknown name raises the registry's :class:`~facscope.errors.ConfigError`.
    """
    chosen = RL_METHODS.get(method)
    if isinstance(args, Mapping):
        args = UCGRPOConfig(**{**args, "method": method})
    elif isinstance(args, UCGRPOConfig) and RL_METHODS.get(args.method) is not chosen:
        raise ConfigError(f"create_trainer({method!r}) got a config of method {args.method!r}")
    return UCGRPOTrainer(model=model, args=args, **kwargs)
