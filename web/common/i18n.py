"""Translations for the web faces: flat JSON files per language, a ``t()`` helper.

Vietnamese is the default; English is chosen with ``?lang=en`` (remembered in a ``lang``
cookie). Every string a user sees goes through ``t(key, **params)``; params are filled with
``str.format`` after the lookup, so a translation may reorder them. A missing key is a bug:
``t`` returns the key itself (visible in the page) and the tests check that both files hold
the same keys and that every key the templates use exists.
"""

import json
import re
from pathlib import Path

from flask import g, request

LANG_COOKIE = "lang"
LANG_COOKIE_AGE = 365 * 24 * 3600


class Translations:
    """The strings of every language found in a directory of ``<lang>.json`` files."""

    def __init__(self, directory, default="vi"):
        self.directory = Path(directory)
        self.default = default
        self.catalogs = {path.stem: json.loads(path.read_text(encoding="utf-8"))
                         for path in sorted(self.directory.glob("*.json"))}
        if default not in self.catalogs:
            raise FileNotFoundError(f"No {default}.json in {self.directory}")

    @property
    def languages(self):
        return sorted(self.catalogs)

    def get(self, lang, key, **params):
        """The string for ``key`` in ``lang`` (falling back to the default language)."""
        text = self.catalogs.get(lang, {}).get(key)
        if text is None:
            text = self.catalogs[self.default].get(key, key)
        return text.format(**params) if params else text

    def pick(self, value, lang):
        """A checklist text object ``{"vi": ..., "en": ...}`` in ``lang``, else Vietnamese."""
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        return value.get(lang) or value.get(self.default) or ""


def choose_language(translations):
    """The request's language: ``?lang=`` first, then the cookie, then the default."""
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in translations.catalogs:
            return candidate
    return translations.default


def init_i18n(app, directory, default="vi"):
    """Attach translations to an app: ``g.lang``, ``t()``/``tx()`` in templates, the cookie."""
    translations = Translations(directory, default)
    app.extensions["fieldkit.i18n"] = translations

    @app.before_request
    def _set_language():
        g.lang = choose_language(translations)

    @app.after_request
    def _remember_language(response):
        wanted = request.args.get("lang")
        if wanted in translations.catalogs and wanted != request.cookies.get(LANG_COOKIE):
            response.set_cookie(LANG_COOKIE, wanted, max_age=LANG_COOKIE_AGE,
                                samesite="Strict", httponly=True)
        return response

    @app.context_processor
    def _helpers():
        return {"t": t, "tx": tx, "lang": current_language(),
                "languages": translations.languages}

    return translations


def current_language():
    return getattr(g, "lang", None) or "vi"


def _translations():
    from flask import current_app
    return current_app.extensions["fieldkit.i18n"]


def t(key, **params):
    """Translate ``key`` into the request's language."""
    return _translations().get(current_language(), key, **params)


def tx(value):
    """A checklist's ``{"vi", "en"}`` text in the request's language."""
    return _translations().pick(value, current_language())


# --- core error messages -----------------------------------------------------------------
# The core speaks English sentences that name the item ("KT01: expected a whole number, not
# 'x'."). Known shapes are re-said in the user's language; anything else is shown as is.

_ERROR_SHAPES = [
    (r"answer yes, no, partial or na, not '(?P<raw>.*)'\.", "err.yes_no"),
    (r"expected a whole number, not '?(?P<raw>.*?)'?\.", "err.whole_number"),
    (r"expected a number, not '?(?P<raw>.*?)'?\.", "err.number"),
    (r"expected a finite number\.", "err.finite"),
    (r"a count cannot be negative\.", "err.negative"),
    (r"a percent is between 0 and 100, not (?P<raw>.*)\.", "err.percent"),
    (r"must be at least (?P<low>\S+), not (?P<raw>\S+)\.", "err.min"),
    (r"must be at most (?P<high>\S+), not (?P<raw>\S+)\.", "err.max"),
    (r"a date is written YYYY-MM-DD, not '(?P<raw>.*)'\.", "err.date"),
    (r"the text is empty\.", "err.text_empty"),
    (r"the text is longer than (?P<max>\d+) characters\.", "err.text_long"),
    (r"choose one of (?P<choices>.*), not '(?P<raw>.*)'\.", "err.choice"),
    (r"attach at least one photo\.", "err.photo"),
    (r"this item asks no '(?P<name>.*)' \(it asks: (?P<allowed>.*)\)\.", "err.extra"),
]
_ERROR_RES = [(re.compile(rf"^(?P<code>[A-Za-z][\w.-]*): {shape}$"), key)
              for shape, key in _ERROR_SHAPES]


def localize_error(message):
    """An answer error in the user's language when its shape is known (keeps the item code)."""
    for pattern, key in _ERROR_RES:
        match = pattern.match(message)
        if match:
            params = match.groupdict()
            return t("err.item", code=params.pop("code"), detail=t(key, **params))
    return message
