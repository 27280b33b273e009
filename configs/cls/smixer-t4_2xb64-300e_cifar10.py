# SMixer (4 blocks x 384, I-LIF) on CIFAR-10, T = 4 (paper Table 3).
_base_ = ['./_base_/models/smixer_cifar.py', './_base_/datasets/cifar10.py',
          './_base_/schedules/adamw_cifar_300e.py', './_base_/default_runtime.py']
model = dict(backbone='smixer-cifar10', backbone_args=dict(time_steps=4))
