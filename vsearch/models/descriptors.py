"""Appearance descriptors for "more like this": one `Embedder` protocol, three backends.

- `ColourDescriptor` ("colour-hist-v1"): weight-free, every class. Always available.
- `ReidDescriptor` ("reid-0288"): Intel person-reidentification-retail-0288 (clothing appearance), persons only,
  when its model file is given (built in, or installed).
- `OpenClipEmbedder` ("openclip:<model>"): open_clip image/text model from a local weights file; torch is
  imported only when this is constructed.

Every embedder returns float32 rows, L2-normalised, compared by cosine. No face or other biometric feature is
computed anywhere: the colour descriptor sees only colour distributions and box shape, the re-id model is a
clothing-appearance model, CLIP sees the whole crop.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import cv2
import numpy as np

from vsearch.errors import ModelError
from vsearch.models.runtime import ModelRunner, file_sha256

if TYPE_CHECKING:
    from vsearch.models.resolve import ModelSet

REID_NAME = "person-reidentification-retail-0288"


class Embedder(Protocol):
    name: str  # descriptor id stored with every vector
    weights_sha256: str  # "" for weight-free descriptors
    dim: int
    classes: frozenset[str] | None  # tube classes it applies to; None = all

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        """BGR uint8 crops -> (N, dim) float32, rows L2-normalised."""
        ...


@dataclass(frozen=True)
class EmbedConfig:
    """Embedding settings (the lead nests this in vsearch.toml as [embed])."""

    clip_model: str | None = None  # e.g. "ViT-B-32"
    clip_weights: Path | str | None = None  # a local file, or an open_clip pretrained tag found in its cache
    clip_model_config: Path | None = None  # optional JSON model config (custom architectures)
    reid_model: Path | None = None  # hash-verified .xml of reid-0288 (vsearch.models.resolve), or None
    crops_per_tube: int = 4  # K
    scene_interval_s: float = 10.0  # one scene sample per camera every N seconds
    threads: int = 2  # CPU threads for model inference
    batch_size: int = 16

    def __post_init__(self) -> None:
        if self.crops_per_tube < 1:
            raise ModelError(f"crops_per_tube must be >= 1, got {self.crops_per_tube}")
        if self.scene_interval_s <= 0:
            raise ModelError(f"scene_interval_s must be > 0, got {self.scene_interval_s}")
        if self.threads < 1 or self.batch_size < 1:
            raise ModelError(f"threads and batch_size must be >= 1, got {self.threads}, {self.batch_size}")


def l2_normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float32)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, n, out=np.zeros_like(v), where=n > 0)


def pool(vectors: np.ndarray) -> np.ndarray:
    """Mean of L2-normalised rows, L2-normalised: one vector for a tube's K crops."""
    return l2_normalise(l2_normalise(vectors).mean(axis=0))


# ---------------------------------------------------------------------------------------------------- colour

