"""The web faces of fieldkit: ``fieldkit.web.field`` (the field station's UI for laptops and
tablets) and shared helpers in ``fieldkit.web.common`` (translations, security)."""
