"""Apex-flow baselines from the micro-expression literature, written from their papers.

Both read optical flow computed from the onset to the apex frame of a face crop, resized to
28 × 28, as a (C, 28, 28) float tensor:

* :class:`STSTNet` — shallow triple-stream network (Liong et al., 2019) on (u, v, strain):
  three parallel 3 × 3 convolutions of different widths over the same input, each followed by
  ReLU, batch norm, 3 × 3 max pooling and 2 × 2 average pooling; the streams are concatenated
  and a single linear layer classifies.
* :class:`OffApexNet` — two-stream network (Gan et al., 2019) on (u, v): each flow component
  goes through its own two conv (5 × 5) + max-pool stages; the two feature vectors are
  concatenated and classified by two fully connected layers.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from facscope.errors import ConfigError

__all__ = ["OffApexNet", "STSTNet"]


def _check_input(x: torch.Tensor, channels: int, name: str) -> None:
    if x.ndim != 4 or x.shape[1] != channels:
        raise ConfigError(
            f"{name} expects a flow batch of shape (N, {channels}, H, W); got {tuple(x.shape)}"
        )


class STSTNet(nn.Module):
    """Shallow triple-stream network on (u, v, strain) stacks (Liong et al., 2019).

    Args:
        num_classes: number of output classes.
        in_channels: input channels (3: u, v, strain).
        widths: output channels of the three streams (the paper uses 3, 5 and 8).
        input_size: side of the square input (28 in the paper); fixes the classifier's width.
        dropout: dropout probability.
        dropout_position: ``"head"`` (on the pooled features before the classifier, facscope's
            default) or ``"streams"`` (on each stream's max-pooled map before the average
            pooling, as the authors' public PyTorch code does). In evaluation both are the
            same network; the state_dict keys are the same too.
    """

    def __init__(
        self,
        num_classes: int,
        *,
        in_channels: int = 3,
        widths: Sequence[int] = (3, 5, 8),
        input_size: int = 28,
        dropout: float = 0.5,
        dropout_position: str = "head",
    ) -> None:
        super().__init__()
        if dropout_position not in ("head", "streams"):
            raise ConfigError(
                f"dropout_position must be 'head' or 'streams'; got {dropout_position!r}"
            )
        if len(widths) != 3 or min(widths) < 1:
            raise ConfigError(f"STSTNet needs three positive stream widths; got {tuple(widths)}")
        if input_size < 8:
            raise ConfigError(f"STSTNet input_size must be >= 8; got {input_size}")
        self.in_channels = in_channels
        self.dropout_position = dropout_position
        in_streams = dropout_position == "streams"
        self.streams = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(in_channels, w, kernel_size=3, padding=2),
                nn.ReLU(inplace=True),
                nn.BatchNorm2d(w),
                nn.MaxPool2d(kernel_size=3, stride=3, padding=1),
                *([nn.Dropout(dropout)] if in_streams else []),
                nn.AvgPool2d(kernel_size=2, stride=2),
            )
            for w in widths
        )
        side = ((input_size + 2) + 2 - 3) // 3 + 1  # conv pad 2 (k 3) then max-pool 3/3 pad 1
        side //= 2  # average pool
        self.dropout = nn.Identity() if in_streams else nn.Dropout(dropout)
        self.fc = nn.Linear(sum(widths) * side * side, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_channels, "STSTNet")
        feats = torch.cat([s(x) for s in self.streams], dim=1)
        return self.fc(self.dropout(torch.flatten(feats, 1)))


class OffApexNet(nn.Module):
    """Two-stream network on horizontal and vertical apex flow (Gan et al., 2019).

    Args:
        num_classes: number of output classes.
        input_size: side of the square input (28 in the paper).
        hidden: width of the two fully connected layers (1024 in the paper).
        dropout: dropout after each fully connected layer.
    """

    def __init__(
        self,
        num_classes: int,
        *,
        input_size: int = 28,
        hidden: int = 1024,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if input_size < 4 or input_size % 4:
            raise ConfigError(f"OFF-ApexNet input_size must be a multiple of 4; got {input_size}")

        def stream() -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(1, 6, kernel_size=5, padding=2),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
                nn.Conv2d(6, 16, kernel_size=5, padding=2),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            )

        self.u_stream = stream()
        self.v_stream = stream()
        side = input_size // 4
        self.head = nn.Sequential(
            nn.Linear(2 * 16 * side * side, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
        )
        self.fc = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, 2, "OFF-ApexNet")
        u = torch.flatten(self.u_stream(x[:, :1]), 1)
        v = torch.flatten(self.v_stream(x[:, 1:2]), 1)
        return self.fc(self.head(torch.cat([u, v], dim=1)))
