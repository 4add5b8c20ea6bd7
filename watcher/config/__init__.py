"""Configuration: YAML with line numbers, validated into small frozen models."""

from watcher.config.load import Config, FeedSpec, load_config
from watcher.config.models import Settings

__all__ = ["Config", "FeedSpec", "Settings", "load_config"]
