# The project's detector under its short name (`python tools/train.py configs/det/spikeyolo_smixer.py`): the
# SpikeYOLO-hybrid of the paper (§4.3, E.3), SpikeYOLO-m whose stages 3 and 4 are Spiking-token Mixer stages, on
# COCO 2017 at 640 px, 4 GPUs x 16 images, 300 epochs. The scheme-named file holds the settings; with DSTSP:
# spikeyolo-m-smixer-dstsp_4xb16-300e_coco.py.
_base_ = './spikeyolo-m-smixer_4xb16-300e_coco.py'
