"""fieldkit core: the domain model, the plugin host and the registries.

The core knows nothing of Flask, HTTP or sync; the faces and ``fieldkit.sync`` stand on it.
"""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("fieldkit")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
