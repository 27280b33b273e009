# SMixer on CIFAR-100, T = 1 (paper Table 3).
_base_ = ['./smixer-t4_2xb64-300e_cifar100.py']
model = dict(backbone_args=dict(time_steps=1))
