# SMixer + DSTSP on N-Fashion-MNIST (simulated saccades; docs/events.md), zoo variant smixer-nfmnist-dstsp: of the
# T = 8 event frames, the 4 with the highest spike intensity are kept inside the stem (after its first layer, where
# the full-resolution stem costs most); no token is pruned (P_s 0.3 cost 4 points in the equal-time study).
_base_ = ['./smixer-t8_1xb64-2e_nfmnist.py']
model = dict(backbone='smixer-nfmnist-dstsp')
