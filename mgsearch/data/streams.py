"""Many clips' `np.random.default_rng([seed, epoch, idx])` draws at once, bit for bit.

Training draws each clip's randomness from its own generator, seeded by (seed, epoch, idx), so a
clip does not depend on the loader worker or the batch that reads it. Building one such generator
costs ~15 us in numpy (SeedSequence hashing, PCG64 seeding, the Generator object), more than all
the rest of a cached clip's arithmetic. Here the same numbers come from numpy array arithmetic,
following numpy's algorithms: `first_outputs` hashes the entropy as SeedSequence does
(numpy/random/bit_generator.pyx), seeds PCG64 and steps it (a 128-bit LCG, kept as two uint64
halves, with its XSL-RR output) for every clip of an epoch at once; `Streams` then draws from a
batch's rows what `Generator.integers` (Lemire's bounded method on 32-bit outputs, which PCG64
serves as the two halves of one 64-bit output; a range of one value draws nothing), `uniform` and
`random` (53-bit doubles) would.

What it does not follow bit for bit (seeds or epochs >= 2**32, ranges >= 2**32 - 1, more draws
than the table holds, and Lemire's rare redraw: probability range / 2**32 per draw) is marked
(`first_outputs` None, `Streams.unfollowed`): those clips must be drawn by numpy's own generator.
`matches_numpy()` checks the scheme against the installed numpy once per process before the
batched path relies on it.
"""

from __future__ import annotations

import numpy as np

_M32 = 0xFFFFFFFF
# numpy.random.bit_generator's SeedSequence constants
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R, _XSHIFT, _POOL = 0xCA01F9DD, 0x4973F715, 16, 4
# PCG64's 128-bit multiplier, as high and low 64-bit halves
_MUL_HI, _MUL_LO = np.uint64(0x2360ED051FC65DA4), np.uint64(0x4385DF649FCCF645)


def _u32(x):
    """The low 32 bits, of a Python int (the per-batch constants) or a uint64 array."""
    return x & (_M32 if isinstance(x, int) else np.uint64(_M32))


def _hash_consts(n: int, init: int, mult: int) -> list[int]:
    """The successive multipliers SeedSequence's hash uses (they depend on the call count only)."""
    out, h = [], init
    for _ in range(n):
        out.append(h)
        h = (h * mult) & _M32
    return out


# hashmix(value) uses (value ^ h_k) * h_{k+1}: 4 + 12 calls in mix_entropy for a 4-word pool
_HASH_A = _hash_consts(_POOL + _POOL * (_POOL - 1) + 1, _INIT_A, _MULT_A)
_HASH_B = _hash_consts(2 * _POOL + 1, _INIT_B, _MULT_B)


class _Hash:
    """SeedSequence.mix_entropy's running hash, applied to uint32 values held in uint64 arrays."""

    def __init__(self):
        self.k = 0

    def __call__(self, value):
        value = _u32((value ^ _HASH_A[self.k]) * _HASH_A[self.k + 1])
        self.k += 1
        return value ^ (value >> _XSHIFT)


def _mix(x, y):
    r = _u32(_MIX_L * x - _MIX_R * y)  # arrays wrap mod 2**64, ints go negative: fine mod 2**32
    return r ^ (r >> _XSHIFT)


def _mulhi64(a: np.ndarray, b: np.uint64) -> np.ndarray:
    """High 64 bits of the 128-bit product a * b (uint64), by 32-bit halves."""
    m = np.uint64(_M32)
    s32 = np.uint64(32)
    a0, a1, b0, b1 = a & m, a >> s32, b & m, b >> s32
    p00, p01, p10 = a0 * b0, a0 * b1, a1 * b0
    mid = (p00 >> s32) + (p01 & m) + (p10 & m)
    return a1 * b1 + (p01 >> s32) + (p10 >> s32) + (mid >> s32)


