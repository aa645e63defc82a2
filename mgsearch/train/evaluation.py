"""Top-1, top-5 and loss of a model on a worker's shard of the validation clips.

The training loop calls it at its evaluation points (after making the BatchNorm statistics
evaluation-ready); bench/schedule_efficiency.py calls it to time what an evaluation costs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def evaluate(net, loaders, subset: bool, distributed: bool, device: torch.device) -> dict:
    """Metrics over this worker's validation shard (`subset`: of the fixed subset, when the
    config has one), summed over all workers when `distributed`. `net` is a TrainModel; its
    BatchNorm statistics are used as they are."""
    net.eval()
    subset = subset and loaders.subset_items is not None
    totals = torch.zeros(4, dtype=torch.float64)  # correct@1, correct@5, loss sum, clips
    with torch.no_grad():
        for clips, labels, _ in loaders.val(subset):
            logits = net.forward(clips).float()
            labels = labels.to(logits.device)
            k = min(5, logits.shape[1])
            top = logits.topk(k, dim=1).indices
            hit = top == labels[:, None]
            totals += torch.tensor([hit[:, 0].sum().item(), hit.any(dim=1).sum().item(),
                                    F.cross_entropy(logits, labels, reduction="sum").item(),
                                    labels.shape[0]], dtype=torch.float64)
    if distributed:
        totals = totals.to(device if device.type == "cuda" else "cpu")
        torch.distributed.all_reduce(totals)
        totals = totals.cpu()
    c1, c5, loss, n = totals.tolist()
    n = max(n, 1.0)
    return {"val_top1": 100.0 * c1 / n, "val_top5": 100.0 * c5 / n, "val_loss": loss / n,
            "val_clips": int(n), "val_subset": subset and int(n) < len(loaders.val_set)}
