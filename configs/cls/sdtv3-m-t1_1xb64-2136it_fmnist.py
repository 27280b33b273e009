# The CPU-sized sdtv3 of docs/families.md on the real Fashion-MNIST (28 x 28 x 1, 49 tokens at the mixer stages), with
# the main job's recipe (smixer-t2_1xb64-2136it_fmnist.py): the equal-time comparison of the original, its "-> M"
# version trained from scratch and "-> M + DSTSP" in docs/families.md. The variant's own architecture arguments are used
# (_delete_).
_base_ = ['./smixer-t2_1xb64-2136it_fmnist.py']
model = dict(backbone='sdtv3-fmnist-m', backbone_args=dict(_delete_=True, num_classes=10))
