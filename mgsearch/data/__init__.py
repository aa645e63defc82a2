"""Video data: PyAV decoding, clips on multigrid grids, dataset layouts, the synthetic set,
the decoded-clip cache and the short-cycle batch sampler.

Names load on first use, so `mgsearch.config` can import the `DatasetConfig` section without
pulling in torch or PyAV.
"""

from __future__ import annotations

from ..lazy import lazy_attributes

_WHERE = {
    "DatasetConfig": "config", "FORMATS": "config",
    "DecodeError": "decode", "VideoInfo": "decode", "probe": "decode",
    "decode_frames": "decode", "decode_all": "decode",
    "Entry": "formats", "SplitList": "formats", "read_split": "formats",
    "SplitIndex": "index", "Video": "index", "Skipped": "index", "build_index": "index",
    "summarize": "index",
    "ClipCache": "cache", "build_cache": "cache",
    "Box": "sampling", "Patch": "transform", "collate_patches": "transform",
    "VideoClipDataset": "dataset", "PatchView": "dataset", "GridCollate": "dataset",
    "BatchView": "dataset",
    "MultigridBatchSampler": "sampler",
    "Loaders": "loaders", "count_train_clips": "loaders", "open_split": "loaders",
    "prepare_data": "loaders",
    "clip_dataset": "loaders",
    "UserClipDataset": "userdata", "frame_indices": "userdata", "open_source": "userdata",
    "write_synth": "synth", "CLASSES": "synth_render",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_attributes(__name__, _WHERE, __all__)
