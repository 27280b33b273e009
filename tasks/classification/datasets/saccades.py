"""N-Fashion-MNIST (simulated saccades): Fashion-MNIST turned into events by N-MNIST's protocol, in simulation.

N-MNIST (Orchard, Jayawant, Cohen, Thakor, "Converting static image datasets to spiking neuromorphic datasets
using saccades", Front. Neurosci. 9:437, 2015) was *recorded*: an ATIS camera on a pan-tilt unit looked at each
MNIST digit on a monitor while making three saccades along a triangle, about 100 ms each, seen by 34 x 34 pixels
(28 x 28 plus the motion). Here nothing is recorded: the same motion is applied to each Fashion-MNIST image and a
standard DVS pixel model turns the moving image into events. The result is written in N-MNIST's own format and
layout (:mod:`.nmnist`), so the same loader reads this set and the real N-MNIST. It is a simulation, and is named so
everywhere: "N-Fashion-MNIST (simulated saccades)".

Motion (the saccade geometry of N-MNIST as tonic's ``NMNIST.stabilize`` undoes it; tonic ports it from
Orchard's code): the image content moves on the sensor along the triangle (0, 0) -> (3.5, 7) -> (7, 0) -> (0, 0)
pixels (x right, y down), one side per saccade of 105 ms, at constant speed; 315 ms in all. The 28 x 28 image's
top-left pixel centre sits at (-0.5, -0.5) + displacement, which centres the 7-pixel excursion in the 34-pixel
field; outside the image the monitor is black (Fashion-MNIST's background is black too).

Pixel model (ESIM: Rebecq, Gehrig, Scaramuzza, CoRL 2018; v2e: Hu, Liu, Delbruck, CVPR-W 2021), all pixels of a
batch of images at once, on a time grid of ``dt_us`` (1 ms; the image moves at most 0.075 px per step):

- intensity: the image (``[0, 1]``) sampled at each pixel's sub-pixel position by bilinear interpolation;
- log intensity ``L = ln(I + eps)``; ``eps`` is the monitor's black level relative to its white as the sensor sees
  it (it keeps black pixels finite and sets the contrast of an edge, ``ln((1 + eps) / eps)``);
- each pixel remembers the level of its last event; when ``L`` has risen by its ON threshold ``C_on`` (fallen by
  ``C_off``) above (below) that level, it emits an ON (OFF) event and moves its level by that threshold; several
  events per step are allowed, their timestamps linearly interpolated between the two grid times at the level
  crossings (ESIM). The level starts anywhere in the dead band ``(-C_off, C_on)`` around the first log intensity, as
  for a pixel with a history (v2e starts it a random fraction of ``C_on`` below, which leans the first events to ON);
- thresholds vary from pixel to pixel: ``C ~ N(C_nominal, sigma_c)``, clipped at ``c_min`` (v2e);
- refractory period: a pixel fires no event within ``refractory_us`` of its previous one; the change waits and
  fires when the period ends (as in v2e, the memorised level moves only by the events emitted);
- background activity (v2e): leak events (the memorised level creeps down at ``leak_hz * C_on`` per second per
  pixel, with 10% pixel-to-pixel jitter, so a static pixel emits ON events at about ``leak_hz``) and shot noise
  (ON or OFF events at a Poisson rate ``shot_hz`` per pixel, uniformly in time; v2e also resets the pixel's level
  at a shot-noise event, here they leave it alone).

What is not modelled: the photoreceptor's finite bandwidth (v2e's low-pass filter: at 75 px/s an edge takes 13 ms to
cross a pixel, far slower than v2e's default 300 Hz cut-off), the ATIS's exposure-measurement events (N-MNIST
keeps only change events), lens blur and the monitor's refresh, the pan-tilt unit's acceleration (tonic's
stabilisation assumes constant speed too).

Calibration (docs/events.md): ``C_on = C_off = 0.2`` and ``sigma_c = 0.03`` are v2e's defaults, the refractory
period 0.5 ms is v2e's default and the leak rate 0.1 Hz its "noisy" preset's. Two parameters are this simulator's
own, set against one real N-MNIST recording (tonic's test file ``test/test_data/sample_nmnist.bin``, 4,325 events):
``eps = 0.5`` (a black-to-white edge spans ``ln 3 = 1.1``, about 5.5 thresholds) gives MNIST-like strokes drawn here
(MNIST itself is not at hand) 4.0 events per active pixel, polarity and saccade against the recording's 4.3, and
3,300 to 6,600 events per digit against its 4,325 (a monitor filmed through a lens has a far smaller contrast than
the monitor's own); ``shot_hz = 0.3`` with the leak (about 0.4 background events per pixel and second) gives the
recording's 0.18 events per quiet pixel (pixels with at most 2 events).

Determinism: every random draw of an image comes from its own generator, seeded by ``(seed, split, index)``, so an
image's events do not depend on the batch, the worker or a resumed run. Timestamps are integer microseconds.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import multiprocessing
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from zoo.fileio import write_atomic

from .nmnist import EVENT_DTYPE, SENSOR_SIZE, encode_nmnist, read_nmnist_file

__all__ = ["SaccadeParams", "SaccadeSimulator", "simulate", "make_dataset", "dataset_statistics", "plot_sample",
           "DATASET_NAME", "saccade_displacement"]

DATASET_NAME = "N-Fashion-MNIST (simulated saccades)"
SIMULATOR_VERSION = 1  # bump when a change to the simulation changes its events (another version's set is not resumed)
SPLITS = {"train": ("Train", 60000), "test": ("Test", 10000)}
SPLIT_CODES = {"train": 0, "test": 1}
IMAGE = 28
CHUNK = 500  # images per unit of work: one completion marker each
BATCH = 100  # images simulated together (memory: a few MB per array)


@dataclass(frozen=True)
class SaccadeParams:
    """Every number of the simulation, with its source (module docstring; docs/events.md)."""

    sensor: int = SENSOR_SIZE[0]  # N-MNIST: 34 x 34 pixels (Orchard et al. 2015)
    saccade_us: int = 105_000  # one saccade (tonic's NMNIST.stabilize, after Orchard's code; "about 100 ms")
    vertices: Tuple[Tuple[float, float], ...] = ((0.0, 0.0), (3.5, 7.0), (7.0, 0.0))  # px, tonic's stabilize
    origin: float = -0.5  # image pixel (0, 0) at displacement (0, 0): centres the 7-px excursion in 34 px
    dt_us: int = 1000  # time grid (ESIM interpolates event times between grid points)
    eps: float = 0.5  # ln(I + eps): black level; calibrated on a real N-MNIST sample (docs/events.md)
    c_on: float = 0.2  # ON contrast threshold, ln units (v2e default pos_thres)
    c_off: float = 0.2  # OFF contrast threshold (v2e default neg_thres)
    sigma_c: float = 0.03  # pixel-to-pixel threshold mismatch, std (v2e default sigma_thres)
    c_min: float = 0.01  # thresholds clipped below at this value (keeps a pixel from firing on noise)
    refractory_us: int = 500  # v2e default refractory period, 0.5 ms
    leak_hz: float = 0.1  # leak events per pixel and second (v2e's "noisy" preset)
    leak_jitter: float = 0.1  # pixel-to-pixel jitter of the leak rate (v2e default leak_jitter_fraction)
    shot_hz: float = 0.3  # shot-noise events per pixel and second; calibrated on a real N-MNIST sample

    @property
    def duration_us(self) -> int:
        return self.saccade_us * len(self.vertices)

    @property
    def steps(self) -> int:
        if self.duration_us % self.dt_us:
            raise ValueError(f"dt_us {self.dt_us} must divide the recording's {self.duration_us} us")
        return self.duration_us // self.dt_us

    def to_dict(self) -> Dict[str, Any]:
        return {k: (list(map(list, v)) if k == "vertices" else v) for k, v in dataclasses.asdict(self).items()}


def saccade_displacement(t_us: np.ndarray, params: SaccadeParams = SaccadeParams()) -> Tuple[np.ndarray, np.ndarray]:
    """Displacement (dx, dy) in pixels of the image on the sensor at times ``t_us``: the closed triangle of
    ``params.vertices``, one side per saccade, at constant speed."""
    corners = np.array(list(params.vertices) + [params.vertices[0]], dtype=np.float64)
    knots = np.arange(len(corners)) * params.saccade_us
    t = np.clip(np.asarray(t_us, dtype=np.float64), 0, knots[-1])
    return np.interp(t, knots, corners[:, 0]), np.interp(t, knots, corners[:, 1])


class SaccadeSimulator:
    """The DVS pixel model of the module docstring, vectorised over a batch of images and all their pixels."""

    def __init__(self, params: SaccadeParams = SaccadeParams()) -> None:
        self.params = p = params
        if p.sensor < IMAGE:
            raise ValueError(f"sensor {p.sensor} px is smaller than the {IMAGE} px images")
        self.times = np.arange(p.steps + 1, dtype=np.float64) * p.dt_us
        dx, dy = saccade_displacement(self.times, p)
        # sensor pixel (x, y) samples the image at (x - a, y - b), a = origin + dx: window offsets and weights per step
        ax, ay = p.origin + dx, p.origin + dy
        fx, fy = np.floor(-ax), np.floor(-ay)
        self.wx, self.wy = (-ax - fx).astype(np.float32), (-ay - fy).astype(np.float32)
        reach = int(math.ceil(max(np.abs(ax).max(), np.abs(ay).max(), p.sensor - IMAGE - min(ax.min(), ay.min()))))
        self.pad = reach + 2
        self.ox, self.oy = (fx + self.pad).astype(np.int64), (fy + self.pad).astype(np.int64)

    # -- per-image random state --------------------------------------------------------------------------------------
    def _pixel_state(self, rng: np.random.Generator) -> Tuple[np.ndarray, ...]:
        """Thresholds (ON, OFF), initial level offset and leak slope of one image's pixels, from its generator."""
        p, n = self.params, self.params.sensor ** 2
        c_on = np.maximum(rng.normal(p.c_on, p.sigma_c, n), p.c_min)
        c_off = np.maximum(rng.normal(p.c_off, p.sigma_c, n), p.c_min)
        start = rng.uniform(-c_off, c_on)  # first log intensity minus level: anywhere in the dead band
        leak = np.maximum(p.leak_hz * p.c_on * (1 + p.leak_jitter * rng.standard_normal(n)), 0.0) * 1e-6  # per us
        return c_on, c_off, start, leak

    def _shot_noise(self, rng: np.random.Generator) -> np.ndarray:
        p = self.params
        count = rng.poisson(p.shot_hz * p.sensor ** 2 * p.duration_us * 1e-6)
        events = np.empty(count, dtype=EVENT_DTYPE)
        pixel = rng.integers(0, p.sensor ** 2, count)
        events["x"], events["y"] = pixel % p.sensor, pixel // p.sensor
        events["p"] = rng.integers(0, 2, count)
        events["t"] = rng.integers(0, p.duration_us, count)
        return events

    # -- simulation ------------------------------------------------------------------------------------------------
    def intensity(self, padded: np.ndarray, step: int) -> np.ndarray:
        """Bilinear samples ``[B, S, S]`` of padded images ``[B, H, W]`` at grid step ``step``."""
        s, x0, y0, wx, wy = self.params.sensor, self.ox[step], self.oy[step], self.wx[step], self.wy[step]
        top = padded[:, y0:y0 + s + 1, x0:x0 + s + 1]
        rows = top[:, :s] * (1 - wy) + top[:, 1:] * wy
        return rows[:, :, :s] * (1 - wx) + rows[:, :, 1:] * wx

    def simulate(self, images: np.ndarray, rngs: Sequence[np.random.Generator]) -> List[np.ndarray]:
        """Events of each image (uint8 ``[B, 28, 28]``), one generator per image -> structured arrays sorted by time."""
        p = self.params
        images = np.asarray(images)
        if images.ndim != 3 or images.shape[1:] != (IMAGE, IMAGE) or len(images) != len(rngs):
            raise ValueError(f"simulate expects images [B, {IMAGE}, {IMAGE}] and one generator per image, got "
                             f"{images.shape} and {len(rngs)} generators")
        batch, n = len(images), p.sensor ** 2
        padded = np.pad(images.astype(np.float32) / 255.0, ((0, 0), (self.pad, self.pad), (self.pad, self.pad)))
        states = [self._pixel_state(rng) for rng in rngs]
        c_on, c_off, start, leak = (np.concatenate([s[i] for s in states]) for i in range(4))
        log_prev = np.log(self.intensity(padded, 0).reshape(-1).astype(np.float64) + p.eps)
        level = log_prev - start
        last = np.full(batch * n, -np.inf)  # time of each pixel's last event
        out_pix: List[np.ndarray] = []
        out_pol: List[np.ndarray] = []
        out_t: List[np.ndarray] = []
        dt, refr = float(p.dt_us), float(p.refractory_us)
        for step in range(1, p.steps + 1):
            log_now = np.log(self.intensity(padded, step).reshape(-1).astype(np.float64) + p.eps)
            level -= leak * dt
            diff = log_now - level
            idx = np.flatnonzero((diff >= c_on) | (diff <= -c_off))
            if idx.size:
                self._fire(idx, diff[idx], log_prev[idx], log_now[idx], level, last, c_on, c_off,
                           self.times[step - 1], dt, refr, out_pix, out_pol, out_t)
            log_prev = log_now
        pix = np.concatenate(out_pix) if out_pix else np.zeros(0, np.int64)
        pol = np.concatenate(out_pol) if out_pol else np.zeros(0, np.int64)
        ts = np.concatenate(out_t) if out_t else np.zeros(0)
        image_of = pix // n
        results = []
        order = np.argsort(image_of, kind="stable")  # events come out in time order within each image
        bounds = np.searchsorted(image_of[order], np.arange(batch + 1))
        for b in range(batch):
            sel = order[bounds[b]:bounds[b + 1]]
            local = pix[sel] - b * n
            signal = np.empty(sel.size, dtype=EVENT_DTYPE)
            signal["x"], signal["y"] = local % p.sensor, local // p.sensor
            signal["p"], signal["t"] = pol[sel], np.minimum(np.round(ts[sel]).astype(np.int64), p.duration_us - 1)
            events = np.concatenate([signal, self._shot_noise(rngs[b])])
            results.append(events[np.argsort(events["t"], kind="stable")])
        return results

    @staticmethod
    def _fire(idx: np.ndarray, diff: np.ndarray, log_prev: np.ndarray, log_now: np.ndarray, level: np.ndarray,
              last: np.ndarray, c_on: np.ndarray, c_off: np.ndarray, t0: float, dt: float, refr: float,
              out_pix: List[np.ndarray], out_pol: List[np.ndarray], out_t: List[np.ndarray]) -> None:
        """Events of the pixels ``idx`` whose log intensity crossed a threshold between ``t0`` and ``t0 + dt``."""
        on = diff > 0
        thr = np.where(on, c_on[idx], c_off[idx])
        sign = np.where(on, 1.0, -1.0)
        count = np.floor(np.abs(diff) / thr).astype(np.int64)  # >= 1: several events per step allowed
        group = np.repeat(np.arange(idx.size), count)
        k = np.arange(group.size) - np.repeat(np.cumsum(count) - count, count) + 1  # 1..count within a pixel
        crossing = level[idx][group] + sign[group] * k * thr[group]  # the levels the k-th event crosses
        slope = (log_now - log_prev)[group]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(slope != 0, (crossing - log_prev[group]) / slope, 0.0)
        t_cross = t0 + np.clip(frac, 0.0, 1.0) * dt  # ESIM: linear interpolation between grid times
        # refractory chain: t_k = max(t_cross_k, t_{k-1} + refr), t_0 = last event; closed form with a running max
        # per pixel (groups are consecutive: an offset per group keeps the running max inside its group)
        offset = group * 1e7
        base = np.maximum.accumulate(t_cross - k * refr + offset) - offset
        t_event = np.maximum(base, (last[idx] + refr)[group] - refr) + k * refr
        fired = t_event <= t0 + dt  # a prefix of each pixel's events; the rest waits for the next step
        if not fired.any():
            return
        fired_count = np.bincount(group[fired], minlength=idx.size)
        level[idx] += sign * fired_count * thr
        has = fired_count > 0
        last_index = np.cumsum(count) - count + fired_count - 1
        last[idx[has]] = t_event[last_index[has]]
        out_pix.append(idx[group[fired]])
        out_pol.append(on[group[fired]].astype(np.int64))
        out_t.append(t_event[fired])


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of image ``index`` of ``split``: seeded by ``(seed, split, index)`` only."""
    return np.random.default_rng([int(seed), SPLIT_CODES[split], int(index)])


def simulate(images: np.ndarray, seed: int = 0, split: str = "test", first_index: int = 0,
             params: SaccadeParams = SaccadeParams()) -> List[np.ndarray]:
    """Events of ``images`` (uint8 ``[B, 28, 28]``) as images ``first_index..`` of ``split`` made with ``seed``."""
    rngs = [image_rng(seed, split, first_index + i) for i in range(len(images))]
    return SaccadeSimulator(params).simulate(images, rngs)


# -- the whole set ---------------------------------------------------------------------------------------------------
def code_version() -> str:
    """sha256 (first 16 hex digits) of this file and the format module: what made the set."""
    digest = hashlib.sha256()
    for name in ("saccades.py", "nmnist.py"):
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:16]


def _write_plain(path: Path, data: bytes) -> None:
    """Temporary file + rename, so a killed run leaves no partial file (no fsync per file: 70k fsyncs would cost
    minutes; a chunk is marked done only once all its files are written)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _work(task: Tuple[str, str, int, int, np.ndarray, np.ndarray, int, Dict[str, Any]]) -> int:
    """One chunk: simulate, write its files, then its completion marker. Returns the number of images."""
    out_root, split, start, stop, images, labels, seed, params = task
    simulator = SaccadeSimulator(SaccadeParams(**{**params, "vertices": tuple(map(tuple, params["vertices"]))}))
    folder = Path(out_root) / "NMNIST" / SPLITS[split][0]
    for label in range(10):
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
    for b0 in range(0, stop - start, BATCH):
        rngs = [image_rng(seed, split, start + b0 + i) for i in range(min(BATCH, stop - start - b0))]
        events = simulator.simulate(images[b0:b0 + len(rngs)], rngs)
        for i, ev in enumerate(events):
            index = start + b0 + i
            _write_plain(folder / str(int(labels[b0 + i])) / f"{index + 1:05d}.bin", encode_nmnist(ev))
    write_atomic(_marker(out_root, split, start, stop), "done\n")
    return stop - start


