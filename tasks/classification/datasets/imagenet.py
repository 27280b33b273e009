"""ImageNet-1k (or any image classification set) in the standard folder layout.

Layout::

    <data_root>/train/<wnid>/*.JPEG
    <data_root>/val/<wnid>/*.JPEG

Classes are the sorted class folders of ``<data_root>/train`` (of the split itself when there is no train folder),
so every split numbers the classes alike even when one lacks some; ``metainfo=dict(classes=[...])`` fixes another
list. Hidden folders (``.ipynb_checkpoints``, ...) are no classes. Images are decoded by the pipeline
(``LoadImageFromFile``); a file that fails there raises an error naming it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, List, Sequence, Tuple, Union

import cv2

from tasks.common.cli import first_line
from tasks.registry import DATASETS

from .base import ClsBaseDataset, check_dir, check_root

__all__ = ["ImageFolder"]

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png", ".bmp", ".webp")


def _extensions(extensions: Union[str, Sequence[str]]) -> Tuple[str, ...]:
    """``'.JPEG'``, ``['jpg', '.png']`` ... -> lower-case suffixes with their dot."""
    if isinstance(extensions, str):
        extensions = (extensions,)
    return tuple("." + str(e).lower().lstrip(".") for e in extensions)


def _class_folders(root: Path) -> List[str]:
    """Sorted names of the non-hidden folders in ``root``."""
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


@DATASETS.register_module()
class ImageFolder(ClsBaseDataset):
    """``<data_root>/<split>/<class>/<image>``; one sample per image file with a known extension."""

    def __init__(self, data_root: str, split: str = "train", extensions: Union[str, Sequence[str]] = IMAGE_EXTENSIONS,
                 **kwargs: Any) -> None:
        self.split, self.extensions = split, _extensions(extensions)
        super().__init__(data_root=check_root(data_root, "ImageFolder"), **kwargs)

    def layout(self) -> str:
        return f"<data_root>/{self.split}/<class folder>/<image>{{{', '.join(self.extensions)}}}"

    def _classes(self, folders: List[str]) -> Tuple[str, ...]:
        """The class list: ``metainfo``'s, else the train split's class folders, else ``folders``."""
        given = tuple(self._metainfo.get("classes") or ())
        if given:
            if len(set(given)) != len(given):
                repeated = sorted({c for c in given if given.count(c) > 1})
                raise ValueError(f"ImageFolder: metainfo classes list {repeated[:5]} more than once; give each class "
                                 f"once")
            return given
        train = Path(self.data_root) / "train"
        return tuple(_class_folders(train)) if self.split != "train" and train.is_dir() else tuple(folders)

    def load_data_list(self) -> List[dict]:
        root = check_dir(Path(self.data_root) / self.split, self.layout())
        folders = _class_folders(root)
        if not folders:
            raise FileNotFoundError(f"{root} has no class folders; expected layout: {self.layout()}")
        classes = self._classes(folders)
        self._metainfo["classes"] = classes
        unknown = sorted(set(folders) - set(classes))
        if unknown:
            raise ValueError(f"{root} has class folders {unknown[:5]} that are not in the class list (the train "
                             f"split's class folders or metainfo's classes); remove them or pass "
                             f"metainfo=dict(classes=[...]) with every class")
        index = {name: i for i, name in enumerate(classes)}
        data = [dict(img_path=str(path), gt_label=index[folder])
                for folder in folders for path in sorted((root / folder).iterdir())
                if path.suffix.lower() in self.extensions and path.is_file()]
        if not data:
            raise FileNotFoundError(f"{root} has class folders but no images; expected layout: {self.layout()}")
        return data

    def prepare_data(self, idx: int) -> Any:
        """The pipeline's output for sample ``idx``; a file it cannot read raises an error naming the file."""
        try:
            return super().prepare_data(idx)
        except FileNotFoundError:
            path = self.get_data_info(idx)["img_path"]
            raise FileNotFoundError(f"{path} was removed after the dataset was indexed; restore it or restart "
                                    f"to re-index") from None
        except (AssertionError, OSError, cv2.error) as err:
            path = self.get_data_info(idx)["img_path"]
            reason = "the file is empty" if Path(path).stat().st_size == 0 else first_line(err)
            raise ValueError(f"{path}: cannot load this image ({reason}); replace or delete the file") from None
