"""HavenCore backend: local models and stores behind Wyoming, OpenAI-compatible HTTP and MCP."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("havencore-backend")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