def _marker(out_root: Union[str, Path], split: str, start: int, stop: int) -> Path:
    return Path(out_root) / ".progress" / f"{split}-{start:05d}-{stop:05d}.done"


def _settings(seed: int, limit: Optional[int], params: SaccadeParams,
              arrays: Dict[str, Tuple[np.ndarray, np.ndarray]]) -> Dict[str, Any]:
    """What decides the files' contents: a folder made with other settings is not continued."""
    digest = hashlib.sha256()
    for split in SPLITS:
        for array in arrays[split]:
            digest.update(np.ascontiguousarray(array).tobytes())
    return dict(seed=int(seed), limit=limit, params=params.to_dict(), simulator_version=SIMULATOR_VERSION,
                source_sha256=digest.hexdigest()[:16])


def _load_fashion_mnist(data_root: Optional[str]) -> Tuple[Path, Dict[str, Tuple[np.ndarray, np.ndarray]]]:
    from .fashion_mnist import _FILES, _file, find_fashion_mnist, read_idx

    root = find_fashion_mnist(data_root)
    arrays = {}
    for split, (image_name, label_name) in _FILES.items():
        images, labels = read_idx(_file(root, image_name), 3), read_idx(_file(root, label_name), 1)
        if images.shape[1:] != (IMAGE, IMAGE) or len(images) != len(labels):
            raise ValueError(f"{root}: {split} files hold {images.shape} images and {len(labels)} labels; expected "
                             f"[N, 28, 28] and N (Fashion-MNIST)")
        arrays[split] = (images, labels)
    return root, arrays


