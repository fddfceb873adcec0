"""Stores: one interface (``Store``), a durable TinyDB-based field store, an SQL store for HQ."""

from .base import Store, open_store  # noqa: F401
