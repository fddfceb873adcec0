"""Helpers shared by the web faces (field station now, HQ later): translations, security."""