def make_dataset(out_root: Union[str, Path], data_root: Optional[str] = None, seed: int = 0, workers: int = 2,
                 limit: Optional[int] = None, params: SaccadeParams = SaccadeParams(),
                 progress: bool = True) -> Dict[str, Any]:
    """Make N-Fashion-MNIST (simulated saccades) under ``out_root``: ``NMNIST/{Train,Test}/<label>/<id>.bin``
    (ids ``00001.bin``... per split, as N-MNIST's), ``dataset.json`` and ``README.md``.

    ``data_root``: Fashion-MNIST's idx files (None: ``find_fashion_mnist``'s defaults). ``limit``: the first
    ``limit`` images of each split only. Resumable and cached: each chunk of 500 images leaves a marker when its
    files are written; a re-run skips marked chunks, and returns at once when the set is complete. A folder made with
    other settings is refused. Returns the contents of ``dataset.json``.
    """
    from .base import check_int

    out_root = Path(out_root)
    seed = check_int(seed, "seed", 0)
    workers = check_int(workers, "workers", 1)
    limit = None if limit is None else check_int(limit, "limit", 1)
    source, arrays = _load_fashion_mnist(data_root)
    settings = _settings(seed, limit, params, arrays)
    if out_root.exists() and not out_root.is_dir():
        raise ValueError(f"{out_root} is a file; give a folder for the dataset")
    stamp = out_root / ".progress" / "settings.json"
    if stamp.is_file():
        previous = json.loads(stamp.read_text())
        if previous != settings:
            changed = sorted(k for k in settings if previous.get(k) != settings[k])
            raise ValueError(f"{out_root} holds a set made with other settings ({', '.join(changed)} differ); remove "
                             f"it or choose another output folder")
    elif out_root.is_dir() and any(out_root.iterdir()):
        raise ValueError(f"{out_root} is not empty and holds no N-Fashion-MNIST progress; choose an empty or new "
                         f"output folder")
    complete = out_root / "dataset.json"
    if complete.is_file() and stamp.is_file():
        return dict(json.loads(complete.read_text()), cached=True)  # finished earlier: nothing to do
    write_atomic(stamp, json.dumps(settings, indent=1))

    tasks, counts = [], {}
    for split, (_, total) in SPLITS.items():
        images, labels = arrays[split]
        count = min(total, len(images), limit or total)
        counts[split] = count
        for start in range(0, count, CHUNK):
            stop = min(start + CHUNK, count)
            if not _marker(out_root, split, start, stop).is_file():
                tasks.append((str(out_root), split, start, stop, images[start:stop], labels[start:stop], seed,
                              params.to_dict()))
    todo = sum(t[3] - t[2] for t in tasks)
    began = time.time()
    _run(tasks, workers, todo, progress)
    elapsed = time.time() - began
    info = _description(dict(settings, source=str(source), code_version=code_version()), counts, elapsed, todo,
                        workers)
    write_atomic(out_root / "README.md", _readme(info))
    write_atomic(complete, json.dumps(info, indent=1))
    return info