class ColourDescriptor:
    """"colour-hist-v1": soft-binned CIELAB histograms of the upper and lower halves of a crop, plus box shape.

    Crop -> 128x64 (INTER_AREA) -> CIELAB (OpenCV 8-bit scaling). Each half gets a 3-D histogram with
    L x a x b = 4 x 8 x 8 bins, trilinear soft-binning (a colour near a bin edge votes for both neighbours, so a
    small illumination change moves mass smoothly). Pixels are weighted by the foreground mask when one is
    given, else by an Epanechnikov kernel centred on the box (borders, which are mostly background, count
    little). Histograms are normalised to sum 1 and square-rooted (cosine then equals the Bhattacharyya
    coefficient). Shape: log(h/w) soft-binned over 8 centres in [-1, 2.5]. Vector = [upper 256 | lower 256 |
    0.5 * shape 8], L2-normalised; dim 520 (a multiple of 8, for PQ sub-vectors). Lightness has only 4 bins, so the same colour under different
    cameras' exposure still matches; hue/chroma (a, b) carry the identity.
    """

    name = "colour-hist-v1"
    weights_sha256 = ""
    classes = None
    BINS = (4, 8, 8)
    SIZE_HW = (128, 64)
    SHAPE_CENTRES = np.linspace(-1.0, 2.5, 8)
    SHAPE_WEIGHT = 0.5
    dim = 2 * int(np.prod(BINS)) + len(SHAPE_CENTRES)

    def __init__(self) -> None:
        h, w = self.SIZE_HW
        ww = (np.arange(w) + 0.5) / (w / 2) - 1.0
        # per-half kernel: each half is weighted around its own centre row
        hy = (np.arange(h // 2) + 0.5) / (h / 4) - 1.0
        kern = np.clip(1.0 - hy[:, None] ** 2, 0, None) * np.clip(1.0 - ww[None, :] ** 2, 0, None)
        self._kernel = np.vstack([kern, kern]).astype(np.float32) + 0.05

    def embed(self, crops: list[np.ndarray], masks: list[np.ndarray | None] | None = None) -> np.ndarray:
        if masks is not None and len(masks) != len(crops):
            raise ValueError(f"{len(masks)} masks for {len(crops)} crops")
        out = np.zeros((len(crops), self.dim), np.float32)
        for i, crop in enumerate(crops):
            out[i] = self._one(crop, None if masks is None else masks[i])
        return out

    def _one(self, crop: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        if crop.ndim != 3 or crop.shape[2] != 3 or crop.shape[0] < 2 or crop.shape[1] < 1:
            raise ValueError(f"crop must be BGR (H>=2, W>=1, 3), got shape {crop.shape}")
        h, w = self.SIZE_HW
        img = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA)
        lab = cv2.cvtColor(img, cv2.COLOR_BGR2LAB).astype(np.float32)
        weight = self._kernel
        if mask is not None:
            m = cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
            if m.sum() >= 1.0:  # an empty mask carries no information: fall back to the kernel
                weight = m + 0.01
        parts = [np.sqrt(self._hist(lab[: h // 2], weight[: h // 2])),
                 np.sqrt(self._hist(lab[h // 2:], weight[h // 2:]))]
        log_ar = np.log(crop.shape[0] / crop.shape[1])
        shape = np.exp(-0.5 * ((log_ar - self.SHAPE_CENTRES) / 0.4) ** 2)
        parts.append(self.SHAPE_WEIGHT * shape / np.linalg.norm(shape))
        return l2_normalise(np.concatenate(parts))

    def _hist(self, lab: np.ndarray, weight: np.ndarray) -> np.ndarray:
        bl, ba, bb = self.BINS
        bins = np.asarray(self.BINS, np.float32)
        pos = lab.reshape(-1, 3) * (bins / 256.0) - 0.5  # continuous bin coordinate; centres at integers
        lo = np.floor(pos)
        frac = pos - lo
        lo = lo.astype(np.int64)
        # trilinear soft-binning: per channel the two neighbouring bins and their weights, shape (2, 3, P)
        idx = np.stack([np.clip(lo, 0, bins.astype(np.int64) - 1), np.clip(lo + 1, 0, bins.astype(np.int64) - 1)])
        idx = idx.transpose(0, 2, 1)
        w = np.stack([1.0 - frac, frac]).transpose(0, 2, 1)
        flat = (idx[:, None, None, 0] * (ba * bb) + idx[None, :, None, 1] * bb + idx[None, None, :, 2]).ravel()
        wts = (w[:, None, None, 0] * w[None, :, None, 1] * w[None, None, :, 2] * weight.reshape(-1)).ravel()
        hist = np.bincount(flat, wts, minlength=bl * ba * bb).astype(np.float32)
        s = hist.sum()
        return hist / s if s > 0 else hist


# ---------------------------------------------------------------------------------------------------- re-id

class ReidDescriptor:
    """"reid-0288": person-reidentification-retail-0288 (OpenVINO IR, 1x3x256x128 BGR 0-255 -> 256-d).

    Clothing appearance of a person crop; persons only. `weights_sha256` is the SHA-256 of the `.bin` file (the
    value listed in the models' SHA256SUMS).
    """

    name = "reid-0288"
    dim = 256
    classes = frozenset({"person"})
    INPUT_HW = (256, 128)

    def __init__(self, xml_path: Path, *, threads: int = 2, batch_size: int = 16) -> None:
        xml_path = Path(xml_path)
        if not xml_path.is_file() or not xml_path.with_suffix(".bin").is_file():
            raise ModelError(f"re-id model not found: {xml_path} (+ .bin); install it into the models directory")
        self._runner = ModelRunner(xml_path, "openvino", threads, input_shape=(-1, 3, *self.INPUT_HW))
        self.weights_sha256 = self._runner.weights_sha256
        self._batch = batch_size

    @classmethod
    def from_models(cls, models: ModelSet | None, **kwargs: int) -> ReidDescriptor | None:
        """The re-id model of a resolved model set, or None when it has none."""
        xml = None if models is None else models.path(cls.name)
        return None if xml is None else cls(xml, **kwargs)

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        h, w = self.INPUT_HW
        out = np.zeros((len(crops), self.dim), np.float32)
        for s in range(0, len(crops), self._batch):
            part = crops[s: s + self._batch]
            x = np.stack([cv2.resize(c, (w, h), interpolation=cv2.INTER_LINEAR) for c in part])
            x = x.transpose(0, 3, 1, 2).astype(np.float32)
            outputs = self._runner.run(x)
            out[s: s + len(part)] = next(iter(outputs.values())).reshape(len(part), -1)
        return l2_normalise(out)


# ---------------------------------------------------------------------------------------------------- open_clip

class OpenClipEmbedder:
    """"openclip:<model>": open_clip image tower (and text tower for `embed_text`), CPU, batched, no_grad.

    `weights` is a local checkpoint file (.pt/.bin/.safetensors state dict) or an open_clip pretrained tag that
    is already in the local Hugging Face cache (nothing is downloaded). `model_config` registers a JSON model
    config first (custom/tiny architectures); the model is then created and loaded by
    `open_clip.create_model_and_transforms(model, pretrained=<file>)` exactly as for stock models.
    """

    classes = None

    def __init__(self, model: str, weights: Path | str, *, model_config: Path | None = None, threads: int = 2,
                 batch_size: int = 16) -> None:
        import open_clip
        import torch

        if model_config is not None:
            if not Path(model_config).is_file():
                raise ModelError(f"open_clip model config not found: {model_config}")
            open_clip.add_model_config(str(model_config))
        if model not in open_clip.list_models():
            raise ModelError(f"--clip-model {model!r} is not an open_clip architecture; see open_clip.list_models()")
        path = resolve_clip_weights(model, weights)
        self.name = f"openclip:{model}"
        self.weights_sha256 = file_sha256(path)
        torch.set_num_threads(int(threads))
        try:
            clip, _, preprocess = open_clip.create_model_and_transforms(model, pretrained=str(path), device="cpu")
        except RuntimeError as e:  # state-dict mismatch: wrong file for this architecture
            raise ModelError(f"CLIP weights {path} do not fit model {model!r}: {str(e).splitlines()[0]}") from e
        clip.eval()
        self._torch = torch
        self._model = clip
        self._preprocess = preprocess
        self._tokenizer = open_clip.get_tokenizer(model)
        self._batch = batch_size
        with torch.no_grad():
            self.dim = int(clip.encode_text(self._tokenizer(["x"])).shape[-1])

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        from PIL import Image

        torch = self._torch
        out = np.zeros((len(crops), self.dim), np.float32)
        with torch.no_grad():
            for s in range(0, len(crops), self._batch):
                part = crops[s: s + self._batch]
                x = torch.stack([self._preprocess(Image.fromarray(np.ascontiguousarray(c[:, :, ::-1])))
                                 for c in part])
                out[s: s + len(part)] = self._model.encode_image(x).float().numpy()
        return l2_normalise(out)

    def embed_text(self, text: str) -> np.ndarray:
        """A free-text query in the same space as `embed` (for CLIP text search)."""
        with self._torch.no_grad():
            v = self._model.encode_text(self._tokenizer([text])).float().numpy()[0]
        return l2_normalise(v)


def resolve_clip_weights(model: str, weights: Path | str) -> Path:
    """A local weights file: the path itself, or an open_clip pretrained tag found in the local HF cache."""
    p = Path(weights).expanduser()
    if p.is_file():
        return p
    import open_clip

    cfg = open_clip.get_pretrained_cfg(model, str(weights))
    hub = (cfg or {}).get("hf_hub", "")
    if hub:
        from huggingface_hub import try_to_load_from_cache

        repo = hub.rstrip("/")
        for fname in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"):
            hit = try_to_load_from_cache(repo, fname)
            if isinstance(hit, str):
                return Path(hit)
        raise ModelError(f"--clip-weights {weights!r} for {model!r} is not in the local open_clip/Hugging Face "
                         f"cache ({repo}); give a local weights file instead (nothing is downloaded)")
    raise ModelError(f"--clip-weights {str(weights)!r}: no such file, and not an open_clip pretrained tag of "
                     f"{model!r}; give the path of a local weights file")


# ---------------------------------------------------------------------------------------------------- factory

def make_embedders(config: EmbedConfig) -> list[Embedder]:
    """Colour always; re-id when its model is given; CLIP when a model and weights are configured."""
    embedders: list[Embedder] = [ColourDescriptor()]
    reid = (None if config.reid_model is None else
            ReidDescriptor(config.reid_model, threads=config.threads, batch_size=config.batch_size))
    if reid is not None:
        embedders.append(reid)
    if (config.clip_model is None) != (config.clip_weights is None):
        raise ModelError("CLIP needs both --clip-model and --clip-weights (or [embed] clip_model and clip_weights)")
    if config.clip_model is not None and config.clip_weights is not None:
        embedders.append(OpenClipEmbedder(config.clip_model, config.clip_weights,
                                          model_config=config.clip_model_config, threads=config.threads,
                                          batch_size=config.batch_size))
    return embedders
