__version__ = "0.5.0"

# Written by hand: nbdev keeps only the `__version__` line above up to date. torch deprecates `torch.jit.script`,
# which fastai calls while it is imported; that warning is for fastai's maintainers, not for users of this package.
import warnings as _warnings
_warnings.filterwarnings('ignore', message='`torch.jit.script` is deprecated', category=FutureWarning)

# Every notebook's module, in reading order: each adds the pieces it teaches (a loader, a callback, checkpointing,
# several processes) to `train.Pieces` when it is imported, so that `train` runs every recipe after `import imagenette_sota`.
from . import data, checks, train, results, normalization, progressive, tta, mixup, label_smoothing, fastpath, resume, inference, distributed