def _run(tasks: List[tuple], workers: int, todo: int, progress: bool) -> None:
    from tqdm import tqdm

    bar = tqdm(total=todo, unit="img", desc="N-Fashion-MNIST", disable=not progress or not todo)
    try:
        if workers == 1 or len(tasks) <= 1:
            for task in tasks:
                bar.update(_work(task))
            return
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with context.Pool(workers) as pool:
            for done in pool.imap_unordered(_work, tasks):
                bar.update(done)
    finally:
        bar.close()


def _description(settings: Dict[str, Any], counts: Dict[str, int], elapsed: float, todo: int,
                 workers: int) -> Dict[str, Any]:
    return dict(
        name=DATASET_NAME, simulated=True,
        what=("Fashion-MNIST images turned into DVS events by simulating N-MNIST's recording protocol (three "
              "saccades along a triangle, 34 x 34 pixels); not recorded by a camera"),
        protocol="Orchard et al. 2015, Front. Neurosci. 9:437 (N-MNIST); geometry as tonic's NMNIST.stabilize",
        pixel_model="ESIM (Rebecq et al., CoRL 2018) and v2e (Hu et al., CVPR-W 2021): see saccades.py",
        source_data=dict(name="Fashion-MNIST (Xiao, Rasul, Vollgraf 2017), MIT licence", path=settings["source"]),
        classes=["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                 "Ankle boot"],
        format="N-MNIST binary: 5-byte events (x, y, polarity bit + 23-bit microsecond timestamp)",
        layout="NMNIST/{Train,Test}/<label>/<id>.bin, id = 1-based index of the image in its Fashion-MNIST split",
        samples=counts, seed=settings["seed"], limit=settings["limit"], params=settings["params"],
        code="tasks/classification/datasets/saccades.py", code_version=settings["code_version"],
        simulator_version=settings["simulator_version"], source_sha256=settings["source_sha256"],
        generation=dict(images_made_in_this_run=todo, seconds=round(elapsed, 1), workers=workers),
        reader="tasks.classification.datasets.NFashionMNIST (or NMNIST, or tonic.datasets.NMNIST)",
    )


def _readme(info: Dict[str, Any]) -> str:
    params = "\n".join(f"- `{k}`: {v}" for k, v in info["params"].items())
    return (f"# {info['name']}\n\n"
            f"**Simulated, not recorded.** {info['what']}.\n\n"
            f"- Protocol: {info['protocol']}\n- Pixel model: {info['pixel_model']}\n"
            f"- Source images: {info['source_data']['name']} ({info['source_data']['path']})\n"
            f"- Format: {info['format']}\n- Layout: {info['layout']}\n"
            f"- Samples: {info['samples']}\n- Seed: {info['seed']}; code version {info['code_version']} "
            f"({info['code']})\n- Read with: {info['reader']}\n\n## Parameters\n\n{params}\n\n"
            f"Sources of every parameter: the docstring of {info['code']} and docs/events.md.\n")


# -- statistics and a picture ------------------------------------------------------------------------------------------
def split_files(root: Union[str, Path], split: str = "test", limit: Optional[int] = None) -> List[Path]:
    """The ``.bin`` files of ``<root>/NMNIST/<Split>`` in sorted order (the first ``limit``)."""
    folder = Path(root) / "NMNIST" / SPLITS[split][0]
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a directory; expected layout: <root>/NMNIST/{{Train, Test}}/"
                                f"<label>/<id>.bin")
    files = sorted(folder.glob("*/*.bin"))
    return files[:limit] if limit else files