def _step(hi: np.ndarray, lo: np.ndarray, inc_hi: np.ndarray, inc_lo: np.ndarray):
    """One PCG64 LCG step: state * multiplier + inc (mod 2**128), on (high, low) halves."""
    new_hi = _mulhi64(lo, _MUL_LO) + lo * _MUL_HI + hi * _MUL_LO
    new_lo = lo * _MUL_LO
    out_lo = new_lo + inc_lo
    carry = (out_lo < new_lo).astype(np.uint64)
    return new_hi + inc_hi + carry, out_lo


def _output(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """PCG64's XSL-RR output of a state: rotate (high ^ low) right by the top 6 bits."""
    x = hi ^ lo
    rot = hi >> np.uint64(58)
    return (x >> rot) | (x << ((np.uint64(64) - rot) & np.uint64(63)))


STREAM_WORDS = 6  # 64-bit outputs kept per clip: a training clip draws at most 5 (3 bounded
# integers take 2 outputs' halves, then 3 doubles); a Lemire redraw is left to numpy anyway


def first_outputs(seed: int, epoch: int, n: int, k: int = STREAM_WORDS) -> np.ndarray | None:
    """The first `k` 64-bit outputs of `np.random.default_rng([seed, epoch, i])`'s PCG64 for
    every i < n (uint64 n x k), or None where SeedSequence would hash a seed or epoch outside
    [0, 2**32) as more than one word (not followed here)."""
    if not (0 <= seed <= _M32 and 0 <= epoch <= _M32 and n - 1 <= _M32):
        return None
    words = np.arange(n, dtype=np.uint64)
    # SeedSequence([seed, epoch, i]).generate_state(4, uint64): seed and epoch hash the same
    # for every stream, so their part of the pool stays Python ints until i mixes in.
    h = _Hash()
    pool: list = [h(seed), h(epoch), h(words), h(0)]
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                pool[dst] = _mix(pool[dst], h(pool[src]))
    state32 = []
    for j in range(2 * _POOL):
        v = _u32((pool[j % _POOL] ^ _HASH_B[j]) * _HASH_B[j + 1])
        state32.append(v ^ (v >> _XSHIFT))
    s32 = np.uint64(32)
    seed_hi, seed_lo, seq_hi, seq_lo = (state32[2 * j] | (state32[2 * j + 1] << s32)
                                        for j in range(4))
    # PCG64 seeding: inc = (initseq << 1) | 1; state = 0; step; state += initstate; step
    inc_hi = (seq_hi << np.uint64(1)) | (seq_lo >> np.uint64(63))
    inc_lo = (seq_lo << np.uint64(1)) | np.uint64(1)
    zero = np.zeros(n, dtype=np.uint64)
    hi, lo = _step(zero, zero, inc_hi, inc_lo)
    lo2 = lo + seed_lo
    hi, lo = _step(hi + seed_hi + (lo2 < lo).astype(np.uint64), lo2, inc_hi, inc_lo)
    out = np.empty((n, k), dtype=np.uint64)
    for j in range(k):  # each output: step, then XSL-RR of the new state
        hi, lo = _step(hi, lo, inc_hi, inc_lo)
        out[:, j] = _output(hi, lo)
    return out


class Streams:
    """The draws of `Generator`s whose first 64-bit outputs are the rows of `outputs`
    (`first_outputs` rows, one per clip), advanced in lock step.

    Each method draws what the same-named Generator method draws, once per stream, with
    per-stream bounds. `unfollowed` marks the streams whose values are not numpy's (a Lemire redraw,
    a range this does not follow, more outputs than `outputs` holds): numpy must draw those."""

    def __init__(self, outputs: np.ndarray):
        self._outputs = outputs
        n = outputs.shape[0]
        self._unfollowed = np.zeros(n, dtype=bool)  # a Lemire redraw, a range not followed
        self._rows = np.arange(n)
        self._used = np.zeros(n, dtype=np.int64)  # outputs consumed per stream
        self._has32 = np.zeros(n, dtype=bool)  # PCG64's buffered upper half of an output
        self._buf32 = np.zeros(n, dtype=np.uint64)

    def __len__(self) -> int:
        return self._rows.shape[0]

    @property
    def unfollowed(self) -> np.ndarray:
        """Per stream: whether numpy must draw it (its values here are not numpy's)."""
        return self._unfollowed | (self._used > self._outputs.shape[1])

    def _next64(self, mask: np.ndarray | None = None) -> np.ndarray:
        """The next 64-bit output of the streams in `mask` (None: all; others: not advanced,
        value 0)."""
        out = self._outputs[self._rows, np.minimum(self._used, self._outputs.shape[1] - 1)]
        if mask is None:
            self._used += 1
            return out
        self._used += mask
        return np.where(mask, out, np.uint64(0))

    def _next32(self, mask: np.ndarray) -> np.ndarray:
        buffered = mask & self._has32
        fresh = mask & ~self._has32
        out = self._next64(fresh)
        value = np.where(buffered, self._buf32, _u32(out))
        self._buf32 = np.where(fresh, out >> np.uint64(32), self._buf32)
        self._has32 = (self._has32 & ~buffered) | fresh
        return value

    def integers(self, low, high) -> np.ndarray:
        """Generator.integers(low, high) per stream (int64, high exclusive, high > low)."""
        n = len(self)
        low = np.broadcast_to(np.asarray(low, dtype=np.int64), (n,))
        span = np.broadcast_to(np.asarray(high, dtype=np.int64), (n,)) - low - 1
        if (span < 0).any():
            raise ValueError("integers: high <= low")
        self._unfollowed |= span >= _M32  # numpy's 64-bit and full-32-bit cases
        draw = (span > 0) & (span < _M32)  # a range of one value draws nothing
        rng = span.astype(np.uint64)
        m = self._next32(draw) * (rng + np.uint64(1))
        threshold = (np.uint64(_M32) - rng) % (rng + np.uint64(1))
        self._unfollowed |= draw & (_u32(m) < threshold)  # Lemire would reject and redraw
        return low + np.where(draw, m >> np.uint64(32), np.uint64(0)).astype(np.int64)

    def random(self) -> np.ndarray:
        """Generator.random() per stream: a 53-bit double in [0, 1)."""
        return (self._next64() >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)

    def uniform(self, low, high) -> np.ndarray:
        """Generator.uniform(low, high) per stream: low + (high - low) * random()."""
        low = np.asarray(low, dtype=np.float64)
        return low + (np.asarray(high, dtype=np.float64) - low) * self.random()


_CHECKED: bool | None = None


def matches_numpy() -> bool:
    """Whether `Streams` reproduces this numpy's generators (checked once per process on a
    spread of clip indices and bounds, with every kind of draw and skip)."""
    global _CHECKED
    if _CHECKED is None:
        _CHECKED = _compare(seed=7, epoch=3, idx=np.arange(0, 4_100, 101))
    return _CHECKED


def _compare(seed: int, epoch: int, idx: np.ndarray) -> bool:
    outputs = first_outputs(seed, epoch, int(idx.max()) + 1)
    streams = Streams(outputs[idx])
    his = (np.arange(len(idx)) % 5) + 1  # some range-0 draws (high 1), which skip
    got = [streams.integers(0, his), streams.integers(3, 40), streams.uniform(0.0, 7.5),
           streams.integers(2, 3), streams.random()]
    for j, i in enumerate(idx.tolist()):
        rng = np.random.default_rng([seed, epoch, i])
        want = [rng.integers(0, his[j]), rng.integers(3, 40), rng.uniform(0.0, 7.5),
                rng.integers(2, 3), rng.random()]
        if not streams.unfollowed[j] and [g[j] for g in got] != want:
            return False
    return True
