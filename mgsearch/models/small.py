"""Small 3D CNNs for CPU work: any T x H x W input, adaptive pooling at the end.

`resnet3d_small`: about 0.9 M parameters (widths 16-32-64-128, one BasicBlock per stage, a
(3,5,5) stem with spatial stride 2, temporal stride 2 in the last two stages). Its iteration time
tracks b*t*h*w closely, which is what multigrid's speed-up rests on.

`x3d_xs`: an X3D-XS-like net (channel-wise separable 3x3x3 convs, squeeze-excitation, swish,
expansion 2.25) for users who expect X3D; depthwise convs are slow on CPU, so it is not the one
for CPU speed claims.
"""

from __future__ import annotations

import torch
from torch import nn

from .convs import Conv3d


def _conv_bn(cin, cout, k, stride, groups=1, act=True):
    pad = tuple(x // 2 for x in k)
    layers = [Conv3d(cin, cout, k, stride=stride, padding=pad, groups=groups, bias=False),
              nn.BatchNorm3d(cout)]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock3d(nn.Module):
    def __init__(self, cin: int, cout: int, stride: tuple[int, int, int]):
        super().__init__()
        self.conv1 = _conv_bn(cin, cout, (3, 3, 3), stride)
        self.conv2 = _conv_bn(cout, cout, (3, 3, 3), (1, 1, 1), act=False)
        self.short = None
        if cin != cout or stride != (1, 1, 1):
            self.short = _conv_bn(cin, cout, (1, 1, 1), stride, act=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        identity = x if self.short is None else self.short(x)
        return self.relu(self.conv2(self.conv1(x)) + identity)


class ResNet3dSmall(nn.Module):
    # Total downsampling: time 4 (stages 3-4), space 16 (stem + stages 2-4).
    def __init__(self, num_classes: int, widths=(16, 32, 64, 128), dropout: float = 0.0):
        super().__init__()
        self.stem = _conv_bn(3, widths[0], (3, 5, 5), (1, 2, 2))
        strides = [(1, 1, 1), (1, 2, 2), (2, 2, 2), (2, 2, 2)]
        blocks, cin = [], widths[0]
        for w, st in zip(widths, strides):
            blocks.append(BasicBlock3d(cin, w, st))
            cin = w
        self.stages = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        # The stem runs in fp32 even under autocast. It was first for the bf16 fault on 2-frame
        # clips, which convs.Conv3d now handles in every layer; it stays because a bf16 stem
        # made a training step 11% slower over the quickstart's shapes (AVX2 CPU, torch
        # 2.14.1), and three input channels make the stem ~10% of the FLOPs.
        with torch.autocast(x.device.type, enabled=False):
            x = self.stem(x.float())
        x = self.pool(self.stages(x)).flatten(1)
        return self.fc(self.drop(x))


class _SE(nn.Module):
    def __init__(self, c: int, ratio: float = 1 / 16):
        super().__init__()
        mid = max(8, int(round(c * ratio)))
        self.fc = nn.Sequential(nn.AdaptiveAvgPool3d(1), nn.Conv3d(c, mid, 1), nn.ReLU(inplace=True),
                                nn.Conv3d(mid, c, 1), nn.Sigmoid())

    def forward(self, x):
        return x * self.fc(x)


class X3dBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expansion: float, se: bool):
        super().__init__()
        mid = int(round(cout * expansion))
        layers = [_conv_bn(cin, mid, (1, 1, 1), (1, 1, 1)),
                  _conv_bn(mid, mid, (3, 3, 3), (1, stride, stride), groups=mid, act=False)]
        if se:
            layers.append(_SE(mid))
        layers += [nn.SiLU(inplace=True), _conv_bn(mid, cout, (1, 1, 1), (1, 1, 1), act=False)]
        self.body = nn.Sequential(*layers)
        self.short = None
        if cin != cout or stride != 1:
            self.short = _conv_bn(cin, cout, (1, 1, 1), (1, stride, stride), act=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        identity = x if self.short is None else self.short(x)
        return self.relu(self.body(x) + identity)


class X3dXS(nn.Module):
    # Space downsampled 32x (stem + 4 stages), time not at all: X3D keeps every frame.
    def __init__(self, num_classes: int, widths=(24, 48, 96, 192), depths=(1, 2, 5, 3),
                 expansion: float = 2.25, head: int = 432, fc: int = 2048, dropout: float = 0.5):
        super().__init__()
        self.stem = nn.Sequential(
            Conv3d(3, widths[0], (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bias=False),
            Conv3d(widths[0], widths[0], (5, 1, 1), padding=(2, 0, 0), groups=widths[0],
                   bias=False),
            nn.BatchNorm3d(widths[0]), nn.ReLU(inplace=True))
        blocks, cin = [], widths[0]
        for w, d in zip(widths, depths):
            for i in range(d):
                blocks.append(X3dBlock(cin, w, 2 if i == 0 else 1, expansion, se=i % 2 == 0))
                cin = w
        self.stages = nn.Sequential(*blocks)
        self.conv5 = _conv_bn(cin, head, (1, 1, 1), (1, 1, 1))
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.head = nn.Sequential(nn.Linear(head, fc), nn.ReLU(inplace=True), nn.Dropout(dropout),
                                  nn.Linear(fc, num_classes))

    def forward(self, x):
        return self.head(self.pool(self.conv5(self.stages(self.stem(x)))).flatten(1))