def file_statistics(files: Iterable[Union[str, Path]], saccade_us: int = SaccadeParams.saccade_us,
                    saccades: int = 3) -> Dict[str, Any]:
    """Per-sample statistics of N-MNIST-format files: events (mean, std), ON fraction, events per saccade (by time
    windows of ``saccade_us``), duration. Means over samples."""
    counts, on, per_saccade, duration = [], [], [], []
    for path in files:
        events = read_nmnist_file(path)
        counts.append(len(events))
        on.append(events["p"].mean() if len(events) else np.nan)
        window = np.minimum(events["t"] // saccade_us, saccades - 1)
        per_saccade.append(np.bincount(window, minlength=saccades)[:saccades])
        duration.append((events["t"].max() - events["t"].min()) / 1000 if len(events) else 0.0)
    if not counts:
        raise ValueError("no files to measure")
    counts_a, per = np.array(counts, dtype=np.float64), np.array(per_saccade, dtype=np.float64)
    return dict(samples=len(counts), events_mean=float(counts_a.mean()), events_std=float(counts_a.std()),
                on_fraction=float(np.nanmean(on)), events_per_saccade=[float(v) for v in per.mean(0)],
                duration_ms=float(np.mean(duration)))


def dataset_statistics(root: Union[str, Path], split: str = "test", limit: Optional[int] = None) -> Dict[str, Any]:
    """:func:`file_statistics` over the first ``limit`` files (all: None) of a split of a set in N-MNIST's layout."""
    return dict(split=split, **file_statistics(split_files(root, split, limit)))


def plot_sample(path: Union[str, Path], out: Union[str, Path], time_steps: int = 8,
                duration_us: int = SaccadeParams().duration_us, title: Optional[str] = None) -> Path:
    """A PNG of one N-MNIST-format file binned into ``time_steps`` equal time bins: ON events red, OFF blue."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    events = read_nmnist_file(path)
    edges = np.linspace(0, duration_us, time_steps + 1)
    steps = np.clip(np.searchsorted(edges, events["t"], side="right") - 1, 0, time_steps - 1)
    frames = np.zeros((time_steps, 2, *SENSOR_SIZE[::-1]))
    np.add.at(frames, (steps, events["p"], events["y"], events["x"]), 1)
    scale = max(frames.max(), 1)
    fig, axes = plt.subplots(1, time_steps, figsize=(1.6 * time_steps, 2.0))
    for t, ax in enumerate(np.atleast_1d(axes)):
        rgb = np.ones((*SENSOR_SIZE[::-1], 3))
        on, off = frames[t, 1] / scale, frames[t, 0] / scale
        rgb[..., 0] -= off  # OFF: blue (remove red and green)
        rgb[..., 1] -= np.clip(on + off, 0, 1)
        rgb[..., 2] -= on  # ON: red (remove green and blue)
        ax.imshow(np.clip(rgb, 0, 1), interpolation="nearest")
        ax.set_title(f"{edges[t] / 1000:.0f}-{edges[t + 1] / 1000:.0f} ms", fontsize=8)
        ax.axis("off")
    fig.suptitle(title or f"{Path(path).parent.name}/{Path(path).name}: ON red, OFF blue", fontsize=9)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


# -- command line (tools/make_nfmnist.py) -----------------------------------------------------------------------------
def _non_negative(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """``tools/make_nfmnist.py``: make the set (cached, resumable), then optionally measure it and draw a sample."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="make_nfmnist.py", description=f"Make {DATASET_NAME} from Fashion-MNIST, in N-MNIST's format and layout "
                                            f"(docs/events.md). A re-run continues a killed run; a finished set is "
                                            f"left as it is.")
    parser.add_argument("--out", type=Path, default=Path("data/nfmnist"), help="output folder (default data/nfmnist)")
    parser.add_argument("--data-root", help="folder of Fashion-MNIST's idx files (default: $DATA_ROOT/fashion-mnist, "
                                            "then /usr/share/datasets/fashion-mnist)")
    parser.add_argument("--seed", type=_non_negative, default=0, help="seed of the simulation (default 0)")
    parser.add_argument("--workers", type=_non_negative, default=2, help="processes (default 2)")
    parser.add_argument("--limit", type=_non_negative, help="only the first LIMIT images of each split")
    parser.add_argument("--stats", type=_non_negative, metavar="N",
                        help="print statistics of the test split over its first N files (0: all)")
    parser.add_argument("--plot", type=Path, metavar="PNG", help="draw test sample 00001 binned into 8 time steps")
    args = parser.parse_args(argv)
    if args.workers == 0 or args.limit == 0:
        raise ValueError("--workers and --limit must be >= 1")
    began = time.time()
    info = make_dataset(args.out, args.data_root, args.seed, args.workers, args.limit)
    made = ("complete already, nothing made" if info.get("cached") else
            f"made {info['generation']['images_made_in_this_run']} images in {time.time() - began:.0f} s with "
            f"{args.workers} workers")
    print(f"{DATASET_NAME}: {info['samples']} in {args.out} ({made})")
    if args.stats is not None:
        stats = dataset_statistics(args.out, "test", args.stats or None)
        per = " / ".join(f"{v:.0f}" for v in stats["events_per_saccade"])
        print(f"test split, {stats['samples']} samples: events {stats['events_mean']:.0f} +- "
              f"{stats['events_std']:.0f}, "
              f"ON fraction {stats['on_fraction']:.3f}, events per saccade {per}, "
              f"duration {stats['duration_ms']:.1f} ms")
        info = dict(info, statistics=stats)
    if args.plot is not None:
        sample = next(iter(sorted((Path(args.out) / "NMNIST" / "Test").glob("*/00001.bin"))), None)
        if sample is None:
            raise FileNotFoundError(f"{args.out}/NMNIST/Test holds no 00001.bin to draw")
        label = info["classes"][int(sample.parent.name)]
        plot_sample(sample, args.plot, title=f"{DATASET_NAME}, test 00001 ({label}): 8 time bins, ON red, OFF blue")
        print(f"wrote {args.plot}")
    return info
