# STMixer-8-512 + DSTSP on ImageNet-1k: P_s = 0.3, T = 1 (the time is already "pruned to 1"), paper Table 2.
_base_ = ['./stmixer-8-512_8xb128-300e_in1k.py']
model = dict(backbone='stmixer-8-512-dstsp')
