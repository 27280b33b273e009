"""ImageNet-1k (or any image classification set) in the standard folder layout.

Layout::

    <data_root>/train/<wnid>/*.JPEG
    <data_root>/val/<wnid>/*.JPEG

Classes are the sorted class folders of the split (``metainfo=dict(classes=[...])`` fixes another list, e.g.
when a split lacks some classes). Images are decoded by the pipeline (``LoadImageFromFile``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional, Sequence

from mmengine.registry import DATASETS

from .base import ClsBaseDataset, check_dir

__all__ = ["ImageFolder"]

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png", ".bmp", ".webp")


@DATASETS.register_module()
class ImageFolder(ClsBaseDataset):
    """``<data_root>/<split>/<class>/<image>``; one sample per image file with a known extension."""

    def __init__(self, data_root: str, split: str = "train", extensions: Sequence[str] = IMAGE_EXTENSIONS,
                 **kwargs: Any) -> None:
        self.split, self.extensions = split, tuple(e.lower() for e in extensions)
        super().__init__(data_root=data_root, **kwargs)

    def layout(self) -> str:
        return f"<data_root>/{self.split}/<class folder>/<image>{{{', '.join(self.extensions)}}}"

    def load_data_list(self) -> List[dict]:
        root = check_dir(Path(self.data_root) / self.split, self.layout())
        folders = sorted(p.name for p in root.iterdir() if p.is_dir())
        classes: Optional[Sequence[str]] = self._metainfo.get("classes") or None
        if not classes:
            classes = tuple(folders)
            self._metainfo["classes"] = classes
        if not folders:
            raise FileNotFoundError(f"{root} has no class folders; expected layout: {self.layout()}")
        unknown = sorted(set(folders) - set(classes))
        if unknown:
            raise ValueError(f"{root} has class folders {unknown[:5]} that are not in the class list")
        index = {name: i for i, name in enumerate(classes)}
        data = [dict(img_path=str(path), gt_label=index[folder])
                for folder in folders for path in sorted((root / folder).iterdir())
                if path.suffix.lower() in self.extensions and path.is_file()]
        if not data:
            raise FileNotFoundError(f"{root} has class folders but no images; expected layout: {self.layout()}")
        return data
