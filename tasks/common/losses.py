"""Loss terms a model's pruners add to the task loss (e.g. STATA's attention-alignment losses)."""
from __future__ import annotations

from typing import Dict

from torch import Tensor, nn

from zoo.encoder import pruner_aux_loss

__all__ = ["with_pruner_losses"]


def with_pruner_losses(model: nn.Module, losses: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """``losses`` plus ``loss_pruner``, the sum of the auxiliary losses of every pruned encoder in ``model`` from
    its last forward pass, when any pruner has one (mmengine adds every ``loss*`` entry to the total)."""
    aux = pruner_aux_loss(model)
    return losses if aux is None else dict(losses, loss_pruner=aux)
