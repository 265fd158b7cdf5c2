__version__ = "0.6.0"

# Written by hand: nbdev keeps only the `__version__` line above up to date. torch deprecates `torch.jit.script`,
# which fastai calls while it is imported; that warning is for fastai's maintainers, not for users of this package.
import warnings as _warnings
_warnings.filterwarnings('ignore', message='`torch.jit.script` is deprecated', category=FutureWarning)

# Every notebook's module, in reading order, imported when first used (`imagenette_sota.train`, `from imagenette_sota
# import fastpath`): importing the package imports neither fastai nor torch, so that the command line answers `--help`
# at once. `train`, last, imports the modules whose pieces it composes.
import importlib as _importlib
_MODULES = ('data', 'checks', 'baseline', 'results', 'normalization', 'progressive', 'tta', 'mixup', 'label_smoothing',
            'fastpath', 'resume', 'inference', 'distributed', 'train', 'cli')

def __getattr__(name):
    if name in _MODULES: return _importlib.import_module(f'{__name__}.{name}')
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
