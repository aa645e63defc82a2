"""The batched resample-and-normalize step (our own logic, on arrays)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mgsearch.data.sampling import Box
from mgsearch.data.transform import collate_patches, cut_patch

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


def _frames(t=3, h=20, w=24, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (t, h, w, 3), dtype=np.uint8)


def _as_uint8(clip: torch.Tensor) -> np.ndarray:
    x = clip * torch.tensor(STD).view(3, 1, 1, 1) + torch.tensor(MEAN).view(3, 1, 1, 1)
    return (x * 255).round().permute(1, 2, 3, 0).numpy()


def test_clips_are_channels_last_3d():
    clips, _ = collate_patches([cut_patch(_frames(), Box(0, 0, 20), 8, 0)] * 2, MEAN, STD)
    assert clips.is_contiguous(memory_format=torch.channels_last_3d)


def test_identity_box_returns_the_pixels_normalized():
    frames = _frames()
    clips, labels = collate_patches([cut_patch(frames, Box(2, 3, 16), 16, 7)], MEAN, STD)
    assert clips.shape == (1, 3, 3, 16, 16) and clips.dtype == torch.float32
    assert labels.tolist() == [7]
    np.testing.assert_allclose(_as_uint8(clips[0]), frames[:, 3:19, 2:18], atol=1e-3)


def test_flip_mirrors_horizontally():
    frames = _frames()
    clips, _ = collate_patches([cut_patch(frames, Box(0, 0, 20, flip=True), 20, 0)], MEAN, STD)
    np.testing.assert_allclose(_as_uint8(clips[0]), frames[:, :, 19::-1][:, :20], atol=1e-3)


def test_batch_equals_clip_by_clip_with_mixed_patch_sizes():
    a, b = _frames(seed=1), _frames(seed=2)
    pa = cut_patch(a, Box(1.5, 2.25, 14.3), 8, 0)
    pb = cut_patch(b, Box(0.0, 0.0, 20.0, flip=True), 8, 1)
    assert pa.frames.shape != pb.frames.shape  # padding inside the batch is exercised
    both, _ = collate_patches([pa, pb], MEAN, STD)
    one_a, _ = collate_patches([pa], MEAN, STD)
    one_b, _ = collate_patches([pb], MEAN, STD)
    torch.testing.assert_close(both, torch.cat([one_a, one_b]))


def test_downscale_of_a_constant_image_stays_constant():
    frames = np.full((2, 40, 40, 3), 200, dtype=np.uint8)
    clips, _ = collate_patches([cut_patch(frames, Box(3.3, 1.7, 33.1), 11, 0)], MEAN, STD)
    np.testing.assert_allclose(_as_uint8(clips[0]), 200, atol=1e-3)


def test_mixed_grids_in_one_batch_are_refused():
    f = _frames()
    with pytest.raises(ValueError, match="one grid"):
        collate_patches([cut_patch(f, Box(0, 0, 16), 16, 0), cut_patch(f, Box(0, 0, 16), 8, 0)],
                        MEAN, STD)


def test_matches_torch_bilinear_resize_of_the_rounded_box():
    # The reference: crop the box rounded to whole pixels, resize in float with torch, mirror.
    import torch.nn.functional as F

    frames = _frames(t=2, h=30, w=26, seed=4)
    box = Box(3.7, 5.2, 17.9, flip=True)  # rounds to x 4, y 5, side 18
    clips, _ = collate_patches([cut_patch(frames, box, 12, 0)], (0.0,) * 3, (1.0,) * 3)
    crop = torch.from_numpy(frames[:, 5:23, 4:22]).permute(0, 3, 1, 2).float()
    ref = F.interpolate(crop, size=(12, 12), mode="bilinear", align_corners=False).flip(-1)
    got = clips[0].permute(1, 0, 2, 3) * 255.0
    assert (got - ref).abs().max() <= 1.0 + 1e-3  # uint8 resize: within one grey level
