"""Publish a checkpoint folder (model.safetensors + config.json + README.md) on the Hugging Face Hub.

    python tools/hub.py publish zoo/weights/smixer-fmnist-dstsp my-org/smixer-fmnist-dstsp --dry-run
    python tools/hub.py publish zoo/weights/smixer-fmnist-dstsp my-org/smixer-fmnist-dstsp [--private]

The folder is checked first (files present, safetensors readable, every tensor's shape matches the model its
config.json builds, the card's front matter complete and its metrics equal to config.json's); ``--dry-run`` stops
there and prints what would be uploaded. Forecaster folders (tools/export.py with a forecasting config) are checked
and published the same way. Uploading needs a Hub token (``hf auth login`` or ``HF_TOKEN``). The checks and
the upload are ``zoo/publish.py``; this module is ``tools/hub.py``'s command line (:func:`main`).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional, Sequence

from huggingface_hub import constants

from tasks.timeseries.export import forecaster_model, is_forecaster
from zoo.hub import load_folder
from zoo.publish import FolderCheck, publish_folder


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    publish = commands.add_parser("publish", help="check a folder and upload it to a Hub model repository")
    publish.add_argument("folder", type=Path)
    publish.add_argument("repo_id", help="the Hub repository, 'org/name'")
    publish.add_argument("--dry-run", action="store_true", help="only check the folder; print what would be uploaded")
    publish.add_argument("--private", action="store_true", help="create the repository as private")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> FolderCheck:
    args = parse_args(argv)
    load = forecaster_model if is_forecaster(args.folder) else load_folder
    checked = publish_folder(args.folder, args.repo_id, private=args.private, dry_run=args.dry_run, load=load)
    print(f"checked {checked.folder}: {checked.architecture}, {checked.tensors} tensors match config.json, "
          f"card metrics = config.json metrics {checked.metrics}")
    verb = "would upload" if args.dry_run else "uploaded"
    visibility = "private" if args.private else "public"
    print(f"{verb} to {constants.ENDPOINT}/{args.repo_id} (a {visibility} repository if it is created):")
    for name, size in checked.files.items():
        print(f"  {name}  {size:,} bytes")
    return checked

