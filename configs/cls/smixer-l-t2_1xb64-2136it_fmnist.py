# The larger Fashion-MNIST SMixer (zoo variant smixer-fmnist-l: 4 blocks x 128 channels, T = 2, I-LIF), trained
# longer than the main job's models for the weights that ship in zoo/weights/smixer-fmnist-l (docs/hub.md):
#   python tools/fashion_mnist.py --variants dense-l --out-dir work_dirs/fmnist_l --clock cpu --threads 1 \
#       --num-workers 0
# 60 minutes of training (CPU time of one thread) with the schedule fitted to it (--epochs auto); the main job's
# recipe otherwise.
_base_ = ['./smixer-t2_1xb64-2136it_fmnist.py']
model = dict(backbone='smixer-fmnist-l', backbone_args=dict(embed_dim=128, depth=4))
train_cfg = dict(max_epochs=20, time_budget_s=3600)
