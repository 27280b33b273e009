#!/usr/bin/env python
"""Publish a checkpoint folder (model.safetensors + config.json + README.md) on the Hugging Face Hub.

    python tools/hub.py publish zoo/weights/smixer-fmnist-dstsp my-org/smixer-fmnist-dstsp --dry-run
    python tools/hub.py publish zoo/weights/smixer-fmnist-dstsp my-org/smixer-fmnist-dstsp [--private]

The command line and its logic: ``tasks.commands.hub`` (the checks and the upload: ``zoo/publish.py``).
"""
from tasks.commands.hub import main
from tasks.common.cli import run_command

if __name__ == "__main__":
    run_command(main)
