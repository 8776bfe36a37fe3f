"""Training batches streamed from :class:`~aslrec.data.shards.ClipSource` blocks.

An epoch's order: the blocks (row groups, GISLR files) in a seeded permutation of the epoch,
their selected clips laid end to end, and that sequence cut into one contiguous range per
consumer (process rank x DataLoader worker), so consumers read disjoint blocks (at most the
two at a range's ends are shared) and every selected clip goes to exactly one consumer. Each
consumer shuffles its range through a buffer (seeded by epoch and consumer) and preprocesses
clips with :func:`~aslrec.data.preprocessing.arrays_for_model`, the in-memory path's one
function; augmentation stays in the training step, as in memory. Memory: one block and the
shuffle buffer per consumer, whatever the number of clips.

In training every consumer yields the same number of clips (ranges differ by at most one clip;
a short one repeats its first clip), so every rank runs the same number of steps, which DDP
needs to stay in step.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import lightning as L
import numpy as np
import torch

from aslrec.data.preprocessing import PreprocessingSpec, arrays_for_model
from aslrec.data.shards import ClipSource
from aslrec.errors import DataError

SHUFFLE_BUFFER = 2048
"""Clips held for the in-buffer shuffle (30-frame clips: ~30 MB)."""


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes (0, 1 outside distributed training)."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def range_sizes(total: int, consumers: int) -> list[int]:
    """Clips in each consumer's contiguous range of an epoch's ``total``."""
    return [(c + 1) * total // consumers - c * total // consumers for c in range(consumers)]


def batches_of(clips: int, batch_size: int, drop_single: bool) -> int:
    """Batches of ``clips`` clips; a last batch of one is dropped when ``drop_single``
    (BatchNorm cannot train on one clip: the in-memory loader's rule)."""
    full, rest = divmod(clips, batch_size)
    return full + (1 if rest > (1 if drop_single else 0) else 0)


class ClipStream(torch.utils.data.IterableDataset):
    """Batches ``(landmarks, mask, label)`` of the ``selected`` clips of ``sources`` (indices
    into the sources laid end to end), ``labels[i]`` the class of clip ``i``.

    ``train=True``: a new block order and buffer shuffle every epoch (:meth:`set_epoch`), every
    consumer padded to the same count. ``train=False``: storage order, nothing repeated, for
    evaluation. ``world`` overrides the distributed rank and size (the held-out report of rank
    0 reads the whole fold alone)."""

    def __init__(
        self,
        sources: Sequence[ClipSource],
        selected: np.ndarray,
        labels: np.ndarray,
        spec: PreprocessingSpec,
        batch_size: int,
        *,
        train: bool,
        seed: int,
        num_workers: int = 0,
        buffer: int = SHUFFLE_BUFFER,
        world: tuple[int, int] | None = None,
    ) -> None:
        super().__init__()
        self.sources = list(sources)
        self.labels = labels
        self.spec = spec
        self.batch_size = batch_size
        self.train = train
        self.seed = seed
        self.num_workers = max(num_workers, 1)
        self.buffer = buffer if train else 0
        self.world = world
        self.epoch = 0
        offsets = np.cumsum([0] + [len(s) for s in self.sources])
        self._blocks = [(s, b) for s, src in enumerate(self.sources) for b in range(_nblocks(src))]
        starts = [offsets[s] + src.block_starts for s, src in enumerate(self.sources)]
        self._first = np.concatenate([b[:-1] for b in starts]).astype(np.int64)
        last = np.concatenate([b[1:] for b in starts]).astype(np.int64)
        self.selected = np.sort(np.asarray(selected, dtype=np.int64))
        self._counts = np.searchsorted(self.selected, last) - np.searchsorted(
            self.selected, self._first
        )

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose order the next iteration reads (the training loop sets it)."""
        self.epoch = epoch

    def _consumers(self) -> tuple[int, int]:
        rank, world = self.world or rank_and_world()
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        return rank * workers + worker, world * workers

    def _per_consumer(self, consumer: int, consumers: int) -> int:
        sizes = range_sizes(len(self.selected), consumers)
        if self.train:
            if min(sizes) == 0:
                raise DataError(
                    f"{len(self.selected)} training clips cannot feed {consumers} processes x "
                    "workers; use fewer devices or workers"
                )
            return max(sizes)
        return sizes[consumer]

    def __len__(self) -> int:
        """Batches this rank yields in an epoch (summed over its DataLoader workers)."""
        rank, world = self.world or rank_and_world()
        consumers = world * self.num_workers
        first = rank * self.num_workers
        return sum(
            batches_of(self._per_consumer(c, consumers), self.batch_size, self.train)
            for c in range(first, first + self.num_workers)
        )

    def _order(self) -> np.ndarray:
        if not self.train:
            return np.arange(len(self._blocks))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self._blocks))

    def _ranges(self, consumer: int, consumers: int) -> Iterator[tuple[int, np.ndarray]]:
        """``(block, global clip indices)`` of this consumer's range, in the epoch's order."""
        order = self._order()
        counts = self._counts[order]
        ends = np.cumsum(counts)
        total = int(ends[-1]) if len(ends) else 0
        lo, hi = consumer * total // consumers, (consumer + 1) * total // consumers
        for block, end, count in zip(order.tolist(), ends.tolist(), counts.tolist(), strict=True):
            start = end - count
            if count == 0 or end <= lo:
                continue
            if start >= hi:
                break
            at = int(np.searchsorted(self.selected, self._first[block]))
            inside = self.selected[at : at + count]
            yield block, inside[max(lo - start, 0) : min(hi, end) - start]

    def _samples(self, consumer: int, consumers: int) -> Iterator[tuple[np.ndarray, ...]]:
        """Preprocessed ``(x, mask, label)`` of this consumer's clips, one block read at a
        time, with the in-memory path's preprocessing."""
        for block, indices in self._ranges(consumer, consumers):
            source, b = self._blocks[block]
            rows = (indices - self._first[block]).tolist()
            x, mask = arrays_for_model(self.sources[source].read_rows(b, rows), self.spec)
            for j, i in enumerate(indices.tolist()):
                # Copies: a view would keep the whole block's arrays alive while the sample
                # waits in the shuffle buffer.
                yield x[j].copy(), mask[j].copy(), np.int64(self.labels[i])

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        consumer, consumers = self._consumers()
        wanted = self._per_consumer(consumer, consumers)
        rng = np.random.default_rng([self.seed, self.epoch, consumer, 1])
        buffer: list[tuple[np.ndarray, ...]] = []
        batch: list[tuple[np.ndarray, ...]] = []
        first: tuple[np.ndarray, ...] | None = None
        yielded = 0

        def emit(sample: tuple[np.ndarray, ...]) -> Iterator[tuple[torch.Tensor, ...]]:
            nonlocal yielded
            batch.append(sample)
            yielded += 1
            if len(batch) == self.batch_size:
                yield _collate(batch)
                batch.clear()

        for sample in self._samples(consumer, consumers):
            first = first or sample
            if not self.buffer:
                yield from emit(sample)
                continue
            if len(buffer) < self.buffer:
                buffer.append(sample)
                continue
            k = int(rng.integers(len(buffer)))
            buffer[k], sample = sample, buffer[k]
            yield from emit(sample)
        for k in rng.permutation(len(buffer)).tolist():
            yield from emit(buffer[k])
        while first is not None and yielded < wanted:  # a short range repeats a clip
            yield from emit(first)
        if batch and not (self.train and len(batch) == 1):
            yield _collate(batch)


def _collate(batch: list[tuple[np.ndarray, ...]]) -> tuple[torch.Tensor, ...]:
    x, mask, y = zip(*batch, strict=True)
    return (
        torch.from_numpy(np.stack(x)),
        torch.from_numpy(np.stack(mask)),
        torch.tensor(y, dtype=torch.int64),
    )


def _nblocks(source: ClipSource) -> int:
    return len(source.block_starts) - 1


class StreamEpochs(L.Callback):
    """Tells the training streams which epoch's order to read. The state is checkpointed, so a
    resumed run reads the epoch it resumes at (its first batches are fetched before any epoch
    hook runs)."""

    def __init__(self) -> None:
        self.streams: list[ClipStream] = []
        self.next_epoch = 0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for stream in self.streams:
            stream.set_epoch(trainer.current_epoch)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.next_epoch = trainer.current_epoch + 1

    def state_dict(self) -> dict[str, int]:
        return {"next_epoch": self.next_epoch}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        self.next_epoch = int(state_dict.get("next_epoch", 0))
        for stream in self.streams:
            stream.set_epoch(self.next_epoch)
