__version__ = "0.8.0"

# Written by hand: nbdev keeps only the `__version__` line above up to date. torch deprecates `torch.jit.script`,
# which fastai calls while it is imported; that warning is for fastai's maintainers, not for users of this package.
import warnings as _warnings
_warnings.filterwarnings('ignore', message='`torch.jit.script` is deprecated', category=FutureWarning)

# Each notebook's module is imported when first used (`imagenette_sota.train`, `from imagenette_sota import fastpath`):
# importing the package imports neither fastai nor torch, so that the command line answers `--help` at once.
import importlib as _importlib, importlib.util as _util

def __getattr__(name):
    if _util.find_spec(f'{__name__}.{name}'): return _importlib.import_module(f'{__name__}.{name}')
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
