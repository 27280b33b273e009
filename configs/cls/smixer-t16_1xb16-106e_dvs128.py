# SMixer (2 blocks x 256, I-LIF) on dvs128, T = 16 event frames at 48 x 48 (paper Table 3).
_base_ = ['./_base_/models/smixer_dvs.py', './_base_/datasets/dvs128_gesture.py',
          './_base_/schedules/adamw_dvs_106e.py', './_base_/default_runtime.py']
model = dict(backbone='smixer-dvs128', backbone_args=dict(time_steps=16))
train_dataloader = dict(dataset=dict(time_steps=16))
val_dataloader = dict(dataset=dict(time_steps=16))
test_dataloader = val_dataloader
